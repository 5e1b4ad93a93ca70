// Finds a declaration in a Swift file by name, so a chapter's page can show library code (`Head`,
// `MultiHead.perHead`, `Tensor.backward`) exactly as it is written, doc comment included.
import Foundation

public enum Declarations {
    /// The text of `reference` in its file: doc comments and attributes above it, then the declaration
    /// through its closing brace. `A.b` looks for `b` inside the bodies of every `A` (a type or its extensions), first to last.
    public static func text(of reference: Reference, root: URL) throws -> String {
        let url = root.appendingPathComponent(reference.path)
        guard let source = try? String(contentsOf: url, encoding: .utf8) else {
            throw WeaveError("cannot read \(reference.path) (named by a marker)")
        }
        let isC = reference.path.hasSuffix(".c") || reference.path.hasSuffix(".h")
        guard let text = isC ? findC(reference.declaration, in: source) : find(reference.declaration, in: source) else {
            throw WeaveError("\(reference.path) has no declaration named `\(reference.declaration)`")
        }
        return text
    }

    /// `code` as the page of chapter `page` (its number: "02", "05b") shows it: a line that ends in
    /// `// later, chapter NN: what it is for` belongs to a later chapter's idea (int8 weights in `Linear`,
    /// the cache's branch in `MultiHead`), so a page before chapter NN shows, in its place, a comment that
    /// says what was left out and where it is shown; chapter NN's page and the later ones show the line,
    /// its comment as `// chapter NN: ...`.
    public static func leavingOutLaterChapters(_ code: String, onPageOf page: String) -> String {
        code.components(separatedBy: "\n").map { line in
            guard let marker = line.range(of: "// later, chapter ") else { return line }
            let rest = line[marker.upperBound...]
            let chapter = String(rest.prefix { $0 != ":" })
            guard !chapter.isEmpty else { return line }
            guard page < chapter else { return line.replacingCharacters(in: marker, with: "// chapter ") }
            let note = rest.dropFirst(chapter.count + 1).trimmingCharacters(in: .whitespaces)
            let indent = String(line.prefix { $0 == " " })
            return indent + "// (one line of chapter \(chapter)'s, left out here: \(note))"
        }.joined(separator: "\n")
    }

    public static func find(_ name: String, in source: String) -> String? {
        let lines = source.components(separatedBy: "\n")
        let parts = name.split(separator: ".").map(String.init)
        guard let found = locate(parts[...], in: lines, within: 0..<lines.count) else { return nil }
        var lines2 = Array(lines[found]), first = found.lowerBound
        // Doc comments and attributes directly above belong to it.
        while first > 0 {
            let above = lines[first - 1].trimmingCharacters(in: .whitespaces)
            guard above.hasPrefix("///") || above.hasPrefix("@") else { break }
            first -= 1
            lines2.insert(lines[first], at: 0)
        }
        let indent = lines2.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return lines2.map { String($0.dropFirst(min(indent, $0.prefix { $0 == " " }.count))) }.joined(separator: "\n")
    }

    /// A C function's definition (not a prototype or a call) or a `#define` macro, by name, with the `//`
    /// comment lines directly above it: the int8 kernels of chapter 08. A definition starts at column 0,
    /// and a macro runs on while its lines end in a backslash.
    public static func findC(_ name: String, in source: String) -> String? {
        let lines = source.components(separatedBy: "\n")
        guard let start = lines.indices.first(where: { index in
            let line = lines[index]
            if line.hasPrefix("#define \(name)(") || line.hasPrefix("#define \(name) ") { return true }
            guard let first = line.first, first.isLetter || first == "_", let call = line.range(of: name + "(") else { return false }
            let before = line[..<call.lowerBound].last
            return (before == " " || before == "*") && !line.trimmingCharacters(in: .whitespaces).hasSuffix(";")
        }) else { return nil }
        var end = start
        if lines[start].hasPrefix("#define") {
            while end + 1 < lines.count, lines[end].hasSuffix("\\") { end += 1 }
        } else {
            end = closingLine(lines, from: start, within: start..<lines.count)
        }
        var first = start
        while first > 0, lines[first - 1].hasPrefix("//") { first -= 1 }
        return lines[first...end].joined(separator: "\n")
    }

    /// The lines of the first declaration of `parts.first` within `range` whose body holds the rest of
    /// `parts`: `Linear.decode` is found in a later `extension Linear` when `class Linear` has no `decode`.
    /// Only declarations at the range's own level count (the file's top level, or a type's members), not a
    /// local `let` of the same name inside some function's body.
    static func locate(_ parts: ArraySlice<String>, in lines: [String], within range: Range<Int>) -> Range<Int>? {
        guard let part = parts.first else { return nil }
        let indent = { (line: String) in line.prefix { $0 == " " }.count }
        let level = range.filter { !lines[$0].trimmingCharacters(in: .whitespaces).isEmpty }.map { indent(lines[$0]) }.min() ?? 0
        var from = range.lowerBound
        while from < range.upperBound,
              let start = (from..<range.upperBound).first(where: { indent(lines[$0]) == level && declares(lines[$0], part) }) {
            let end = closingLine(lines, from: start, within: range)
            if parts.count == 1 { return start..<(end + 1) }
            if let inner = locate(parts.dropFirst(), in: lines, within: (start + 1)..<max(start + 1, end)) { return inner }
            from = end + 1
        }
        return nil
    }

    static let keywords: Set<String> = ["class", "struct", "enum", "protocol", "extension", "func", "var", "let",
                                        "actor", "typealias"]
    static let modifiers: Set<String> = ["public", "private", "fileprivate", "internal", "open", "final", "static",
                                         "override", "mutating", "nonmutating", "convenience", "required", "indirect",
                                         "nonisolated", "lazy", "weak", "unowned"]

    /// Whether `line` declares `name`: attributes and modifiers, a keyword, then the name
    /// (`public final class Head: Module {`, `public func backward(seed:`), or `init(` for "init". A name
    /// with its argument labels, `init(_:vocabularySize:)`, picks one of several overloads (the labels
    /// must be on the declaration's first line).
    static func declares(_ line: String, _ name: String) -> Bool {
        if let open = name.firstIndex(of: "(") {
            let base = String(name[..<open]), labels = String(name[name.index(after: open)...].dropLast())
            guard declares(line, base), let start = line.range(of: (base == "init" ? "init" : base) + "("),
                  let end = line[start.upperBound...].firstIndex(of: ")") else { return false }
            let parameters = line[start.upperBound..<end].split(separator: ",")
            let found = parameters.map { $0.trimmingCharacters(in: .whitespaces).prefix { $0 != " " && $0 != ":" } + ":" }
            return found.joined() == labels
        }
        var words = line.split(separator: " ").map(String.init)[...]
        while let word = words.first, words.count > 1,
              word.hasPrefix("@") || modifiers.contains(word)
                || (word == "class" && keywords.contains(words[words.startIndex + 1])) {
            words.removeFirst()
        }
        guard let keyword = words.first else { return false }
        if name == "init" { return keyword.hasPrefix("init(") || keyword.hasPrefix("init<") }
        guard keywords.contains(keyword), words.count > 1 else { return false }
        let identifier = words[words.startIndex + 1].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        return identifier == name
    }

    /// The line holding the brace that closes the declaration starting at `start` (or `start` itself for a
    /// declaration without a body). Braces inside string literals and comments do not count.
    static func closingLine(_ lines: [String], from start: Int, within range: Range<Int>) -> Int {
        var depth = 0, opened = false, brackets = 0   // brackets: ( and [ still open, for a body-less declaration
        var inString = false, inMultilineString = false
        var index = start
        while index < lines.count {
            let characters = Array(lines[index])
            var i = 0
            while i < characters.count {
                let c = characters[i]
                if inMultilineString {
                    if c == "\"", i + 2 < characters.count, characters[i + 1] == "\"", characters[i + 2] == "\"" {
                        inMultilineString = false; i += 2
                    }
                } else if inString {
                    if c == "\\" { i += 1 } else if c == "\"" { inString = false }
                } else if c == "/", i + 1 < characters.count, characters[i + 1] == "/" {
                    break
                } else if c == "\"" {
                    if i + 2 < characters.count, characters[i + 1] == "\"", characters[i + 2] == "\"" {
                        inMultilineString = true; i += 2
                    } else { inString = true }
                } else if c == "{", brackets <= 0 || opened { depth += 1; opened = true }   // not a default argument's `{ _ in }`
                else if c == "}", brackets <= 0 || opened { depth -= 1; if opened, depth == 0 { return index } }
                else if c == "(" || c == "[" { brackets += 1 }
                else if c == ")" || c == "]" { brackets -= 1 }
                i += 1
            }
            inString = false
            // A declaration with no body ends on its own line, unless its line leaves a bracket open.
            // One that spans lines (`let x = Settings(` ... `)`) ends where its brackets close.
            // A signature whose result type (`-> T {`) or `where` clause is on the next line goes on too.
            let code = lines[index].components(separatedBy: "//").first!.trimmingCharacters(in: .whitespaces)
            let next = index + 1 < lines.count ? lines[index + 1].trimmingCharacters(in: .whitespaces) : ""
            if !opened, brackets <= 0, !code.hasSuffix("{"), !code.hasSuffix("(") && !code.hasSuffix(",")
                && !code.hasSuffix("[") && !code.hasSuffix("="), !next.hasPrefix("->"), !next.hasPrefix("where ") {
                return index
            }
            index += 1
        }
        return lines.count - 1
    }
}
