import FileFormats
import Foundation
import TensorCore
import Testing
@testable import TextData

/// A small English text the tests train on (written for these tests).
let trainingText = String(repeating: """
    The cat sat on the mat. The dog didn't sit; it ran to the gate, and then it's gone!
    We'll see 12 cats and 345 dogs by the old gate, they've said, at 10:30 in the morning.

    """, count: 20)

/// Random strings over ASCII, accented Latin, combining marks, CJK, emoji (with skin tones and ZWJ
/// sequences), whitespace and control characters.
func randomUnicode(_ random: SeededRandom, length: Int) -> String {
    let pools: [[UInt32]] = [
        Array(32...126), [9, 10, 13, 0, 127], Array(0xC0...0xFF), Array(0x300...0x36F),   // ASCII, controls, Latin-1, combining
        Array(0x4E00...0x4E40), Array(0x1F600...0x1F64F), [0x200D, 0x1F3FD, 0xFE0F],      // CJK, emoji, ZWJ + modifiers
        [0x10FFFF, 0xFFFD, 0x0627, 0x05D0, 0x0E01],                                      // the last scalar, RTL, Thai
    ]
    var scalars = String.UnicodeScalarView()
    for _ in 0..<length {
        let pool = pools[random.integer(below: pools.count)]
        scalars.append(Unicode.Scalar(pool[random.integer(below: pool.count)])!)
    }
    return String(scalars)
}

@Suite("Byte-pair encoding: training, encoding, round trips, saving")
struct BytePairTokenizerTests {
    @Test func theWorkedExampleFromTheDocComment() throws {
        let tokenizer = try BytePairTokenizer.train(on: "aaabdaaabac", vocabularySize: 259)
        #expect(tokenizer.merges == [TokenPair(97, 97), TokenPair(97, 98), TokenPair(256, 257)])
        #expect(tokenizer.encode("aaabdaaabac") == [258, 100, 258, 97, 99])
        #expect(tokenizer.encode("aaab") == [258])
        #expect(tokenizer.decode([258]) == "aaab")
        #expect(tokenizer.tokenBytes[258] == Array("aaab".utf8))
    }

    @Test func chapter06sTracesOfMergesInTheLinkedList() {
        // Chapter 06's page traces MergeableChunks.merge twice; the first on [1, 2, 3, 1, 2], merging (1, 2) into 4.
        var chunks = MergeableChunks(chunks: [[UInt8]([1, 2, 3, 1, 2])], countPairs: true)
        #expect(chunks.tokens == [1, 2, 3, 1, 2])
        #expect(chunks.pairCounts == [TokenPair(1, 2): 2, TokenPair(2, 3): 1, TokenPair(3, 1): 1])
        chunks.merge(TokenPair(1, 2), into: 4)
        #expect(chunks.tokens == [4, -1, 3, 4, -1])                                   // positions 1 and 4 unlinked
        #expect(chunks.pairCounts == [TokenPair(4, 3): 1, TokenPair(3, 4): 1])
        #expect(chunks.tokens(ofChunk: 0) == [4, 3, 4])                               // read along `next`
        #expect(chunks.mostFrequentPair() == TokenPair(3, 4))                         // a tie: 3 < 4

        // Its second trace: on [1, 1, 1], (1, 1) is listed at positions 0 and 1; the merge at 0 leaves 1 stale.
        var overlapping = MergeableChunks(chunks: [[UInt8]([1, 1, 1])], countPairs: true)
        #expect(overlapping.pairCounts == [TokenPair(1, 1): 2])
        overlapping.merge(TokenPair(1, 1), into: 5)
        #expect(overlapping.tokens == [5, -1, 1])                                      // position 1 unlinked, then skipped
        #expect(overlapping.pairCounts == [TokenPair(5, 1): 1])
        #expect(overlapping.tokens(ofChunk: 0) == [5, 1])
        #expect(PlainBytePairs.merge([1, 1, 1], TokenPair(1, 1), into: 5) == [5, 1])
    }

    @Test func tiesGoToTheLowestPairSoTrainingIsDeterministic() throws {
        // Every pair of "dcba" occurs once: the lowest, (98 'b', 97 'a'), wins; then (99, 256), then (100, 257).
        let tokenizer = try BytePairTokenizer.train(on: "dcba", vocabularySize: 300)
        #expect(tokenizer.merges == [TokenPair(98, 97), TokenPair(99, 256), TokenPair(100, 257)])
        #expect(tokenizer.vocabularySize == 259)   // stopped early: no pairs left
        for split in PreSplit.allCases {
            let first = try BytePairTokenizer.train(on: trainingText, vocabularySize: 320, preSplit: split)
            let second = try BytePairTokenizer.train(on: trainingText, vocabularySize: 320, preSplit: split)
            #expect(first == second)
        }
    }

    @Test(arguments: PreSplit.allCases)
    func incrementalTrainingMakesTheSameMergesAsRecountingEveryTime(split: PreSplit) throws {
        let random = SeededRandom(seed: 6)
        let texts = [trainingText, "aaaaaaaaaa", "abababab aaaa bbbb", String(trainingText.prefix(500)) + randomUnicode(random, length: 200)]
        for text in texts {
            let fast = try BytePairTokenizer.train(on: text, vocabularySize: 300, preSplit: split)
            #expect(fast.merges == PlainBytePairs.train(text, vocabularySize: 300, preSplit: split), "\(text.prefix(20).debugDescription)")
        }
    }

    @Test(arguments: PreSplit.allCases)
    func encodingReplaysMergesLikeTheNaiveEncoder(split: PreSplit) throws {
        let tokenizer = try BytePairTokenizer.train(on: trainingText, vocabularySize: 400, preSplit: split)
        let random = SeededRandom(seed: 7)
        var samples = ["", "the cat", "aaaa", "The gate's gone, didn't it?", String(trainingText.prefix(300))]
        let characters = Array(trainingText)
        for _ in 0..<50 {   // random pieces of the training text, and random strings of its characters
            let start = random.integer(below: characters.count - 100)
            samples.append(String(characters[start..<(start + random.integer(below: 100))]))
            samples.append(String((0..<random.integer(below: 40)).map { _ in characters[random.integer(below: characters.count)] }))
        }
        for text in samples {
            #expect(tokenizer.encode(text) == PlainBytePairs.encode(text, merges: tokenizer.merges, preSplit: split))
        }
        #expect(tokenizer.encode(trainingText).count < trainingText.utf8.count / 2)   // merges do compress
    }

    @Test(arguments: PreSplit.allCases)
    func anyStringSurvivesTheRoundTrip(split: PreSplit) throws {
        let tokenizer = try BytePairTokenizer.train(on: trainingText + "naïve café 世界 🙂👋🏽 e\u{301}", vocabularySize: 400, preSplit: split)
        let random = SeededRandom(seed: 8)
        var samples = ["", "\0", "e\u{301}\u{302}", "👨‍👩‍👧‍👦 family", "漢字かな交じり文", "🇫🇷🇯🇵", "\r\n\t  ", "\u{10FFFF}"]
        for _ in 0..<300 { samples.append(randomUnicode(random, length: random.integer(below: 60))) }
        for text in samples {
            let tokens = tokenizer.encode(text)
            #expect(tokenizer.decode(tokens) == text, "\(text.debugDescription)")
            #expect(tokens.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) })
        }
    }

    @Test func gpt2PreSplitKeepsLettersDigitsAndPunctuationApart() {
        // Each expected list is what GPT-2's regex (Python `regex` module) gives for the same string.
        let cases: [(String, [String])] = [
            ("Hello world", ["Hello", " world"]),
            ("I'm don't we'll they've you're he'd it's",
             ["I", "'m", " don", "'t", " we", "'ll", " they", "'ve", " you", "'re", " he", "'d", " it", "'s"]),
            ("  hi  there\n\nyou", [" ", " hi", " ", " there", "\n", "\n", "you"]),
            ("123 4567 x2 ", ["123", " 4567", " x", "2", " "]),
            ("hello!!! ?? ok", ["hello", "!!!", " ??", " ok"]),
            ("naïve café 世界 🙂 ok", ["naïve", " café", " 世界", " 🙂", " ok"]),
            ("'hello' 'S", ["'", "hello", "'", " '", "S"]),
            ("tab\there  \t end   ", ["tab", "\t", "here", "  \t", " end", "   "]),
        ]
        for (text, expected) in cases {
            let bytes = Array(text.utf8)
            let chunks = PreSplit.gpt2.chunks(text).map { String(decoding: bytes[$0], as: UTF8.self) }
            #expect(chunks == expected)
        }
        #expect(PreSplit.none.chunks("a b") == [0..<3])
        #expect(PreSplit.gpt2.chunks("").isEmpty)
    }

    /// 4,000 random characters (unusual whitespace, combining marks, emoji, other numbers, quotes) cut by
    /// Python's `regex` module with GPT-2's pattern: our scanner must cut them identically.
    @Test func gpt2PreSplitMatchesTheRegexOnRandomUnicode() throws {
        struct Fixture: Decodable { let text: String; let chunks: [String] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gpt2-presplit.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let bytes = Array(fixture.text.utf8)
        let ours = PreSplit.gpt2.chunks(fixture.text).map { String(decoding: bytes[$0], as: UTF8.self) }
        #expect(fixture.chunks.count > 2000 && ours.count == fixture.chunks.count)
        let firstDifference = zip(ours, fixture.chunks).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(firstDifference == nil, "chunk \(firstDifference?.offset ?? 0): \(firstDifference.map { "\($0.element.0.debugDescription) vs \($0.element.1.debugDescription)" } ?? "")")
    }

    @Test func preSplitMergesNeverCrossAChunk() throws {
        // Inside a GPT-2 chunk a space can only come first ("' cat'"), or the chunk is all whitespace.
        func crossesAWord(_ bytes: [UInt8]) -> Bool { bytes.contains { $0 != 32 } && bytes.dropFirst().contains(32) }
        let split = try BytePairTokenizer.train(on: trainingText, vocabularySize: 400, preSplit: .gpt2)
        #expect(!split.tokenBytes.contains(where: crossesAWord))
        let unsplit = try BytePairTokenizer.train(on: trainingText, vocabularySize: 400, preSplit: .none)
        #expect(unsplit.tokenBytes.contains(where: crossesAWord))
        // And encoding is chunk by chunk: the text's tokens are its chunks' tokens, joined.
        let bytes = Array(trainingText.utf8)
        let chunkByChunk = PreSplit.gpt2.chunks(trainingText).flatMap { split.encode(String(decoding: bytes[$0], as: UTF8.self)) }
        #expect(split.encode(trainingText) == chunkByChunk)
    }

    @Test func savedAndLoadedTokenizersAreEqual() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bpe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("tokenizer.json")
        let tokenizer = try BytePairTokenizer.train(on: trainingText, vocabularySize: 300, preSplit: .gpt2)
        try tokenizer.save(to: file)
        let loaded = try BytePairTokenizer.load(from: file)
        #expect(loaded == tokenizer)
        #expect(loaded.encode(trainingText) == tokenizer.encode(trainingText))

        let corrupt: [(String, String)] = [
            ("not json", "not a tokenizer: expected"),
            (#"{"format":"nanogpt-swift-bpe","format":"x","version":1,"preSplit":"none","merges":[]}"#, #"key "format" appears twice"#),
            (#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"none","merges":[[256,256]]}"#, "only tokens 0...255 exist"),
            (#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"none","merges":[[97,300]]}"#, "only tokens 0...255 exist"),
            (#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"none","merges":[[97]]}"#, "has 1 ids, not 2"),
            (#"{"format":"nanogpt-swift-bpe","version":2,"preSplit":"none","merges":[]}"#, "version 2 is not supported"),
            (#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"gpt4","merges":[]}"#, "preSplit: Cannot initialize PreSplit"),
            (#"{"type":"char","characters":["a","b"]}"#, "not a BPE tokenizer file"),
            // Each merge doubles the last token: 30 of them would spell 2 GB.
            (#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"none","merges":[[97,97]"#
                + (0..<29).map { ",[\(256 + $0),\(256 + $0)]" }.joined() + "]}", "spell more than 67108864 bytes"),
            (#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"none","merges":[[-1,5]]}"#, "only tokens 0...255 exist"),
        ]
        for (content, message) in corrupt {
            try AtomicFile.write(content, to: file)
            #expect { try BytePairTokenizer.load(from: file) } throws: { error in
                String(describing: error).contains(message)
            }
        }
        // A value quoted back in the message holds a line break (\r\n is one Character): still one line.
        try AtomicFile.write(#"{"format":"nanogpt-swift-bpe","version":1,"preSplit":"a\r\nb","merges":[]}"#, to: file)
        #expect { try BytePairTokenizer.load(from: file) } throws: { error in
            !"\(error)".contains(where: \.isNewline) && "\(error)".contains("preSplit")
        }
        #expect(throws: TextDataError.self) { try BytePairTokenizer.load(from: folder.appendingPathComponent("missing.json")) }
        #expect(throws: TextDataError.self) { try BytePairTokenizer.train(on: "abc", vocabularySize: 100) }
    }

    @Test func tokensAreDisplayedReadably() throws {
        let tokenizer = try BytePairTokenizer.train(on: "e e e e ", vocabularySize: 257)
        #expect(tokenizer.merges == [TokenPair(101, 32)])
        #expect(tokenizer.display(256) == "'e '")
        #expect(tokenizer.display(10) == #"'\n'"#)
        #expect(BytePairTokenizer.display(bytes: [0x68, 0xc3]) == "'h<c3>'")
        #expect(BytePairTokenizer.display(bytes: [0xa9, 0x21]) == "'<a9>!'")
        #expect(BytePairTokenizer.display(bytes: Array("é".utf8)) == "'é'")
    }
}

@Suite("Streaming text out of tokens without broken characters")
struct StreamingDecoderTests {
    @Test func bytesWaitUntilTheirCharacterIsComplete() {
        var decoder = UTF8StreamDecoder()
        #expect(decoder.append([0x68, 0xc3]) == "h")
        #expect(decoder.hasPendingBytes)
        #expect(decoder.append([0xa9]) == "é")
        #expect(decoder.append([0xf0, 0x9f]) == "")
        #expect(decoder.append([0x99]) == "")
        #expect(decoder.append([0x82, 0x21]) == "🙂!")
        #expect(decoder.append([0x80]) == "\u{FFFD}")           // a stray continuation byte does not block the stream
        #expect(decoder.append([0xe4, 0xb8]) == "")
        #expect(decoder.finish() == "\u{FFFD}")                 // cut off at the end
        #expect(!decoder.hasPendingBytes)
    }

    @Test func randomTextFedOneByteAtATimeComesOutWhole() {
        let random = SeededRandom(seed: 9)
        for _ in 0..<200 {
            let text = randomUnicode(random, length: 40)
            var decoder = UTF8StreamDecoder()
            var pieces: [String] = []
            for byte in text.utf8 { pieces.append(decoder.append([byte])) }
            pieces.append(decoder.finish())
            #expect(pieces.joined() == text)
            #expect(!pieces.joined().unicodeScalars.contains("\u{FFFD}") || text.unicodeScalars.contains("\u{FFFD}"))
        }
    }

    @Test func tokensThatSplitCharactersStreamCleanly() throws {
        // Trained on emoji and accents, so some merges end inside a character.
        let corpus = String(repeating: "héllo 👋🏽 世界 café ", count: 30)
        let tokenizer = Tokenizer.bytePairs(try BytePairTokenizer.train(on: corpus, vocabularySize: 290))
        let text = "héllo 👋🏽, 世界 café! 🙂"
        let tokens = try tokenizer.encode(text)
        #expect(tokens.contains { token in String(bytes: tokenizer.bytes(of: token), encoding: .utf8) == nil },
                "the test needs a token that is not whole characters")
        var decoder = tokenizer.streamingDecoder()
        var pieces = tokens.map { decoder.text(after: $0) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { !$0.unicodeScalars.contains("\u{FFFD}") })
    }

    @Test func tokenizersRoundTripThroughJSON() throws {
        for tokenizer in [Tokenizer.characters(CharacterTokenizer(training: "hello")),
                          .bytePairs(try BytePairTokenizer.train(on: trainingText, vocabularySize: 270, preSplit: .gpt2))] {
            let data = try JSONEncoder().encode(tokenizer)
            #expect(try JSONDecoder().decode(Tokenizer.self, from: data) == tokenizer)
        }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(Tokenizer.self, from: Data(#"{"type":"wordpiece"}"#.utf8)) }
    }
}
