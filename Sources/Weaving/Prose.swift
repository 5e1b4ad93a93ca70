// Comment text to Markdown. Chapters write their prose as plain comments, so the page keeps it as
// written: paragraphs stay paragraphs, `- ` lines become a list and `1. ` lines a numbered one (an item
// goes on in the lines indented under it), and other indented lines (shape diagrams, formulas such as
// `h = relu(x @ W^T + b)`) stay exactly as aligned, in a preformatted block. A line `details: Title` folds
// the prose after it under that title (a derivation a reader may open), up to a line `end details`, the
// next `details:` or the end of the comment block.
enum Prose {
    /// `// text` -> `text`, `//` -> "".
    static func uncomment(_ line: String) -> String {
        var content = line.dropFirst(2)
        if content.first == " " { content = content.dropFirst() }
        return String(content)
    }

    static func markdown(_ lines: [String]) -> String {
        var blocks: [String] = []
        var paragraph: [String] = [], preformatted: [String] = []
        var inList = false, continuation = "  ", inDetails = false
        func flushParagraph() {
            if !paragraph.isEmpty { blocks.append(paragraph.joined(separator: "\n")) }
            paragraph = []
            inList = false
        }
        func flushPreformatted() {
            guard !preformatted.isEmpty else { return }
            let indent = preformatted.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                .map { $0.prefix { $0 == " " }.count }.min() ?? 0
            blocks.append("```text\n" + preformatted.map { String($0.dropFirst(min(indent, $0.count))) }
                .joined(separator: "\n") + "\n```")
            preformatted = []
        }
        for line in lines {
            let indent = line.prefix { $0 == " " }.count
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if indent == 0, line.hasPrefix("details: ") || line == "end details" {   // a folded stretch of prose
                flushParagraph(); flushPreformatted()
                if inDetails { blocks.append("</details>") }
                inDetails = line != "end details"
                guard inDetails else { continue }
                blocks.append("<details><summary>" + html(String(line.dropFirst("details: ".count))) + " (click to open)</summary>")
            } else if trimmed.isEmpty {
                flushParagraph(); flushPreformatted()
            } else if let marker = listMarker(trimmed), indent == 0 || marker == "- " {   // a numbered item starts at the margin
                flushPreformatted()
                if !inList { flushParagraph(); inList = true }
                paragraph.append(marker + escape(String(trimmed.dropFirst(marker.count))))
                continuation = String(repeating: " ", count: marker.count)
            } else if inList, indent >= 2 {
                paragraph.append(continuation + escape(trimmed))   // the list item goes on
            } else if indent >= 2 {
                flushParagraph()
                preformatted.append(line)
            } else {
                flushPreformatted()
                if inList { flushParagraph() }
                paragraph.append(escape(line))
            }
        }
        flushParagraph(); flushPreformatted()
        if inDetails { blocks.append("</details>") }
        return blocks.joined(separator: "\n\n")
    }

    /// A summary's title as HTML text: &, < and > escaped.
    static func html(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// "- " for a bulleted item, "12. " for a numbered one, nil for a line that starts no item.
    static func listMarker(_ line: String) -> String? {
        if line.hasPrefix("- ") { return "- " }
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 2, line.dropFirst(digits.count).hasPrefix(". ") else { return nil }
        return digits + ". "
    }

    /// Keeps Markdown from reading prose as markup: `*` and `<` are escaped outside `code spans`, and a
    /// line that would start a heading, a quote or a numbered list is escaped at its start.
    static func escape(_ text: String) -> String {
        var result = ""
        var inCode = false
        for character in text {
            if character == "`" { inCode.toggle() }
            if !inCode, character == "*" || character == "<" || character == "\\" || character == "$" {
                result.append("\\")
            }
            result.append(character)
        }
        if let first = result.first, first == "#" || first == ">" || first == "+" { result = "\\" + result }
        if let dot = result.firstIndex(where: { !$0.isNumber }), dot != result.startIndex,
           result[dot] == "." || result[dot] == ")" {
            result.insert("\\", at: dot)
        }
        return result
    }
}
