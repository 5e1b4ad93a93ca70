import Checkpoints
import FileFormats
import Foundation
import NanoGPT
import TensorCore
import Testing
import TextData
import Training

@Suite("Checkpoints: safetensors round trip and files we did not write")
struct CheckpointTests {
    /// A NanoGPT packs its parameters once; a Trainer adopts that arena (no second copy), and a loaded
    /// model's weights are the file's.
    @Test func aTrainerAdoptsTheModelsOwnArena() throws {
        let model = NanoGPT(GPTConfig(vocabularySize: 5, blockSize: 4, embeddingSize: 8, heads: 2, layers: 1), seed: 3)
        let dataset = try TokenDataset(tokens: (0..<200).map { $0 % 5 }, blockSize: 4)
        let settings = Hyperparameters(steps: 1, batchSize: 2, blockSize: 4, embeddingSize: 8, heads: 2, layers: 1,
                                       learningRate: 1e-3, evalInterval: 1, evalIters: 1)
        let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
        #expect(trainer.parameters === model.parameterArena)
        #expect(trainer.parameters.count == model.parameterCount)
    }

    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    @Test func aSavedModelLoadsBackIdentically() throws {
        let tokenizer = Tokenizer.characters(CharacterTokenizer(training: "hello, world\n"))
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 8, embeddingSize: 8, heads: 2, layers: 2)
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

    /// The config is saved with the settings' names ("heads", "layers"); files that spell them "headCount"
    /// and "layerCount" still load, and a config with neither names the missing field.
    @Test func aConfigLoadsUnderEitherSpellingOfItsSizes() throws {
        let config = GPTConfig(vocabularySize: 7, blockSize: 8, embeddingSize: 12, heads: 3, layers: 2, dropout: 0.1)
        let saved = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(saved.contains(#""heads":3"#) && saved.contains(#""layers":2"#) && !saved.contains("Count"))
        let older = #"{"vocabularySize":7,"blockSize":8,"embeddingSize":12,"headCount":3,"layerCount":2,"dropout":0.1}"#
        #expect(try JSONValue.decode(GPTConfig.self, from: older) == config)
        #expect(try JSONValue.decode(GPTConfig.self, from: saved) == config)
        let neither = #"{"vocabularySize":7,"blockSize":8,"embeddingSize":12,"layers":2}"#
        #expect(throws: JSONError.self) { try JSONValue.decode(GPTConfig.self, from: neither) }
        do { _ = try JSONValue.decode(GPTConfig.self, from: neither) } catch { #expect("\(error)".contains("heads")) }
    }

    @Test func aBytePairCheckpointCarriesItsMerges() throws {
        let text = String(repeating: "the theme of the thesis, then the end. ", count: 10) + "café 🙂"
        let tokenizer = Tokenizer.bytePairs(try BytePairTokenizer.train(on: text, vocabularySize: 280, preSplit: .gpt2))
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 8, embeddingSize: 8, heads: 2, layers: 1)
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
        #expect(message(file("not json")).contains("does not start with '{'"))
        #expect(message(file("{not json}")).contains("not valid JSON"))
        #expect(message(file("[1, 2]")).contains("does not start with '{'"))
        #expect(message(file(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#)).contains("dtype \"F16\" is not supported"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#)).contains("outside"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#)).contains("needs 12 bytes"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#)).contains("shape"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[true,8]}}"#)).contains("data_offsets"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)) == "no error")
    }

    @Test func checkpointsThatContradictTheirConfigAreRefused() throws {
        let config = GPTConfig(vocabularySize: 6, blockSize: 4, embeddingSize: 8, heads: 2, layers: 1)
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
        #expect(message(try save(model.stateDictionary, config: config)) == "no error")
        #expect(message(try save(model.stateDictionary, config: config, version: "99")).contains("format version \"99\" is not supported"))
        #expect(message(try save(Array(model.stateDictionary.dropLast()), config: config)).contains("lm_head.bias"))
        let extra = model.stateDictionary + [("blocks.9.ln1.bias", Tensor.zeros([8]))]
        #expect(message(try save(extra, config: config)).contains("blocks.9.ln1.bias"))
        var wrongHeads = config
        wrongHeads.heads = 4   // same total size, different per-head shapes
        // Four heads of 2 instead of two heads of 4: the per-head tensors no longer match.
        let wrongHeadsMessage = message(try save(model.stateDictionary, config: wrongHeads))
        #expect(wrongHeadsMessage.contains("blocks.0.sa.heads.0.key.weight has shape [4, 8] but the config needs [2, 8]"))
        var indivisible = config
        indivisible.heads = 3
        #expect(message(try save(model.stateDictionary, config: indivisible)).contains("not divisible"))
        var huge = config
        huge.layers = 1_000_000_000
        #expect(message(try save(model.stateDictionary, config: huge)).contains("layers is 1000000000, above the limit of 1024"))
        #expect(message(folder.appendingPathComponent("nowhere")).contains("checkpoint not found"))
    }
}

/// The safetensors reader against files crafted to break it, each the way the format's reference
/// implementation refuses it.
@Suite("SafeTensors: crafted headers are refused in one line")
struct SafeTensorsValidationTests {
    func message(_ data: Data) -> String {
        do { _ = try SafeTensors.decode(data); return "no error" } catch { return "\(error)" }
    }
    /// A file with `header` (padded to 8 bytes) and `payload` zero bytes after it.
    func file(_ header: String, payload: Int) -> Data {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var bytes = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + json + Data(count: payload)
    }
    func entry(_ name: String, _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        #""\#(name)":{"dtype":"F32","shape":\#(shape),"data_offsets":[\#(begin),\#(end)]}"#
    }

    /// The issue's crash: 2147418113 x 2147549185 = 2^62 + 1 floats, whose byte count wraps to 4 in 64 bits.
    @Test func aShapeWhoseByteCountWrapsIsRefused() {
        let crafted = file("{" + entry("w", [2_147_418_113, 2_147_549_185], 0, 4) + "}", payload: 4)
        #expect(message(crafted).contains("more elements than any file can hold"))
        #expect(message(file("{" + entry("w", [Int.max, 2], 0, 4) + "}", payload: 4)).contains("more elements"))
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}"#, payload: 4))
            .contains("shape is not a list of non-negative integers"))
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[1e3],"data_offsets":[0,4000]}}"#, payload: 4000)).contains("shape"))
    }

    @Test func offsetsMustTileTheDataExactly() {
        let a = entry("a", [2], 0, 8), b = entry("b", [2], 8, 16)
        #expect(message(file("{\(a),\(b)}", payload: 16)) == "no error")
        #expect(message(file("{\(b),\(a)}", payload: 16)) == "no error")   // the order of the entries does not matter
        // Two tensors over the same bytes: silently wrong weights, if accepted.
        #expect(message(file("{\(a),\(entry("b", [2], 0, 8))}", payload: 8)).contains("overlap"))
        #expect(message(file("{\(a),\(entry("b", [2], 4, 12))}", payload: 12)).contains("overlap"))
        #expect(message(file("{\(a),\(entry("b", [2], 12, 20))}", payload: 20)).contains("unused"))
        #expect(message(file("{" + entry("a", [2], 4, 12) + "}", payload: 12)).contains("start at 4"))
        #expect(message(file("{\(a)}", payload: 12)).contains("cover 8 of the 12 bytes"))
        #expect(message(file("{}", payload: 4)).contains("cover 0 of the 4 bytes"))
        #expect(message(file("{}", payload: 0)) == "no error")
    }

    @Test func theHeaderIsReadStrictly() {
        #expect(message(file("{\(entry("a", [2], 0, 8)),\(entry("a", [2], 0, 8))}", payload: 8)).contains(#"key "a" appears twice"#))
        #expect(message(file(#"{"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, payload: 8)).contains("twice"))
        #expect(message(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#, payload: 8)).contains("unknown field"))
        #expect(message(file(#"{"__metadata__":{"k":1}}"#, payload: 0)).contains(#"metadata "k" is not a string"#))
        #expect(message(file(#"{"__metadata__":{"k":"v"}} x"#, payload: 0)).contains("after the JSON value"))
        #expect(message(file(String(repeating: "{\"a\":", count: 100) + "1" + String(repeating: "}", count: 100), payload: 0))
            .contains("nested deeper than 64"))
        var invalidUTF8 = file(#"{"__metadata__":{"k":"v?"}}"#, payload: 0)
        invalidUTF8[invalidUTF8.firstIndex(of: UInt8(ascii: "?"))!] = 0xFF
        #expect(message(invalidUTF8).contains("not valid UTF-8"))
        // A name with a newline in it still gives a one-line message.
        let newline = message(file(#"{"a\nb":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, payload: 4))
        #expect(newline.contains(#""a\nb""#) && !newline.contains("\n"))
    }

    @Test func theHeaderLengthIsBounded() {
        var huge = Data()
        withUnsafeBytes(of: UInt64(200_000_000).littleEndian) { huge.append(contentsOf: $0) }
        #expect(message(huge + Data("{}".utf8)).contains("above the 100000000-byte limit"))
        var wrapped = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { wrapped.append(contentsOf: $0) }
        #expect(message(wrapped + Data("{}".utf8)).contains("above the"))
        #expect(message(Data(count: 8)).contains("does not start with '{'"))
    }

    @Test func valuesArriveBitForBit() throws {
        let values: [Float] = [1, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 3.25]
        let decoded = try SafeTensors.decode(try SafeTensors.encode([("v", Tensor(shape: [7], values: values))]))
        #expect(decoded.tensors["v"]!.values.map(\.bitPattern) == values.map(\.bitPattern))
    }
}
