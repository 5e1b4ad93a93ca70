// The weave end to end, on a tiny text in --quick mode: every section of every chapter gets its heading,
// every line a chapter printed lands on its page, and every figure it drew is there as an image.
import Foundation
import Testing

@Suite("weave", .serialized)
struct WeaveCommandTests {
    let folder = Executables.temporaryFolder("weave")
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func weave(_ arguments: [String]) throws -> ProcessResult {
        try Executables.run("weave", ["--root", packageRoot.path, "--bin", Executables.buildFolder] + arguments)
    }

    @Test func weavesEveryChapterFromAQuickRun() throws {
        let data = Executables.writePlayText(to: folder)
        let pages = folder.appendingPathComponent("pages")
        let run = try weave(["--quick", "--threads", "1", "--data", data, "--pages", pages.path, "--keep-log"])
        #expect(run.status == 0, "weave failed: \(run.errors)")
        let chapters = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Chapters").path)
            .filter { $0.prefix(2).allSatisfy(\.isNumber) }.sorted()
        #expect(chapters.count == 11)   // 00 ... 08, and the asides 05a and 05b
        for chapter in chapters {
            let source = try String(contentsOf: packageRoot.appendingPathComponent("Chapters/\(chapter)/main.swift"), encoding: .utf8)
            let page = try String(contentsOf: pages.appendingPathComponent("\(chapter)/README.md"), encoding: .utf8)
            let log = try String(contentsOf: pages.appendingPathComponent("\(chapter)/output.log"), encoding: .utf8)
            // Every section of main.swift is a heading of the page.
            let titles = source.components(separatedBy: "\n").filter { $0.hasPrefix("// MARK: - ") }.map { $0.dropFirst(11) }
            #expect(titles.count >= 5, "\(chapter) has \(titles.count) sections")
            for title in titles { #expect(page.contains("\n## \(title)\n"), "\(chapter): no heading for section \(title)") }
            // Every line the run printed is on the page, in order (section titles become headings, progress
            // lines are left out and counted).
            var rest = page[...]
            for logged in log.components(separatedBy: "\n") {
                let line = logged.replacingOccurrences(of: "── end of cell ──", with: "")   // endOfCell()'s mark, left off the page
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || line.hasPrefix("── ") || (line.hasPrefix("step ") && line.hasSuffix(" left")) { continue }
                // Paths point into the run's temporary folder; the page shows them as the run saw them (Plots/...).
                let shown = line.replacingOccurrences(of: #"/\S*/weave-ch[0-9]+[a-z]?-[0-9A-F-]+/"#, with: "", options: .regularExpression)
                guard let found = rest.range(of: shown) else {
                    Issue.record("\(chapter): the line \(line.debugDescription) is not on the page (after the lines before it)")
                    break
                }
                rest = rest[found.upperBound...]
            }
            // Every figure the run drew is an image on the page, and the file exists beside it.
            let drawn = log.components(separatedBy: "\n").filter { $0.hasPrefix("drew ") && $0.hasSuffix(".png") }
            let images = page.components(separatedBy: "\n").filter { $0.hasPrefix("![") }
            #expect(!drawn.isEmpty, "\(chapter) drew nothing")
            #expect(images.count == drawn.count, "\(chapter): \(drawn.count) figures drawn, \(images.count) shown")
            for image in images {
                let name = String(image.split(separator: "(").last!.dropLast())
                #expect(FileManager.default.fileExists(atPath: pages.appendingPathComponent("\(chapter)/\(name)").path),
                        "\(chapter): \(name) is shown but missing")
            }
        }
        let chapter01 = try String(contentsOf: pages.appendingPathComponent("01-Bigram/README.md"), encoding: .utf8)
        #expect(chapter01.contains("## Exercises"))
    }

    @Test func badInputEndsInOneLineAndKeepsTheOldPage() throws {
        let pages = folder.appendingPathComponent("kept")
        try FileManager.default.createDirectory(at: pages.appendingPathComponent("02-SelfAttention"), withIntermediateDirectories: true)
        let old = pages.appendingPathComponent("02-SelfAttention/README.md")
        try Data("the old page".utf8).write(to: old)
        // A chapter run that fails: its page stays as it was.
        let failed = try weave(["--chapters", "02", "--quick", "--data", folder.appendingPathComponent("missing.txt").path,
                                "--pages", pages.path])
        #expect(failed.status != 0)
        #expect(failed.errors.split(separator: "\n").count == 1)
        #expect(failed.errors.contains("chapter 02-SelfAttention: the run failed"), "\(failed.errors)")
        #expect(try String(contentsOf: old, encoding: .utf8) == "the old page")
        // No such chapter, and flags that make no sense.
        for arguments in [["--chapters", "42"], ["--from-pages"], ["--threads", "0"]] {
            let run = try weave(arguments + ["--pages", pages.path])
            #expect(run.status != 0, "\(arguments)")
            #expect(run.errors.split(separator: "\n").count == 1, "\(arguments): \(run.errors)")
        }
    }
}
