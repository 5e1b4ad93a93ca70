import Foundation
import Checkpoints
import NanoGPT
import TensorCore
import Testing
import TextData

@Suite("Checkpoint fuzzing: random corruptions load cleanly or fail cleanly")
struct CheckpointFuzzTests {
    @Test func thousandsOfCorruptionsNeverCrash() throws {
        let tokenizer = Tokenizer.characters(CharacterTokenizer(training: "abc defg\n"))
        let model = NanoGPT(GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 4, embeddingSize: 8,
                                      heads: 2, layers: 1), seed: 3)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try Checkpoint.save(model, tokenizer: tokenizer, step: 1, to: folder)
        let good = try Data(contentsOf: folder.appendingPathComponent(Checkpoint.weightsFile))
        let headerEnd = 8 + Int(good.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        _ = try Checkpoint.load(data: good)   // the original loads

        let random = SeededRandom(seed: 2024)
        var loaded = 0, refused = 0, overflowsRefused = 0
        // Header edits that keep the JSON readable but change what it says.
        let edits: [(String, String)] = [("\"F32\"", "\"F64\""), ("[8]", "[9]"), ("[8]", "[-8]"), ("\"shape\"", "\"shapes\""),
                                         ("data_offsets", "data_offset"), ("\\\"layers\\\":1", "\\\"layers\\\":99999999999"),
                                         ("\\\"blockSize\\\":4", "\\\"blockSize\\\":0"), ("\\\"heads\\\":2", "\\\"heads\\\":0"),
                                         ("\\\"vocabularySize\\\":", "\\\"vocabularySize\\\":1"), ("\\\"char\\\"", "\\\"bpe\\\""),
                                         ("\"1\"", "\"2\""), (":[0,", ":[4,"), ("\\\"a\\\"", "\\\"ab\\\""), ("\\\"a\\\"", "\\\"b\\\""),
                                         // Sizes that overflow: 2^62 + 1 floats (x 4 bytes wraps to 4), Int.max, past Int.
                                         ("\"shape\":[", "\"shape\":[2147418113,2147549185,"), ("\"shape\":[", "\"shape\":[9223372036854775807,"),
                                         ("\"data_offsets\":[0,", "\"data_offsets\":[0,99999999999999999999"),
                                         ("\"data_offsets\":[", "\"data_offsets\":[-9223372036854775807,")]
        for trial in 0..<3000 {
            var bytes = good
            switch trial % 4 {
            case 0:   // truncate anywhere
                bytes = bytes.prefix(random.integer(below: bytes.count))
            case 1:   // flip a few random bits, often inside the header
                for _ in 0..<(1 + random.integer(below: 4)) {
                    let index = random.integer(below: random.uniform() < 0.7 ? headerEnd : bytes.count)
                    bytes[index] ^= UInt8(1 << random.integer(below: 8))
                }
            case 2:   // edit a value in the header (the length prefix is fixed up to match)
                let (from, to) = edits[random.integer(below: edits.count)]
                var header = String(decoding: bytes.subdata(in: 8..<headerEnd), as: UTF8.self)
                if let range = header.range(of: from) { header.replaceSubrange(range, with: to) }
                var newHeader = Data(header.utf8)
                while newHeader.count % 8 != 0 { newHeader.append(0x20) }
                var prefix = Data()
                withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { prefix.append(contentsOf: $0) }
                bytes = prefix + newHeader + bytes.suffix(from: headerEnd)
            default:   // overwrite the length prefix with a random value
                let value = random.next() >> UInt64(random.integer(below: 64))
                for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            }
            do {
                let checkpoint = try Checkpoint.load(data: bytes)
                loaded += 1
                // Whatever loaded must be usable: a forward pass of the right shape.
                let logits = checkpoint.model.logits([0], batchSize: 1, length: 1, training: false)
                #expect(logits.shape == [1, 1, checkpoint.model.vocabularySize])
            } catch {
                refused += 1
                #expect(!"\(error)".isEmpty && !"\(error)".contains("\n"))
                if "\(error)".contains("more elements than any file can hold") { overflowsRefused += 1 }
            }
        }
        #expect(loaded + refused == 3000)
        #expect(refused > 1500 && loaded > 20, "loaded \(loaded), refused \(refused)")   // both outcomes actually happen
        #expect(overflowsRefused > 10, "the overflowing shapes were never produced (\(overflowsRefused))")
    }
}
