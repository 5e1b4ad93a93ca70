// The int8 file of `nanogpt quantize`: it loads back into the same blocks, and files that cannot be one are
// refused in one line.
import Checkpoints
import FileFormats
import Foundation
import NanoGPT
import Quantization
import TensorCore
import Testing
import TextData

@Suite("Int8 checkpoints")
struct Int8CheckpointTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("int8-checkpoint-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
    let tokenizer = Tokenizer.characters(CharacterTokenizer(training: "hello, world\n"))

    /// C = 40 is not a multiple of 32, so every row has a padded block.
    func model() -> NanoGPT {
        NanoGPT(GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 8, embeddingSize: 40, heads: 2, layers: 2), seed: 4)
    }

    @Test func anInt8FileLoadsBackIntoTheSameBlocks() throws {
        let original = model(), file = folder.appendingPathComponent("int8.safetensors")
        try Checkpoint.saveInt8(original, tokenizer: tokenizer, step: 9, to: file)
        let loaded = try Checkpoint.load(from: file)
        #expect(loaded.metadata["weights"] == Checkpoint.int8Weights && loaded.step == 9 && loaded.tokenizer == tokenizer)
        original.useInt8Weights()
        let ids = [1, 2, 3, 4, 5, 6, 7, 0]
        let expected = withoutGradients { original.logits(ids, batchSize: 1, length: 8, training: false) }.values
        let got = withoutGradients { loaded.model.logits(ids, batchSize: 1, length: 8, training: false) }.values
        #expect(got == expected)   // the same blocks, so the same numbers
        // Its float32 weights are the blocks' values: quantizing them again gives the same blocks.
        for (a, b) in zip(original.multiplyingMatrices, loaded.model.multiplyingMatrices) {
            let again = Int8Matrix(quantizing: b.weight)
            #expect(a.name == b.name && again.weights == Int8Matrix(quantizing: a.weight).weights)
        }
        // About a quarter of the float32 file's bytes for the matrices.
        let float32 = folder.appendingPathComponent("float32")
        try Checkpoint.save(original, tokenizer: tokenizer, step: 9, to: float32)
        func size(_ url: URL) throws -> Int { try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int }
        let (int8Bytes, float32Bytes) = (try size(file), try size(float32.appendingPathComponent(Checkpoint.weightsFile)))
        #expect(int8Bytes < float32Bytes / 2)
    }

    @Test func filesThatCannotBeAnInt8ModelAreRefused() throws {
        let original = model(), file = folder.appendingPathComponent("good.safetensors")
        try Checkpoint.saveInt8(original, tokenizer: tokenizer, step: 1, to: file)
        let (tensors, metadata) = try SafeTensors.decode(Data(contentsOf: file), accepting: [.f32, .f16, .i8])
        func refused(_ fragment: String, metadata edit: [String: String] = [:], _ change: (inout [String: SafeTensors.Entry]) -> Void,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
            var changed = tensors
            change(&changed)
            let data = try SafeTensors.encode(entries: changed.keys.sorted().map { ($0, changed[$0]!.stored) },
                                              metadata: metadata.merging(edit) { $1 })
            #expect(throws: CheckpointError.self, sourceLocation: sourceLocation) { try Checkpoint.load(data: data) }
            do { _ = try Checkpoint.load(data: data) } catch let error as CheckpointError {
                #expect(error.description.contains(fragment), "\(error.description)", sourceLocation: sourceLocation)
                #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
            }
        }
        let matrix = "blocks.0.ffwd.net.0.weight"
        try refused("scale 3 is nan") { $0[matrix + ".scales"]!.values[3] = .nan }
        try refused("scale 0 is -inf") { $0[matrix + ".scales"]!.values[0] = -.infinity }
        try refused("is missing tensor \(matrix).scales") { $0[matrix + ".scales"] = nil }
        try refused("needs F16 [160, 2]") { $0[matrix + ".scales"]!.shape = [160, 1]; $0[matrix + ".scales"]!.values.removeLast(160) }
        try refused("needs I8 [160, 64]") { $0[matrix] = SafeTensors.Entry(shape: [160, 40], values: [Float](repeating: 0, count: 6400)) }
        try refused("unexpected tensor \"extra.scales\"") { $0["extra.scales"] = SafeTensors.Entry(shape: [1], dtype: .f16, values: [1]) }
        try refused("weights \"int4\" are not supported", metadata: ["weights": "int4"]) { _ in }
        // Without "weights" it is a float32 checkpoint, which holds no I8.
        var floatMetadata = metadata
        floatMetadata["weights"] = nil
        let data = try SafeTensors.encode(entries: tensors.keys.sorted().map { ($0, tensors[$0]!.stored) }, metadata: floatMetadata)
        #expect(throws: CheckpointError.self) { try Checkpoint.load(data: data) }
    }
}
