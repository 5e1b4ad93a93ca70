// A chapter's main.swift, read as a notebook: the header comment, then sections (`// MARK: - Title`),
// each a run of cells. A column-0 comment block (`// ...`, not a `///` doc comment) is prose; the code
// after it, verbatim, is a code cell. Two kinds of marker line pull in code from elsewhere:
//
//   // show: Sources/Attention/Head.swift Head                  a declaration from a library file
//   // show: Sources/Attention/MultiHead.swift MultiHead.keyQueryValue MultiHead.callAsFunction
//   // fold: Sources/Autograd.swift GradientBuffers      the same, folded on the page (plumbing a reader
//                                                     may open, not the idea)
//   // diff: Chapters/02-SelfAttention/main.swift OneHeadLanguageModel -> MultiHeadLanguageModel
//                                  the previous chapter's model against this one's (what is new)
//
// A diff's right side is a declaration in this chapter unless it names a file first.
//
// What a section prints goes under its last code cell. A code cell whose own output should sit right under it
// ends in a line `endOfCell()` (ChapterSupport), which marks the run's output there and is left off the page.
import Foundation

public struct WeaveError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One piece of a section, in reading order.
public enum Cell: Equatable {
    case prose(String)                                  // Markdown
    case code(String)                                   // Swift, verbatim from main.swift
    case shown(path: String, declaration: String, code: String)
    case folded(path: String, declaration: String, code: String)   // shown, closed until the reader opens it
    case diff(from: Reference, to: Reference, lines: [DiffLine])
}

/// A declaration in a file of the package: `Sources/Attention/Head.swift` and `Head` or `MultiHead.perHead`.
public struct Reference: Equatable {
    public var path: String
    public var declaration: String
}

public struct Section: Equatable {
    public var title: String        // "2. One Head of self-attention"
    public var cells: [Cell]
    /// The code cells whose output goes right under them: each ends in a line `endOfCell()` (left off the
    /// page). The rest of the section's output goes under its last code cell.
    public var cellsEndingOutput: [Int] = []
}

public struct ChapterSource {
    public var folder: String           // "02-SelfAttention"
    public var number: String           // "02" (an aside: "05a")
    public var executable: String       // "ch02"
    public var title: String            // "Chapter 02 · Self-attention: one Head"
    public var idea: String             // the header's prose, Markdown
    public var runCommand: String?      // "swift run -c release ch02"
    public var expected: String?        // the header's "Expected: ..." paragraph
    public var imports: String          // the import lines
    public var sections: [Section]
    /// A training chapter takes --data (it uses TrainingOptions); one with a checkpoint flag, --checkpoint.
    public var takesData: Bool, takesCheckpoint: Bool

    /// The short name after "Chapter NN · " ("Self-attention: one Head").
    public var shortTitle: String {
        title.range(of: " · ").map { String(title[$0.upperBound...]) } ?? title
    }

    /// Every Swift or diff block the page shows, in page order: what the drift test compares.
    public var codeBlocks: [String] {
        [imports] + sections.flatMap { $0.cells.compactMap { cell -> String? in
            switch cell {
            case .prose: return nil
            case .code(let code), .shown(_, _, let code), .folded(_, _, let code): return code
            case .diff(_, _, let lines): return lines.map(\.text).joined(separator: "\n")
            }
        } }
    }

    /// Reads `Chapters/<folder>/main.swift` under `root`, with every marker resolved against `root`.
    public static func read(folder: String, root: URL) throws -> ChapterSource {
        let file = root.appendingPathComponent("Chapters/\(folder)/main.swift")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw WeaveError("chapter \(folder): cannot read \(file.path)")
        }
        // The chapter's other files (Flags.swift: its command line) say which flags it takes.
        let folderURL = file.deletingLastPathComponent()
        let others = ((try? FileManager.default.contentsOfDirectory(atPath: folderURL.path)) ?? [])
            .filter { $0.hasSuffix(".swift") && $0 != "main.swift" }.sorted()
            .compactMap { try? String(contentsOf: folderURL.appendingPathComponent($0), encoding: .utf8) }
        do { return try parse(text, folder: folder, root: root, otherFiles: others) }
        catch let error as WeaveError { throw WeaveError("chapter \(folder): \(error.description)") }
    }

    static func parse(_ text: String, folder: String, root: URL, otherFiles: [String] = []) throws -> ChapterSource {
        let lines = text.components(separatedBy: "\n")
        var index = 0
        var header: [String] = []
        while index < lines.count, lines[index].hasPrefix("//") { header.append(lines[index]); index += 1 }
        guard let first = header.first else { throw WeaveError("main.swift has no header comment") }
        let title = String(first.dropFirst(2)).trimmingCharacters(in: .whitespaces)
        let (idea, runCommand, expected) = readHeader(header.dropFirst().map(Prose.uncomment))

        let markIndices = lines.indices.filter { lines[$0].hasPrefix(markPrefix) }
        guard let firstMark = markIndices.first else {
            throw WeaveError("main.swift has no sections (`\(markPrefix)Title` lines)")
        }
        let imports = trimBlankLines(Array(lines[index..<firstMark])).joined(separator: "\n")
        var sections: [Section] = []
        for (n, start) in markIndices.enumerated() {
            let end = n + 1 < markIndices.count ? markIndices[n + 1] : lines.count
            let sectionTitle = String(lines[start].dropFirst(markPrefix.count)).trimmingCharacters(in: .whitespaces)
            let body = Array(lines[(start + 1)..<end])
            let parsed = try cells(of: body, section: sectionTitle, folder: folder, root: root)
            sections.append(Section(title: sectionTitle, cells: parsed.cells, cellsEndingOutput: parsed.endingOutput))
        }
        let number = String(folder.prefix { $0 != "-" })   // "02", or "05a" for an aside after chapter 05
        return ChapterSource(folder: folder, number: number, executable: "ch\(number)", title: title, idea: idea,
                             runCommand: runCommand, expected: expected, imports: imports, sections: sections,
                             takesData: ([text] + otherFiles).contains { $0.contains("TrainingOptions") },
                             takesCheckpoint: ([text] + otherFiles).contains { $0.contains("var checkpoint") })
    }

    static let markPrefix = "// MARK: - "

    /// The header's paragraphs: the idea, the `swift run` line, and the paragraph that starts "Expected:".
    static func readHeader(_ lines: [String]) -> (idea: String, run: String?, expected: String?) {
        var body = lines
        while let line = body.first, line.isEmpty || line.allSatisfy({ $0 == "=" }) { body.removeFirst() }
        var run: String?
        var expected: [String] = []
        var idea: [String] = []
        var inExpected = false
        for line in body {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("swift run ") {
                run = trimmed.components(separatedBy: "   ").first.map { $0.trimmingCharacters(in: .whitespaces) }
                continue
            }
            if trimmed.hasPrefix("Expected") { inExpected = true }
            if inExpected, trimmed.isEmpty { inExpected = false; continue }
            if inExpected { expected.append(trimmed) } else { idea.append(line) }
        }
        return (Prose.markdown(trimBlankLines(idea)), run, expected.isEmpty ? nil : Prose.escape(expected.joined(separator: " ")))
    }

    /// Splits a section's lines into prose, code and marker cells, and says which code cells end in
    /// `endOfCell()`.
    static func cells(of body: [String], section title: String, folder: String, root: URL) throws
        -> (cells: [Cell], endingOutput: [Int]) {
        var cells: [Cell] = [], endingOutput: [Int] = []
        var prose: [String] = [], code: [String] = []
        var sawSectionCall = false
        func flushProse() {
            let trimmed = trimBlankLines(prose)
            if !trimmed.isEmpty { cells.append(.prose(Prose.markdown(trimmed))) }
            prose = []
        }
        func flushCode() {
            let trimmed = trimBlankLines(code)
            if !trimmed.isEmpty { cells.append(.code(trimmed.joined(separator: "\n"))) }
            code = []
        }
        for line in body {
            let isProse = line.hasPrefix("//") && !line.hasPrefix("///")
            if isProse {
                let content = Prose.uncomment(line)
                if content.hasPrefix("show:") || content.hasPrefix("fold:") || content.hasPrefix("diff:") {
                    flushCode(); flushProse()
                    cells += try marker(content, folder: folder, root: root)
                    continue
                }
                flushCode()   // (blank lines alone make no cell)
                prose.append(content)
            } else if line.hasPrefix("section(") {
                let literal = title.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                let call = "section(\"" + literal + "\")"
                guard line.trimmingCharacters(in: .whitespaces) == call else {
                    throw WeaveError("section \(String(reflecting: title)) prints a different title: \(line)")
                }
                sawSectionCall = true
            } else if line == "endOfCell()" {
                flushCode()
                guard trimBlankLines(prose).isEmpty, let last = cells.indices.last, case .code = cells[last],
                      endingOutput.last != last else {
                    throw WeaveError("section \(String(reflecting: title)): endOfCell() must end a cell of code")
                }
                endingOutput.append(last)
            } else {
                if !prose.isEmpty { flushProse() }
                code.append(line)
            }
        }
        flushProse(); flushCode()
        guard sawSectionCall else {
            throw WeaveError("section \(String(reflecting: title)) never calls section(\(String(reflecting: title))), "
                             + "so its output could not be placed")
        }
        return (cells, endingOutput)
    }

    static func marker(_ content: String, folder: String, root: URL) throws -> [Cell] {
        let words = content.split(separator: " ").map(String.init)
        let thisFile = "Chapters/\(folder)/main.swift"
        if words.first == "show:" || words.first == "fold:" {
            guard words.count >= 3 else { throw WeaveError("`// \(content)` needs a file and a declaration") }
            let number = String(folder.prefix { $0 != "-" })
            return try words[2...].map { name in
                let code = Declarations.leavingOutLaterChapters(
                    try Declarations.text(of: Reference(path: words[1], declaration: name), root: root), onPageOf: number)
                return words.first == "show:" ? .shown(path: words[1], declaration: name, code: code)
                                              : .folded(path: words[1], declaration: name, code: code)
            }
        }
        // diff: FILE DECL -> [FILE] DECL
        guard let arrow = words.firstIndex(of: "->"), arrow == 3, words.count == 5 || words.count == 6 else {
            throw WeaveError("`// \(content)` should read `// diff: FILE DECLARATION -> [FILE] DECLARATION`")
        }
        let from = Reference(path: words[1], declaration: words[2])
        let to = words.count == 6 ? Reference(path: words[4], declaration: words[5])
                                  : Reference(path: thisFile, declaration: words[4])
        let old = try Declarations.text(of: from, root: root), new = try Declarations.text(of: to, root: root)
        return [.diff(from: from, to: to, lines: LineDiff.lines(from: old.components(separatedBy: "\n"),
                                                                   to: new.components(separatedBy: "\n")))]
    }

    static func trimBlankLines(_ lines: [String]) -> [String] {
        var result = lines[...]
        while let first = result.first, first.trimmingCharacters(in: .whitespaces).isEmpty { result.removeFirst() }
        while let last = result.last, last.trimmingCharacters(in: .whitespaces).isEmpty { result.removeLast() }
        return Array(result)
    }
}
