import FileFormats
import Foundation
import TensorCore
import Testing
@testable import TextData

@Suite("Corpus files, the character tokenizer and batches")
struct TextDataTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("text-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    func write(_ data: Data, _ name: String) -> String {
        let url = folder.appendingPathComponent(name)
        FileManager.default.createFile(atPath: url.path, contents: data)
        return url.path
    }

    @Test func encodeThenDecodeGivesTheTextBack() throws {
        let text = "First Citizen:\nBefore we proceed, héllo — ünïcode 漢字 🙂\r\n"
        let tokenizer = CharacterTokenizer(training: text)
        #expect(tokenizer.decode(try tokenizer.encode(text)) == text)
        #expect(tokenizer.vocabularySize == Set(text.unicodeScalars).count)
        #expect(tokenizer.characters.map { $0.unicodeScalars.first!.value } == tokenizer.characters.map { $0.unicodeScalars.first!.value }.sorted())
    }

    @Test func idsFollowSortedCharacterOrder() throws {
        let tokenizer = CharacterTokenizer(training: "hello world")
        #expect(tokenizer.characters == [" ", "d", "e", "h", "l", "o", "r", "w"])
        #expect(try tokenizer.encode("hello") == [3, 2, 4, 4, 5])
    }

    @Test func unknownCharactersAreNamed() {
        let tokenizer = CharacterTokenizer(training: "abc")
        #expect(throws: TextDataError.self) { try tokenizer.encode("abz!") }
        do { _ = try tokenizer.encode("abz!z") } catch {
            #expect("\(error)".contains("\"z\"") && "\(error)".contains("\"!\"") && "\(error)".contains("2 character(s)"))
        }
    }

    @Test func aTokenizerSurvivesJSON() throws {
        let tokenizer = CharacterTokenizer(training: "to be, or not\n")
        let decoded = try JSONDecoder().decode(CharacterTokenizer.self, from: JSONEncoder().encode(tokenizer))
        #expect(decoded == tokenizer)
        #expect(try decoded.encode("not to be") == tokenizer.encode("not to be"))
    }

    @Test func badFilesAreRefusedWithAClearMessage() {
        func message(_ path: String) -> String {
            do { _ = try Corpus.readText(at: path); return "no error" } catch { return "\(error)" }
        }
        #expect(message(folder.appendingPathComponent("missing.txt").path).hasPrefix("data file not found"))
        #expect(message(write(Data(), "empty.txt")).hasPrefix("data file is empty"))
        #expect(message(write(Data([0x61, 0x62, 0xFF, 0x63]), "latin.txt")).contains("not valid UTF-8 (first bad byte at offset 2)"))
        #expect(message(folder.path).contains("is a folder"))
        #expect(message(write(Data("fine".utf8), "fine.txt")) == "no error")
    }

    @Test func theSplitIsNinetyTenAndTooShortTextIsRefused() throws {
        let dataset = try TokenDataset(tokens: Array(0..<1000), blockSize: 8)
        #expect(dataset.train == Array(0..<900) && dataset.val == Array(900..<1000))
        #expect(throws: TextDataError.self) { try TokenDataset(tokens: Array(0..<50), blockSize: 8) }
        #expect(throws: TextDataError.self) { try TokenDataset(tokens: Array(0..<1000), blockSize: 0) }
    }

    @Test func tokenizersAreComparedOnTheSameValidationText() throws {
        let text = String(repeating: "To be, or not to be: that is the question. Whether 'tis nobler in the mind\n", count: 40)
        let characters = Tokenizer.characters(CharacterTokenizer(training: text))
        let byCharacters = try TokenDataset(text: text, tokenizer: characters, blockSize: 8)
        let byTokens = try TokenDataset(tokens: try characters.encode(text), blockSize: 8)
        #expect(byCharacters.train == byTokens.train && byCharacters.val == byTokens.val)   // the same split as before
        #expect(byCharacters.charactersPerToken(in: .val) == 1 && byTokens.charactersPerToken(in: .val) == nil)

        let pairs = Tokenizer.bytePairs(try BytePairTokenizer.train(on: TokenDataset.trainingText(of: text), vocabularySize: 300))
        let byPairs = try TokenDataset(text: text, tokenizer: pairs, blockSize: 8)
        #expect(pairs.decode(byPairs.val) == characters.decode(byCharacters.val))   // the very same validation text
        let valCharacters = Double(byCharacters.val.count)
        #expect(byPairs.charactersPerToken(in: .val) == valCharacters / Double(byPairs.val.count))
        #expect(byPairs.charactersPerToken(in: .val)! > 2)
        #expect(TokenDataset.trainingText(of: text).unicodeScalars.count == byCharacters.train.count)
    }

    @Test func targetsAreTheInputsShiftedByOne() throws {
        let dataset = try TokenDataset(tokens: Array(0..<1000), blockSize: 8)
        let batch = dataset.batch(.train, batchSize: 4, blockSize: 8, random: SeededRandom(seed: 1))
        #expect(batch.inputs.count == 32 && batch.targets.count == 32)
        for i in 0..<32 { #expect(batch.targets[i] == batch.inputs[i] + 1) }   // tokens are consecutive ints here
        #expect(batch.inputs.allSatisfy { $0 < 900 })
        let again = dataset.batch(.train, batchSize: 4, blockSize: 8, random: SeededRandom(seed: 1))
        #expect(again.inputs == batch.inputs)
        let val = dataset.batch(.val, batchSize: 4, blockSize: 8, random: SeededRandom(seed: 1))
        #expect(val.inputs.allSatisfy { $0 >= 900 } && val.targets.allSatisfy { $0 < 1000 })
    }

    @Test func atomicWritesReplaceTheWholeFile() throws {
        let url = folder.appendingPathComponent("out.txt")
        try AtomicFile.write("first version", to: url)
        try AtomicFile.write("second", to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }

    /// A failed write names the step and the system's reason, and leaves no temporary file behind.
    @Test func aFailedAtomicWriteSaysWhyAndLeavesNothingBehind() throws {
        let missing = folder.appendingPathComponent("no-such-folder/out.txt")
        #expect { try AtomicFile.write("x", to: missing) } throws: { "\($0)".contains("No such file or directory") }
        // The rename fails when the target is a folder with something in it.
        let occupied = folder.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try AtomicFile.write("inside", to: occupied.appendingPathComponent("file.txt"))
        #expect { try AtomicFile.write("x", to: occupied) } throws: {
            "\($0)".contains("cannot move the new occupied into place") && "\($0)".contains("directory")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(names.filter { $0.hasSuffix(".tmp") }.isEmpty, "\(names)")
    }

    /// A temporary file left by a killed writer is removed by the next writer, and only then: one of a
    /// live process is left alone.
    @Test func temporaryFilesOfKilledWritersAreCleanedUp() throws {
        let dead = folder.appendingPathComponent(".model.safetensors.4194303.7.tmp")   // above any pid in use here
        let live = folder.appendingPathComponent(".model.safetensors.\(getpid()).99.tmp")
        let other = folder.appendingPathComponent(".notes.tmp")
        let recent = folder.appendingPathComponent(".model.safetensors.4194302.8.tmp")   // dead, but written just now
        let old = Date().addingTimeInterval(-3600)
        for url in [dead, live, other, recent] { _ = FileManager.default.createFile(atPath: url.path, contents: Data("half".utf8)) }
        for url in [dead, live, other] { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: url.path) }
        #expect(AtomicFile.removeLeftovers(in: folder) == 1)
        #expect(FileManager.default.fileExists(atPath: recent.path))
        #expect(!FileManager.default.fileExists(atPath: dead.path))
        #expect(FileManager.default.fileExists(atPath: live.path) && FileManager.default.fileExists(atPath: other.path))
    }

    @Test func aNamedFileIsUsedAsIsWithoutFetching() throws {
        let path = write(Data("my own text".utf8), "own.txt")
        var logged: [String] = []
        #expect(try Corpus.load(path: path, log: { logged.append($0) }) == "my own text")
        #expect(logged.isEmpty)
    }
}
