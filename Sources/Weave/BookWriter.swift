// The book: every page as one self-contained HTML file through pandoc, and an index.
import Foundation
import Weaving

/// Book/: one self-contained HTML file per page and an index.
struct BookWriter {
    let root: URL, pagesRoot: URL, book: URL

    func write(_ chapters: [ChapterSource]) throws {
        let pandoc = try findOrInstallPandoc()
        try FileManager.default.createDirectory(at: book, withIntermediateDirectories: true)
        let css = book.appendingPathComponent("style.css")
        try Data(Book.css.utf8).write(to: css, options: .atomic)
        // Each chapter's one idea, as the README's chapter table says it.
        let readme = (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
        let ideas = Book.chapterIdeas(readme: readme)
        var index = ["# NanoGPT in Swift, one concept at a time", "",
                     "Each chapter builds one idea of a GPT, from tensors and autograd to the full model and byte-pair tokens.", ""]
        for chapter in chapters {
            let pageFile = pagesRoot.appendingPathComponent(chapter.folder).appendingPathComponent("README.md")
            guard let page = try? String(contentsOf: pageFile, encoding: .utf8) else {
                throw WeaveError("chapter \(chapter.folder): no page at \(pageFile.path) to render (weave it first)")
            }
            try Book.render(markdown: Book.bookMarkdown(page), title: chapter.title,
                            resourcePath: pageFile.deletingLastPathComponent(), cssFile: css,
                            to: book.appendingPathComponent("\(chapter.folder).html"), pandoc: pandoc)
            index.append("- [\(chapter.title)](\(chapter.folder).html): \(ideas[chapter.folder] ?? chapter.shortTitle)")
            print("    wrote \(book.appendingPathComponent("\(chapter.folder).html").path)")
        }
        index += ["", "## Every chapter on one scale", "",
                  "Validation loss in nats per character against characters of training text, from `swift run -c release compare`:",
                  "", "![every chapter's validation loss](Plots/compare/val-loss.png)"]
        try Book.render(markdown: index.joined(separator: "\n"), title: "NanoGPT in Swift", resourcePath: root, cssFile: css,
                        to: book.appendingPathComponent("index.html"), pandoc: pandoc)
        try? FileManager.default.removeItem(at: css)
        print("    wrote \(book.appendingPathComponent("index.html").path)")
    }

    /// pandoc from PATH; when missing, Debian's package (scripts/install-pandoc.sh).
    func findOrInstallPandoc() throws -> String {
        func find() -> String? {
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
                .map { "\($0)/pandoc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        if let found = find() { return found }
        // Missing: scripts/install-pandoc.sh installs Debian's package, as the other install scripts do.
        let script = root.appendingPathComponent("scripts/install-pandoc.sh")
        print("==> pandoc is missing: running scripts/install-pandoc.sh")
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/bin/bash")
        install.arguments = [script.path]
        try install.run()
        install.waitUntilExit()
        guard install.terminationStatus == 0, let found = find() else {
            throw WeaveError("--html needs pandoc, and scripts/install-pandoc.sh did not install it: install it with `apt-get install pandoc`")
        }
        return found
    }
}
