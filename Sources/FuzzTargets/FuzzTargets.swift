// The entry points of the fuzz targets (Tests/Fuzz): each takes arbitrary bytes, feeds them to one of
// our readers of untrusted files, and checks what any accepted input must satisfy. A refusal is fine;
// a crash, a hang, a refusal that is not one line, or an accepted input that breaks an invariant is a
// bug. The libFuzzer binaries call these, and so does the test suite, replaying the committed corpora,
// so CI checks every input the fuzzer ever kept without needing a fuzzer.
import Checkpoints
import FileFormats
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

public enum FuzzTargets {
    public enum Outcome: Equatable {
        case accepted
        /// The reader said no, in one line (the message).
        case refused(String)
        /// A bug: an accepted input broke an invariant, or a refusal was not one line.
        case violated(String)
    }

    /// A broken invariant inside a target.
    struct Violation: Error { let message: String }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Violation(message: message()) }
    }

    /// The targets by name, as scripts/fuzz.sh and the corpus folders spell them.
    public static let all: [(name: String, run: (Data) -> Outcome)] = [
        ("safetensors", safeTensors), ("checkpoint", checkpoint), ("tokenizer", tokenizer)]

    /// The safetensors reader, with every dtype we read (F32, F16, I8). Whatever it accepts must encode
    /// again to a file that decodes to the same tensors and metadata.
    public static func safeTensors(_ data: Data) -> Outcome {
        outcome {
            let every = Set(SafeTensors.DType.allCases)
            let (tensors, metadata) = try SafeTensors.decode(data, accepting: every)
            let names = tensors.keys.sorted()
            let again = try SafeTensors.decode(try SafeTensors.encode(entries: names.map { ($0, tensors[$0]!.stored) }, metadata: metadata),
                                               accepting: every)
            try require(again.metadata == metadata, "metadata changed on a round trip")
            for name in names {
                let (a, b) = (tensors[name]!, again.tensors[name]!)
                let sameValues = zip(a.values, b.values).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                try require(a.shape == b.shape && a.dtype == b.dtype && a.values.count == b.values.count && sameValues
                            && a.int8 == b.int8, "\(name) changed on a round trip")
            }
        }
    }

    /// Marks an input of the checkpoint target as a whole saved run rather than a model file alone.
    public static let savedRunMagic = Data("RUN\0".utf8)

    /// The checkpoint loader: a model file alone, or a whole saved run, written as "RUN\0", the model
    /// file's length (4 bytes, little-endian), the model file, then the optimizer file. An accepted
    /// checkpoint (float32, or int8 from `nanogpt quantize`) must run a forward pass, with and without gradients.
    public static func checkpoint(_ data: Data) -> Outcome {
        outcome {
            let bytes = [UInt8](data)
            let loaded: LoadedCheckpoint
            if bytes.count >= 8, Data(bytes[0..<4]) == savedRunMagic {
                let length = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
                guard length <= bytes.count - 8 else { throw CheckpointError("the saved run's model file is cut short") }
                let model = Data(bytes[8..<(8 + length)]), optimizer = Data(bytes[(8 + length)...])
                loaded = try TrainingCheckpoint.load(model: model) { _ in optimizer }.checkpoint
            } else {
                loaded = try Checkpoint.load(data: data)
            }
            let token = loaded.tokenizer.startToken
            let logits = loaded.model.logits([token], batchSize: 1, length: 1, training: false)
            try require(logits.shape == [1, 1, loaded.tokenizer.vocabularySize], "logits of shape \(logits.shape)")
            // Inference: an int8 file's products run through its blocks here.
            let inferred = withoutGradients { loaded.model.logits([token], batchSize: 1, length: 1, training: false) }
            try require(inferred.shape == logits.shape, "inference logits of shape \(inferred.shape)")
        }
    }

    /// The tokenizer's file format (a BPE tokenizer file, or the tokenizer JSON a checkpoint carries). An
    /// accepted byte-pair tokenizer must give back any text it encodes; a character tokenizer must give
    /// back its own vocabulary.
    public static func tokenizer(_ data: Data) -> Outcome {
        outcome {
            let tokenizer = try Tokenizer.read(json: data)
            switch tokenizer {
            case .bytePairs(let bytePairs):
                let text = "First Citizen:\nBefore we proceed any further, hear me speak. é😀\u{0}"
                let tokens = bytePairs.encode(text)
                try require(tokens.allSatisfy { (0..<bytePairs.vocabularySize).contains($0) }, "a token outside the vocabulary")
                try require(bytePairs.decode(tokens) == text, "decode(encode(text)) != text")
            case .characters(let characters):
                let text = String(characters.characters)
                let tokens = try characters.encode(text)
                try require(characters.decode(tokens) == text, "decode(encode(vocabulary)) != vocabulary")
            }
        }
    }

    private static func outcome(_ body: () throws -> Void) -> Outcome {
        do {
            try body()
            return .accepted
        } catch let violation as Violation {
            return .violated(violation.message)
        } catch {
            let message = "\(error)"
            // Character.isNewline: \n, \r, \r\n (one Character, which contains("\n") would miss), U+2028...
            guard !message.isEmpty, !message.contains(where: \.isNewline) else { return .violated("a refusal that is not one line: \(message.debugDescription)") }
            return .refused(message)
        }
    }
}

// MARK: - Seeds: small valid inputs written by our own code, where the fuzzer starts

extension FuzzTargets {
    /// The seed inputs of `target`, by file name (scripts/fuzz.sh --seeds writes them into
    /// Tests/Fuzz/Corpus/<target>/). Deterministic apart from the recorded training seconds.
    public static func seeds(for target: String) throws -> [(name: String, data: Data)] {
        let text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
        let characters = Tokenizer.characters(CharacterTokenizer(training: text))
        let bytePairs = Tokenizer.bytePairs(try BytePairTokenizer.train(on: text, vocabularySize: 262, preSplit: .gpt2))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-seeds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }

        // Tiny models (C = 4 or 2, T = 2): the smaller the input, the more of them the fuzzer tries.
        func modelFile(_ tokenizer: Tokenizer, layers: Int) throws -> Data {
            let size = tokenizer.vocabularySize > 100 ? 2 : 4
            let model = NanoGPT(GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 2, embeddingSize: size,
                                          heads: size / 2, layers: layers), seed: 1)
            let place = folder.appendingPathComponent("model-\(tokenizer.kind)-\(layers)")
            try Checkpoint.save(model, tokenizer: tokenizer, step: 0, to: place)
            return try Data(contentsOf: place.appendingPathComponent(Checkpoint.weightsFile))
        }

        // The same tiny model with int8 matrices (`nanogpt quantize`): I8 blocks, F16 scales and F32 beside them.
        func int8File(_ tokenizer: Tokenizer) throws -> Data {
            let model = NanoGPT(GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 2, embeddingSize: 4, heads: 2, layers: 1),
                                seed: 3)
            let file = folder.appendingPathComponent("int8.safetensors")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Checkpoint.saveInt8(model, tokenizer: tokenizer, step: 0, to: file)
            return try Data(contentsOf: file)
        }

        switch target {
        case "safetensors":
            let small = try SafeTensors.encode([("a", Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, .infinity, -0])),
                                                ("b", Tensor(shape: [], values: [7])), ("empty", Tensor(shape: [0, 4], values: []))],
                                               metadata: ["note": "seed", "format": "nanogpt-swift"])
            return [("seed-small.safetensors", small), ("seed-no-tensors.safetensors", try SafeTensors.encode([])),
                    ("seed-model.safetensors", try modelFile(characters, layers: 1)), ("seed-int8-model.safetensors", try int8File(characters))]
        case "checkpoint":
            // A whole saved run: the model file and its optimizer file, after two training steps.
            let model = NanoGPT(GPTConfig(vocabularySize: characters.vocabularySize, blockSize: 2, embeddingSize: 4,
                                          heads: 2, layers: 1), seed: 2)
            let settings = Hyperparameters(steps: 4, batchSize: 2, blockSize: 2, embeddingSize: 4, heads: 2, layers: 1,
                                           learningRate: 1e-3, evalInterval: 2, evalIters: 1)
            let trainer = Trainer(model: model, dataset: try TokenDataset(text: text, tokenizer: characters, blockSize: 2),
                                  hyperparameters: settings)
            for _ in 0..<2 { trainer.trainStep() }
            let run = folder.appendingPathComponent("run")
            try TrainingCheckpoint.save(trainer: trainer, model: model, tokenizer: characters,
                                        data: DataDescription(path: "seed.txt", text: text), to: run)
            let modelBytes = try Data(contentsOf: run.appendingPathComponent(Checkpoint.weightsFile))
            let optimizerName = try FileManager.default.contentsOfDirectory(atPath: run.path).first { $0.hasPrefix("optimizer-") }!
            let optimizerBytes = try Data(contentsOf: run.appendingPathComponent(optimizerName))
            var length = Data()
            withUnsafeBytes(of: UInt32(modelBytes.count).littleEndian) { length.append(contentsOf: $0) }
            return [("seed-char-model.safetensors", try modelFile(characters, layers: 1)),
                    ("seed-bpe-model.safetensors", try modelFile(bytePairs, layers: 2)),
                    ("seed-saved-run.bin", savedRunMagic + length + modelBytes + optimizerBytes),
                    ("seed-int8-model.safetensors", try int8File(characters))]
        case "tokenizer":
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            guard case .bytePairs(let merges) = bytePairs else { fatalError("trained byte pairs are byte pairs") }
            let file = folder.appendingPathComponent("tokenizer.json")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try merges.save(to: file)
            return [("seed-char.json", try encoder.encode(characters)), ("seed-bpe.json", try encoder.encode(bytePairs)),
                    ("seed-bpe-file.json", try Data(contentsOf: file))]
        default:
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "no fuzz target named \(target)"])
        }
    }
}
