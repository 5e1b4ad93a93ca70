// The committed chapter pages against the sources they were woven from, and the weave's parts on
// small made-up chapters.
import Foundation
import Testing
@testable import Weaving

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("Chapter pages")
struct PageDriftTests {
    /// Every code block of every committed page is exactly what the weave takes from the chapter or the
    /// library file today. Editing Head.swift (or a chapter) without weaving again fails here.
    @Test func everyCommittedPageMatchesItsSources() throws {
        let chapters = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Chapters").path)
            .filter { $0.prefix(2).allSatisfy(\.isNumber) }.sorted()
        #expect(chapters.count >= 7)
        for folder in chapters {
            let pageFile = packageRoot.appendingPathComponent("Chapters/\(folder)/README.md")
            let page = try #require(try? String(contentsOf: pageFile, encoding: .utf8), "Chapters/\(folder) has no page: weave it")
            let source = try ChapterSource.read(folder: folder, root: packageRoot)
            let expected = source.codeBlocks, shown = Page.codeBlocks(inPage: page)
            #expect(shown.count == expected.count,
                    "Chapters/\(folder)/README.md shows \(shown.count) code blocks, its sources give \(expected.count): weave again")
            for (index, (written, current)) in zip(shown, expected).enumerated() where written != current {
                let firstLine = String(current.split(separator: "\n").first ?? "")
                let message = "Chapters/\(folder)/README.md: code block \(index + 1) (\(firstLine)) differs from its source: "
                    + "run `swift run -c release weave --chapters \(source.number)`"
                Issue.record(Comment(rawValue: message))
                break
            }
            // Every figure the page shows is committed beside it.
            for line in page.components(separatedBy: "\n") where line.hasPrefix("![") || line.contains("](figures/") {
                guard let start = line.range(of: "](figures/") else { continue }
                let name = "figures/" + line[start.upperBound...].prefix { $0 != ")" }
                #expect(FileManager.default.fileExists(atPath: pageFile.deletingLastPathComponent().appendingPathComponent(String(name)).path),
                        "Chapters/\(folder)/README.md shows \(name), which is missing")
            }
        }
    }
}

@Suite("Each chapter's checklist")
struct ChecklistTests {
    /// Every chapter lists, in Checklist.txt, the declarations that compute its idea; each must be on its
    /// woven page, whole, in a code block. A chapter that stops showing one (or a declaration that grows
    /// without the page being woven again) fails here, naming it.
    @Test func everyDeclarationOfEveryChaptersIdeaIsOnItsPage() throws {
        let chapters = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("Chapters").path)
            .filter { $0.prefix(2).allSatisfy(\.isNumber) }.sorted()
        for folder in chapters {
            let checklistFile = packageRoot.appendingPathComponent("Chapters/\(folder)/Checklist.txt")
            let checklist = try #require(try? String(contentsOf: checklistFile, encoding: .utf8),
                                         "Chapters/\(folder) has no Checklist.txt")
            let entries = checklist.components(separatedBy: "\n").filter { !$0.isEmpty && !$0.hasPrefix("#") }
            #expect(!entries.isEmpty, "Chapters/\(folder)/Checklist.txt lists nothing")
            let page = try String(contentsOf: packageRoot.appendingPathComponent("Chapters/\(folder)/README.md"), encoding: .utf8)
            let blocks = Page.codeBlocks(inPage: page)
            for entry in entries {
                let words = entry.split(separator: " ").map(String.init)
                try #require(words.count == 2, "Chapters/\(folder)/Checklist.txt: `\(entry)` is not `FILE DECLARATION`")
                let code = Declarations.leavingOutLaterChapters(
                    try Declarations.text(of: Reference(path: words[0], declaration: words[1]), root: packageRoot),
                    onPageOf: String(folder.prefix { $0 != "-" }))
                #expect(blocks.contains { $0.contains(code) },
                        "Chapters/\(folder)/README.md does not show \(words[1]) (\(words[0])) whole: show it, or weave again")
            }
        }
    }
}

@Suite("Weave parts")
struct WeavePartTests {
    let chapter = """
        // Chapter 09 · Toy: a test chapter
        // ================================
        //
        // The idea, in a paragraph.
        //
        //   swift run -c release ch09
        //
        // Expected: nothing much.
        import Foundation

        // MARK: - 1. First
        //
        // Prose with a formula:
        //   y = a * x + b
        // show: Sources/Lib/Lib.swift Outer.inner

        section("1. First")
        print("one")

        // MARK: - 2. Second

        section("2. Second")
        print("two")
        // trailing prose
        """

    func root(with library: String = "public struct Outer {\n    /// Doc.\n    func inner() {\n        let s = \"}\"\n    }\n    func other() {}\n}\n") throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("weave-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Sources/Lib"), withIntermediateDirectories: true)
        try Data(library.utf8).write(to: root.appendingPathComponent("Sources/Lib/Lib.swift"))
        return root
    }

    @Test func readsSectionsCellsAndShownDeclarations() throws {
        let source = try ChapterSource.parse(chapter, folder: "09-Toy", root: try root())
        #expect(source.title == "Chapter 09 · Toy: a test chapter")
        #expect(source.runCommand == "swift run -c release ch09")
        #expect(source.sections.map(\.title) == ["1. First", "2. Second"])
        let first = source.sections[0].cells
        #expect(first.count == 3)
        #expect(first[0] == .prose("Prose with a formula:\n\n```text\ny = a * x + b\n```"))
        #expect(first[1] == .shown(path: "Sources/Lib/Lib.swift", declaration: "Outer.inner",
                                   code: "/// Doc.\nfunc inner() {\n    let s = \"}\"\n}"))
        #expect(first[2] == .code("print(\"one\")"))   // the section(...) call is the page's heading, not a code line
        #expect(source.sections[1].cells == [.code("print(\"two\")"), .prose("trailing prose")])
    }

    /// Bulleted and numbered items go on in the lines indented under them; a number that only starts a line
    /// of a paragraph is escaped, and other indented lines stay preformatted.
    @Test func proseListsKeepTheirItemsWhole() {
        let markdown = Prose.markdown(["The steps:", "1. first, which", "   goes on", "2. second", "", "- a bullet,",
                                       "  continued", "", "Text", "0.36 is a number, not an item", "", "  y = a * x",
                                       "", "Two ideas:", "  - one,", "  - two."])
        #expect(markdown == "The steps:\n\n1. first, which\n   goes on\n2. second\n\n- a bullet,\n  continued\n\n"
                + "Text\n0\\.36 is a number, not an item\n\n```text\ny = a * x\n```\n\nTwo ideas:\n\n- one,\n- two.")
    }

    /// `details: Title` folds the prose under it, up to `end details` (or the end of the comment block).
    @Test func proseFoldsADerivation() {
        let markdown = Prose.markdown(["Shown first.", "details: Why 0.36 <derived>", "The average of t + 1 rows.", "",
                                       "- a step", "end details", "Shown after.", "details: A second one", "Open to the end."])
        #expect(markdown == "Shown first.\n\n<details><summary>Why 0.36 &lt;derived&gt; (click to open)</summary>\n\n"
                + "The average of t + 1 rows.\n\n- a step\n\n</details>\n\nShown after.\n\n"
                + "<details><summary>A second one (click to open)</summary>\n\nOpen to the end.\n\n</details>")
    }

    /// `fold:` shows a declaration closed in a <details> block, and a closing "How the library runs it fast"
    /// section is folded whole; the drift test still sees every folded block.
    @Test func foldsPlumbingAndTheFastSection() throws {
        let folding = chapter.replacingOccurrences(of: "// show: Sources/Lib/Lib.swift Outer.inner", with: "// fold: Sources/Lib/Lib.swift Outer.inner")
            .replacingOccurrences(of: "2. Second", with: "2. How the library runs it fast")
        let source = try ChapterSource.parse(folding, folder: "09-Toy", root: try root())
        #expect(source.sections[0].cells[1] == .folded(path: "Sources/Lib/Lib.swift", declaration: "Outer.inner",
                                                       code: "/// Doc.\nfunc inner() {\n    let s = \"}\"\n}"))
        let run = ChapterRun(command: "ch09", output: ["── 1. First ──", "one", "── 2. How the library runs it fast ──", "two"],
                             wallSeconds: 1, machine: "test", threads: 1, summary: nil, woven: "today")
        let markdown = try Page.render(source, run: run, previous: nil, next: nil, exercises: nil).markdown
        #expect(markdown.contains("<details><summary>From <code>Sources/Lib/Lib.swift</code>, <code>Outer.inner</code> "
                                  + "(click to open)</summary>\n\n```swift\n/// Doc."))
        let fast = try #require(markdown.range(of: "## 2. How the library runs it fast\n\n<details>"))
        #expect(markdown[fast.upperBound...].contains("```text\ntwo\n```\n\ntrailing prose\n\n</details>"))
        #expect(Page.codeBlocks(inPage: markdown) == source.codeBlocks)
    }

    @Test func refusesChaptersItCannotWeave() throws {
        let root = try root()
        #expect(throws: WeaveError.self) { try ChapterSource.parse("// Chapter 09\nprint(1)\n", folder: "09-Toy", root: root) }
        let missing = chapter.replacingOccurrences(of: "Outer.inner", with: "Outer.nowhere")
        do { _ = try ChapterSource.parse(missing, folder: "09-Toy", root: root); Issue.record("no error") }
        catch let error as WeaveError { #expect(error.description.contains("no declaration named `Outer.nowhere`")) }
        let wrongTitle = chapter.replacingOccurrences(of: "section(\"2. Second\")", with: "section(\"2. Other\")")
        #expect(throws: WeaveError.self) { try ChapterSource.parse(wrongTitle, folder: "09-Toy", root: root) }
    }

    @Test func placesEveryOutputLineUnderItsSection() throws {
        let run = ChapterRun(command: "ch09", output: ["Chapter 09", "── 1. First ──", "one", "step 1/10 | loss 2.0 | 5 tok/s | 1s left",
                                                       "── 2. Second ──", "two"],
                             wallSeconds: 1, machine: "test", threads: 1, summary: nil, woven: "today")
        #expect(try run.outputBySection(["1. First", "2. Second"]) == [["Chapter 09", "one", "step 1/10 | loss 2.0 | 5 tok/s | 1s left"], ["two"]])
        #expect(throws: WeaveError.self) { try run.outputBySection(["1. First", "2. Another"]) }
        #expect(ChapterRun.isProgressLine("step 1/10 | loss 2.0 | 5 tok/s | 1s left"))
        #expect(!ChapterRun.isProgressLine("step 500: train loss 2.0008, val loss 2.0863"))
        let source = try ChapterSource.parse(chapter, folder: "09-Toy", root: try root())
        let page = try Page.render(source, run: run, previous: nil, next: nil, exercises: "1. Try it.")
        #expect(page.markdown.contains("```text\nChapter 09\none\n```"))
        #expect(page.markdown.contains("1 progress lines"))
        #expect(page.markdown.contains("## Exercises\n\n1. Try it."))
        #expect(Page.codeBlocks(inPage: page.markdown) == source.codeBlocks)
    }

    /// A code cell ending in `endOfCell()` gets the output printed up to that call right under it; the
    /// call itself is not on the page, and a run that ends a different number of cells is refused.
    @Test func placesEachCellsOutputUnderThatCell() throws {
        let twoCells = chapter.replacingOccurrences(of: "print(\"one\")\n", with: "print(\"one\")\nendOfCell()\n// Then more.\nprint(\"more\")\n")
        let source = try ChapterSource.parse(twoCells, folder: "09-Toy", root: try root())
        #expect(source.sections[0].cells.suffix(3) == [.code("print(\"one\")"), .prose("Then more."), .code("print(\"more\")")])
        #expect(source.sections[0].cellsEndingOutput == [2])
        let run = ChapterRun(command: "ch09", output: ["── 1. First ──", "one", ChapterRun.cellBreak, "more", "── 2. Second ──", "two"],
                             wallSeconds: 1, machine: "test", threads: 1, summary: nil, woven: "today")
        let markdown = try Page.render(source, run: run, previous: nil, next: nil, exercises: nil).markdown
        #expect(markdown.contains("```swift\nprint(\"one\")\n```\n\n```text\none\n```\n\nThen more.\n\n```swift\nprint(\"more\")\n```\n\n```text\nmore\n```"))
        #expect(!markdown.contains("endOfCell") && !markdown.contains(ChapterRun.cellBreak))
        #expect(ChapterRun.cellOutputs(["a", "streamed, no newline" + ChapterRun.cellBreak, "b"]) == [["a", "streamed, no newline"], ["b"]])
        #expect(Page.codeBlocks(inPage: markdown) == source.codeBlocks)
        let unmarked = ChapterRun(command: "ch09", output: ["── 1. First ──", "one", "more", "── 2. Second ──", "two"],
                                  wallSeconds: 1, machine: "test", threads: 1, summary: nil, woven: "today")
        #expect(throws: WeaveError.self) { try Page.render(source, run: unmarked, previous: nil, next: nil, exercises: nil) }
        let afterProse = chapter.replacingOccurrences(of: "print(\"one\")\n", with: "print(\"one\")\n// prose\nendOfCell()\n")
        #expect(throws: WeaveError.self) { try ChapterSource.parse(afterProse, folder: "09-Toy", root: try root()) }
    }

    /// The header names the run and its text but no result; the results, and the chapter's expectation without
    /// its own "Measured on" figures, close the page. A byte-pair run's closing table adds bits per character.
    @Test func theResultsCloseThePage() throws {
        let json = #"{"parameterCount": 931584, "steps": 5000, "tokensSeen": 3840000, "finalTrainLoss": 2.5, "finalValLoss": 2.976, "#
            + #""trainTokensPerSecond": 20000, "tokenizer": "bpe", "charactersPerToken": 1.94}"#
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(json.utf8))
        let run = ChapterRun(command: "ch09", output: ["── 1. First ──", "one", "── 2. Second ──", "two"], wallSeconds: 61,
                             machine: "2 cores, AMD EPYC", threads: 2, summary: summary, woven: "today")
        let source = try ChapterSource.parse(chapter.replacingOccurrences(of: "// Expected: nothing much.",
                                                                          with: "// Expected: nothing much. Measured on a VM: 1.23."),
                                             folder: "09-Toy", root: try root())
        let markdown = try Page.render(source, run: run, previous: nil, next: nil, exercises: nil).markdown
        let results = try #require(markdown.range(of: "## What this run measured"))
        #expect(markdown[..<results.lowerBound].contains("on a 2-core AMD EPYC (2 BLAS threads"))
        #expect(!markdown[..<results.lowerBound].contains("2.9760") && !markdown[..<results.lowerBound].contains("Expected"))
        let closing = markdown[results.upperBound...]
        #expect(closing.contains("**Expected** (as the chapter put it before this run): nothing much."))
        #expect(!closing.contains("1.23"))
        #expect(closing.contains("| val bits per character | 2.213 (the val loss / 1.94 characters per token / ln 2) |"))
        #expect(closing.contains("| final loss | train 2.5000, val 2.9760 after 5,000 steps (3,840,000 tokens) (the byte-pair model, nats per token) |"))
    }

    @Test func diffsShowWhatIsGoneThenWhatIsNew() {
        let lines = LineDiff.lines(from: ["a", "b", "c"], to: ["a", "x", "c", "d"]).map(\.text)
        #expect(lines == [" a", "-b", "+x", " c", "+d"])
    }

    @Test func findsDeclarationsByTheirNames() {
        let source = "extension Tensor {\n    /// Runs it.\n    @discardableResult\n    public func backward(seed: [Float]? = nil) {\n        body()\n    }\n}\npublic let constant = 3\n"
        #expect(Declarations.find("Tensor.backward", in: source) == "/// Runs it.\n@discardableResult\npublic func backward(seed: [Float]? = nil) {\n    body()\n}")
        #expect(Declarations.find("constant", in: source) == "public let constant = 3")
        #expect(Declarations.find("Tensor.forward", in: source) == nil)
        // A member declared in a later extension of the type is found there; the type alone stays whole.
        let split = "final class Linear {\n    let weight = 1\n}\n\nextension Linear {\n    func decode() {}\n}\n"
        #expect(Declarations.find("Linear.decode", in: split) == "func decode() {}")
        #expect(Declarations.find("Linear", in: split) == "final class Linear {\n    let weight = 1\n}")
        #expect(Declarations.find("Linear.encode", in: split) == nil)
        // C: a definition with its comment, a macro to its last continued line; prototypes and calls are not.
        let c = "// The sum.\nfloat sum(const float *x, int n);\nAVX2 static float sum(const float *x,\n                       int n) {\n    return dot(x, n);\n}\n#define TWICE(X) \\\n    (2 * (X))\nint after;\n"
        #expect(Declarations.findC("sum", in: c) == "AVX2 static float sum(const float *x,\n                       int n) {\n    return dot(x, n);\n}")
        #expect(Declarations.findC("TWICE", in: c) == "#define TWICE(X) \\\n    (2 * (X))")
        #expect(Declarations.findC("dot", in: c) == nil)
    }

    @Test func bookLinksPointAtTheBooksFiles() {
        let page = "[← x](../01-Bigram/README.md) · [all chapters](../../README.md#the-chapters) · [`f`](../../Sources/A.swift)"
        #expect(Book.bookMarkdown(page) == "[← x](01-Bigram.html) · [all chapters](index.html) · [`f`](../Sources/A.swift)")
    }

    @Test func findsOneOverloadByItsArgumentLabels() {
        let source = "struct Config {\n    init(width: Int) { self.width = width }\n    /// From settings.\n    init(_ settings: Settings, vocabularySize: Int) {\n        self.init(width: 1)\n    }\n}\n"
        #expect(Declarations.find("Config.init", in: source) == "init(width: Int) { self.width = width }")
        #expect(Declarations.find("Config.init(_:vocabularySize:)", in: source)
                == "/// From settings.\ninit(_ settings: Settings, vocabularySize: Int) {\n    self.init(width: 1)\n}")
        #expect(Declarations.find("Config.init(height:)", in: source) == nil)
    }

    /// A member is found by its name even when an earlier member's body declares a local of the same name.
    @Test func findsAMemberNotALocalOfTheSameName() {
        let source = "extension Model {\n    func stream() {\n        let next = 1\n    }\n\n    func next() -> Int {\n        2\n    }\n}\n"
        #expect(Declarations.find("Model.next", in: source) == "func next() -> Int {\n    2\n}")
    }

    @Test func findsADeclarationWhoseResultTypeIsOnTheNextLine() {
        let source = "func measured<L>(_ x: Stack<L>, on batch: Batch)\n    -> (spread: [Float], say: Float) {\n    (x.s, 1)\n}\nfunc other() {}\n"
        #expect(Declarations.find("measured", in: source)
                == "func measured<L>(_ x: Stack<L>, on batch: Batch)\n    -> (spread: [Float], say: Float) {\n    (x.s, 1)\n}")
    }

    @Test func leavesALaterChaptersLinesOutOfEarlierPages() {
        let code = "func f(_ x: Int) -> Int {\n    if quantized { return g(x) }   // later, chapter 08: int8 weights\n    return x\n}"
        #expect(Declarations.leavingOutLaterChapters(code, onPageOf: "02")
                == "func f(_ x: Int) -> Int {\n    // (one line of chapter 08's, left out here: int8 weights)\n    return x\n}")
        let shown = "func f(_ x: Int) -> Int {\n    if quantized { return g(x) }   // chapter 08: int8 weights\n    return x\n}"
        #expect(Declarations.leavingOutLaterChapters(code, onPageOf: "08") == shown)    // its own chapter shows it
        #expect(Declarations.leavingOutLaterChapters(code, onPageOf: "08a") == shown)   // and so does every later page
        #expect(Declarations.leavingOutLaterChapters(code, onPageOf: "05b").contains("left out here"))
        #expect(Declarations.leavingOutLaterChapters("let a = 1   // later", onPageOf: "01") == "let a = 1   // later")
    }

    @Test func theBookIndexTakesEachChaptersIdeaFromTheReadmeTable() {
        let readme = "| run | chapter | the one idea | val loss |\n|---|---|---|---:|\n"
            + "| `ch02` | [Self-attention](Chapters/02-SelfAttention/README.md) | one `Head` of self-attention | 2.3189 |\n"
            + "| `compare` | [Compare](Sources/Compare/main.swift) | every chapter in one plot | |\n"
        #expect(Book.chapterIdeas(readme: readme) == ["02-SelfAttention": "one `Head` of self-attention"])
    }
}
