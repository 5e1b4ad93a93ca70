// weave: turns every chapter into its page, Chapters/NN-Name/README.md, from the chapter's own
// main.swift and one real run of it: prose, code (and the library code it names), what each section
// printed and drew, and the chapter's exercises. `--html` also renders the pages as a book in Book/.
//
//   swift run -c release weave --data tinyshakespeare.txt          every chapter, full runs (about 25 minutes on 2 cores)
//   swift run -c release weave --chapters 02 --quick               one chapter, a quick run
//   swift run -c release weave --html --from-pages                 only the book, from the pages as they are
import ArgumentParser
import ChapterSupport
import Foundation
import Training
import Weaving

struct Weave: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weave", abstract: "Weave every chapter's main.swift and a run of it into the chapter's page.")

    @Option(help: "Chapters to weave, by number (for example 02,04); default: all.") var chapters: String?
    @Option(help: "The text the training chapters train on (default: each chapter's default corpus).") var data: String?
    @Flag(help: "Run each chapter with --quick (a test of the weave, not pages to commit).") var quick = false
    @Option(help: "BLAS threads for every chapter (default: all cores).") var threads: Int?
    @Option(help: "Folder holding the chapter executables.") var bin = ".build/release"
    @Option(help: "Where the pages go, a folder per chapter (default: Chapters, beside each main.swift).") var pages: String?
    @Flag(help: "Also render the pages as HTML into --book (installs pandoc when missing).") var html = false
    @Flag(help: "With --html: render the book from the pages as they are, running no chapter.") var fromPages = false
    @Option(help: "Where the HTML book goes.") var book = "Book"
    @Flag(help: "Keep each run's standard output as output.log beside its page (for the tests).") var keepLog = false
    @Option(help: "The package's folder (default: the current folder).") var root: String?
    @Option(help: "Also copy each run's Plots/ folder (loss curves, summary.json, samples) here, as a chapter run would leave it.")
    var keepPlots: String?

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
        if fromPages && !html { throw ValidationError("--from-pages only makes sense with --html") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: self.root ?? FileManager.default.currentDirectoryPath).standardizedFileURL
        let all = try ChapterFolders.list(root: root)
        let selected = try select(all)
        let pagesRoot = URL(fileURLWithPath: pages ?? "Chapters", relativeTo: root).standardizedFileURL
        // Read every chapter first: a bad marker fails before anything runs.
        let sources = try all.map { try ChapterSource.read(folder: $0, root: root) }
        if !fromPages {
            let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
            for (index, source) in sources.enumerated() where selected.contains(source.folder) {
                try weave(source, previous: index > 0 ? sources[index - 1] : nil,
                          next: index + 1 < sources.count ? sources[index + 1] : nil,
                          root: root, pagesRoot: pagesRoot, threads: threadCount)
            }
        }
        if html { try BookWriter(root: root, pagesRoot: pagesRoot, book: URL(fileURLWithPath: book, relativeTo: root))
            .write(sources.filter { selected.contains($0.folder) }) }
    }

    func select(_ all: [String]) throws -> Set<String> {
        guard let chapters else { return Set(all) }
        return Set(try chapters.split(separator: ",").map { number in
            guard let folder = all.first(where: { $0.hasPrefix(number + "-") }) else {
                throw ValidationError("--chapters: there is no chapter \(number) (have \(all.map { String($0.prefix { $0 != "-" }) }.joined(separator: ", ")))")
            }
            return folder
        })
    }

    func weave(_ source: ChapterSource, previous: ChapterSource?, next: ChapterSource?, root: URL, pagesRoot: URL,
               threads: Int) throws {
        print("==> \(source.executable): \(source.title)")
        fflush(stdout)
        let executable = URL(fileURLWithPath: bin, relativeTo: root).appendingPathComponent(source.executable)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw WeaveError("chapter \(source.folder): no executable \(executable.path) (build first: swift build -c release)")
        }
        // Each run gets its own working folder, so its default paths (Plots/..., checkpoints/...) read as a
        // user's run would, and nothing of the user's is overwritten.
        let workFolder = FileManager.default.temporaryDirectory.appendingPathComponent("weave-\(source.executable)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workFolder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workFolder) }
        var arguments = quick ? ["--quick"] : []
        arguments += ["--threads", String(threads)]
        var shown = arguments
        if source.takesData, let data {
            arguments += ["--data", URL(fileURLWithPath: data).standardizedFileURL.path]
            shown += ["--data", URL(fileURLWithPath: data).lastPathComponent]
        }
        let result = try ChapterProcess.run(executable, arguments, in: workFolder)
        guard result.status == 0 else {
            let reason = result.errors.split(separator: "\n").last.map(String.init) ?? "no message"
            throw WeaveError("chapter \(source.folder): the run failed (exit \(result.status)): \(reason)")
        }
        if let keepPlots { try copyPlots(from: workFolder.appendingPathComponent("Plots"), to: URL(fileURLWithPath: keepPlots, relativeTo: root)) }
        let summaryFile = try? FileManager.default.contentsOfDirectory(at: workFolder.appendingPathComponent("Plots"),
                                                                       includingPropertiesForKeys: nil)
            .map { $0.appendingPathComponent("summary.json") }
            .first { FileManager.default.fileExists(atPath: $0.path) }
        let summary = try summaryFile.map { try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: $0)) }
        let lines = result.output.components(separatedBy: "\n").map { $0.replacingOccurrences(of: "\u{0C}", with: "") }.map { line in
            // Figures are named relative to the run's folder; the page needs to find them.
            ChapterRun.figure(in: line).map { "drew " + URL(fileURLWithPath: $0, relativeTo: workFolder).path }
                ?? ChapterRun.linkedFigure(in: line).map { "linked figure " + URL(fileURLWithPath: $0, relativeTo: workFolder).path }
                ?? line
        }
        // The text it trained on, said once on every page: which file, how long, and what the same command
        // gives without --data.
        let text = source.takesData ? data.map { path -> (name: String, characters: Int) in
            let characters = (try? String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8))?.count ?? 0
            return (URL(fileURLWithPath: path).lastPathComponent, characters)
        } : nil
        let run = ChapterRun(command: ([source.executable] + shown).joined(separator: " "), output: lines,
                             wallSeconds: result.seconds, machine: Machine.description, threads: threads, summary: summary,
                             text: text,
                             woven: ISO8601DateFormatter.string(from: Date(), timeZone: .current, formatOptions: [.withFullDate]))
        let exercisesFile = root.appendingPathComponent("Chapters/\(source.folder)/Exercises.md")
        let exercises = try? String(contentsOf: exercisesFile, encoding: .utf8)
        let page: Page
        do { page = try Page.render(source, run: run, previous: previous, next: next, exercises: exercises) }
        catch let error as WeaveError { throw WeaveError("chapter \(source.folder): \(error.description)") }
        try PageFolder(pagesRoot.appendingPathComponent(source.folder)).write(page, log: keepLog ? result.output : nil,
                                                                             strippingPathsOf: workFolder)
        print("    wrote \(pagesRoot.appendingPathComponent(source.folder).path)/README.md with \(page.figures.count) figures "
              + String(format: "(run: %.1f s)", result.seconds))
    }
}

extension Weave {
    /// Each Plots/<chapter>/ folder of a run replaces the one in `target`.
    func copyPlots(from plots: URL, to target: URL) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: target, withIntermediateDirectories: true)
        for name in (try? manager.contentsOfDirectory(atPath: plots.path)) ?? [] {
            let destination = target.appendingPathComponent(name)
            try? manager.removeItem(at: destination)
            try manager.copyItem(at: plots.appendingPathComponent(name), to: destination)
        }
    }
}

do {
    var command = try Weave.parseAsRoot()
    try command.run()
} catch let error as WeaveError {
    FileHandle.standardError.write(Data("weave: error: \(error.description)\n".utf8))
    exit(1)
} catch {
    let status = Weave.exitCode(for: error).rawValue
    if status == 0 { print(Weave.fullMessage(for: error)); exit(0) }   // --help
    let line = Weave.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    FileHandle.standardError.write(Data("weave: error: \(line)\n".utf8))
    exit(status)
}
