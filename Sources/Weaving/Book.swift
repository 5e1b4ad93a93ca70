// `weave --html`: the pages as an offline book, Book/NN-Name.html and Book/index.html, each one
// self-contained (images embedded, Swift highlighted) through pandoc.
import Foundation

public enum Book {
    /// The page's Markdown with its links pointed at the book's files instead of the repository's.
    public static func bookMarkdown(_ page: String) -> String {
        var text = page.replacingOccurrences(of: "](../../README.md#the-chapters)", with: "](index.html)")
        text = text.replacingOccurrences(of: "](../../", with: "](../")
        let pattern = try! NSRegularExpression(pattern: #"\]\(\.\./([0-9][0-9][A-Za-z0-9-]*)/README\.md\)"#)
        text = pattern.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "]($1.html)")
        return text
    }

    /// Each chapter's one idea from the README's chapter table, by chapter folder: the third column of
    /// every row whose second links a page.
    ///
    ///     | `ch02` | [Self-attention](Chapters/02-SelfAttention/README.md) | one `Head` of self-attention | 2.3189 |
    ///       ->  ["02-SelfAttention": "one `Head` of self-attention"]
    public static func chapterIdeas(readme: String) -> [String: String] {
        var ideas: [String: String] = [:]
        for line in readme.components(separatedBy: "\n") where line.hasPrefix("|") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let link = cells[2].range(of: "](Chapters/"),
                  let end = cells[2][link.upperBound...].firstIndex(of: "/") else { continue }
            ideas[String(cells[2][link.upperBound..<end])] = cells[3]
        }
        return ideas
    }

    /// Wide enough for 120-character code lines at 1280 pixels, and long lines wrap instead of scrolling.
    public static let css = """
        body { max-width: 1180px; margin: 0 auto; padding: 24px 40px; font-family: sans-serif; line-height: 1.5;
               color: #1a1a1a; }
        pre, code { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
        pre { background: #f6f8fa; padding: 10px 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
        pre.text, div.sourceCode pre.text { background: #fdfbf3; }
        img { max-width: 100%; height: auto; }
        table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 3px 8px; }
        h1 { font-size: 1.9em; } h2 { border-bottom: 1px solid #ddd; margin-top: 1.6em; }
        details { background: #f3f6fb; padding: 6px 12px; margin: 8px 0; } summary { cursor: pointer; }
        """

    /// Runs pandoc on `markdown`, writing one self-contained HTML file.
    public static func render(markdown: String, title: String, resourcePath: URL, cssFile: URL, to output: URL,
                              pandoc: String) throws {
        let input = output.deletingPathExtension().appendingPathExtension("md")
        try Data(markdown.utf8).write(to: input, options: .atomic)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pandoc)
        process.arguments = [input.path, "--standalone", "--self-contained", "--mathml", "--highlight-style=tango",
                             "--from=markdown-yaml_metadata_block", "--css", cssFile.path,
                             "--resource-path", resourcePath.path, "--metadata", "pagetitle=\(title)", "-o", output.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let line = message.split(separator: "\n").first.map(String.init) ?? "exit \(process.terminationStatus)"
            throw WeaveError("pandoc failed on \(title): \(line)")
        }
    }
}
