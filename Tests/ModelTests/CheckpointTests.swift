import Foundation
import NanoGPT
import TensorCore
import Testing
import TextData

@Suite("Checkpoints: safetensors round trip and files we did not write")
struct CheckpointTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    @Test func aSavedModelLoadsBackIdentically() throws {
        let tokenizer = Tokenizer.characters(CharacterTokenizer(training: "hello, world\n"))
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 8, embeddingSize: 8, headCount: 2, layerCount: 2)
        let model = NanoGPT(config, seed: 42)
        try Checkpoint.save(model, tokenizer: tokenizer, step: 123, to: folder)
        let checkpoint = try Checkpoint.load(from: folder)
        let (loaded, loadedTokenizer, step) = (checkpoint.model, checkpoint.tokenizer, checkpoint.step)
        #expect(step == 123 && loadedTokenizer == tokenizer && loaded.config == config)
        for ((name, a), (otherName, b)) in zip(model.namedParameters, loaded.namedParameters) {
            #expect(name == otherName && a.values == b.values)
        }
        let ids = try tokenizer.encode("hello")
        #expect(model.logits(ids, batchSize: 1, length: 5, training: false).values
                == loaded.logits(ids, batchSize: 1, length: 5, training: false).values)
    }

    @Test func aBytePairCheckpointCarriesItsMerges() throws {
        let text = String(repeating: "the theme of the thesis, then the end. ", count: 10) + "café 🙂"
        let tokenizer = Tokenizer.bytePairs(try BytePairTokenizer.train(on: text, vocabularySize: 280, preSplit: .gpt2))
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 8, embeddingSize: 8, headCount: 2, layerCount: 1)
        try Checkpoint.save(NanoGPT(config, seed: 1), tokenizer: tokenizer, step: 5, to: folder)
        let checkpoint = try Checkpoint.load(from: folder)
        #expect(checkpoint.tokenizer == tokenizer)
        #expect(checkpoint.tokenizer.decode(try checkpoint.tokenizer.encode(text)) == text)

        // A merge that refers to a token not yet made, or merges that do not match the model's vocabulary, are refused.
        let file = folder.appendingPathComponent(Checkpoint.weightsFile)
        var (tensors, metadata) = try SafeTensors.decode(try Data(contentsOf: file))
        let entries = tensors.map { ($0.key, Tensor(shape: $0.value.shape, values: $0.value.values)) }
        let original = metadata["tokenizer"]!
        metadata["tokenizer"] = original.replacingOccurrences(of: "\"merges\":[", with: "\"merges\":[[300,1],")
        #expect { try Checkpoint.load(data: try SafeTensors.encode(entries, metadata: metadata)) } throws: {
            "\($0)".contains("only tokens 0...255 exist")
        }
        metadata["tokenizer"] = original.replacingOccurrences(of: "\"merges\":[", with: "\"merges\":[[1,2],")
        #expect { try Checkpoint.load(data: try SafeTensors.encode(entries, metadata: metadata)) } throws: {
            "\($0)".contains("the tokenizer has \(tokenizer.vocabularySize + 1) tokens but the model's vocabulary is \(tokenizer.vocabularySize)")
        }
    }

    /// A safetensors file assembled byte by byte here, the way another writer (PyTorch's) might lay it out:
    /// different key order, no padding, metadata last.
    @Test func aFileOurWriterDidNotMakeIsRead() throws {
        let header = #"{"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}"#
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data(header.utf8))
        for value: Float in [1.5, -2, 0.25, 1e-3] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let (tensors, metadata) = try SafeTensors.decode(bytes)
        #expect(metadata == ["k": "v"])
        #expect(tensors["a"] == SafeTensors.Entry(shape: [1, 2], values: [1.5, -2]))
        #expect(tensors["b"] == SafeTensors.Entry(shape: [2], values: [0.25, 1e-3]))
    }

    @Test func ourFilesFollowTheFormat() throws {
        let tensor = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let data = try SafeTensors.encode([("x", tensor)], metadata: ["step": "7"])
        let headerLength = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect((8 + headerLength) % 8 == 0)
        #expect(data.count == 8 + headerLength + 24)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let entry = header["x"] as! [String: Any]
        #expect(entry["dtype"] as? String == "F32" && entry["shape"] as? [Int] == [2, 3] && entry["data_offsets"] as? [Int] == [0, 24])
        #expect((header["__metadata__"] as? [String: String]) == ["step": "7"])
    }

    @Test func malformedFilesGiveClearErrors() throws {
        func message(_ data: Data) -> String {
            do { _ = try SafeTensors.decode(data); return "no error" } catch { return "\(error)" }
        }
        func file(_ header: String, payload: Int = 8) -> Data {
            var bytes = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            return bytes + Data(header.utf8) + Data(count: payload)
        }
        #expect(message(Data([1, 2])).contains("too short"))
        #expect(message(Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 1])).contains("larger than the file"))
        #expect(message(file("not json")).contains("not a JSON object"))
        #expect(message(file(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#)).contains("dtype F16 is not supported"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#)).contains("outside"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#)).contains("needs 3 floats"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#)).contains("shape"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[true,8]}}"#)).contains("data_offsets"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)) == "no error")
    }

    @Test func checkpointsThatContradictTheirConfigAreRefused() throws {
        let config = GPTConfig(vocabularySize: 6, blockSize: 4, embeddingSize: 8, headCount: 2, layerCount: 1)
        let model = NanoGPT(config, seed: 1)
        func save(_ tensors: [(String, Tensor)], config: GPTConfig, version: String = "1") throws -> URL {
            let target = folder.appendingPathComponent(UUID().uuidString)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let metadata = ["format_version": version, "step": "1",
                            "config": String(decoding: try JSONEncoder().encode(config), as: UTF8.self),
                            "tokenizer": #"{"type":"char","characters":["a","b","c","d","e","f"]}"#]
            try SafeTensors.encode(tensors, metadata: metadata).write(to: target.appendingPathComponent("model.safetensors"))
            return target
        }
        func message(_ url: URL) -> String {
            do { _ = try Checkpoint.load(from: url); return "no error" } catch { return "\(error)" }
        }
        #expect(message(try save(model.namedParameters, config: config)) == "no error")
        #expect(message(try save(model.namedParameters, config: config, version: "99")).contains("format version 99 is not supported"))
        #expect(message(try save(Array(model.namedParameters.dropLast()), config: config)).contains("lm_head.bias"))
        let extra = model.namedParameters + [("blocks.9.ln1.bias", Tensor.zeros([8]))]
        #expect(message(try save(extra, config: config)).contains("blocks.9.ln1.bias"))
        var wrongHeads = config
        wrongHeads.headCount = 4   // same total size, different per-head shapes
        // Four heads of 2 instead of two heads of 4: the per-head tensors no longer match.
        let wrongHeadsMessage = message(try save(model.namedParameters, config: wrongHeads))
        #expect(wrongHeadsMessage.contains("blocks.0.sa.heads.0.key.weight has shape [4, 8] but the config needs [2, 8]"))
        var indivisible = config
        indivisible.headCount = 3
        #expect(message(try save(model.namedParameters, config: indivisible)).contains("not divisible"))
        var huge = config
        huge.layerCount = 1_000_000_000
        #expect(message(try save(model.namedParameters, config: huge)).contains("missing tensor blocks.1."))
        #expect(message(folder.appendingPathComponent("nowhere")).contains("checkpoint not found"))
    }
}
