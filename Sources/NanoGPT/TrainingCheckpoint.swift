// Everything needed to continue a training run exactly where it stopped, saved beside the model:
//
//   model.safetensors                 the weights, and in its metadata the config, the tokenizer, the
//                                     step, the training settings, the data it trained on, and the name
//                                     of the optimizer file that belongs to it
//   optimizer-step000500.safetensors  AdamW's two moments (flat, in the parameter arena's order), and in
//                                     its metadata the trainer state: step, random generators, losses so far
//
// Saving writes the new optimizer file first and the model file last, each atomically, and only then
// deletes the old optimizer file. A kill at any moment therefore leaves a model file whose optimizer
// file exists and matches it.
import Foundation
import TensorCore
import TextData
import Training

/// Which text a run trained on, so a resumed run can check it is reading the same one.
public struct DataDescription: Codable, Equatable, Sendable {
    public var path: String
    public var characters: Int
    /// FNV-1a (64-bit) of the text's UTF-8 bytes, in hex.
    public var fingerprint: String

    public init(path: String, text: String) {
        self.path = path
        characters = text.unicodeScalars.count
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        fingerprint = String(hash, radix: 16)
    }
}

public enum TrainingCheckpoint {
    /// Saves the model and the whole training state into `folder`.
    public static func save(trainer: Trainer, model: NanoGPT, tokenizer: Tokenizer, data: DataDescription,
                            to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let optimizerFile = String(format: "optimizer-step%06d.safetensors", trainer.step)
        let moments = [("first_moment", Tensor(shape: [trainer.parameters.count], values: Array(trainer.optimizer.firstMoment.buffer))),
                       ("second_moment", Tensor(shape: [trainer.parameters.count], values: Array(trainer.optimizer.secondMoment.buffer)))]
        let optimizerMetadata = [
            "format_version": String(Checkpoint.formatVersion),
            "trainer_state": String(decoding: try encoder.encode(trainer.state), as: UTF8.self),
            "dropout_random": String(decoding: try encoder.encode(model.dropout.random.state), as: UTF8.self),
            "parameter_count": String(trainer.parameters.count),
        ]
        try AtomicFile.write(try SafeTensors.encode(moments, metadata: optimizerMetadata),
                             to: folder.appendingPathComponent(optimizerFile))
        try Checkpoint.save(model, tokenizer: tokenizer, step: trainer.step, to: folder, extraMetadata: [
            "hyperparameters": String(decoding: try encoder.encode(trainer.hyperparameters), as: UTF8.self),
            "data": String(decoding: try encoder.encode(data), as: UTF8.self),
            "optimizer_file": optimizerFile,
        ])
        // Only now that the model points at the new optimizer file may the old ones go.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        where name.hasPrefix("optimizer-") && name.hasSuffix(".safetensors") && name != optimizerFile {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// A saved run, read back: the model, its tokenizer, the settings it trained with, its data, and the
    /// rest of its state, to be applied to a new Trainer with `restore(into:)`.
    public struct SavedRun {
        public let checkpoint: LoadedCheckpoint
        public let hyperparameters: Hyperparameters
        public let data: DataDescription
        let firstMoment: [Float], secondMoment: [Float]
        let trainerState: Trainer.State
        let dropoutRandom: [UInt64]

        /// Puts the optimizer moments, the step, the generators and the loss history into `trainer`,
        /// which must have been built on `checkpoint.model`.
        public func restore(into trainer: Trainer) throws {
            guard firstMoment.count == trainer.parameters.count, secondMoment.count == trainer.parameters.count else {
                throw CheckpointError("the optimizer state holds \(firstMoment.count) values for \(trainer.parameters.count) parameters")
            }
            guard trainerState.step == checkpoint.step else {
                throw CheckpointError("the optimizer file is from step \(trainerState.step) but the model from step \(checkpoint.step)")
            }
            guard dropoutRandom.count == 4, dropoutRandom != [0, 0, 0, 0] else { throw CheckpointError("invalid dropout generator state") }
            firstMoment.withUnsafeBufferPointer { trainer.optimizer.firstMoment.pointer.update(from: $0.baseAddress!, count: $0.count) }
            secondMoment.withUnsafeBufferPointer { trainer.optimizer.secondMoment.pointer.update(from: $0.baseAddress!, count: $0.count) }
            try trainer.restore(trainerState)
            checkpoint.model.dropout.random.state = dropoutRandom
        }
    }

    public static func load(from folder: URL) throws -> SavedRun {
        let checkpoint = try Checkpoint.load(from: folder)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        func decode<T: Decodable>(_ type: T.Type, _ key: String, in metadata: [String: String], of file: String) throws -> T {
            guard let json = metadata[key], let value = try? decoder.decode(T.self, from: Data(json.utf8)) else {
                throw CheckpointError("\(file) has no readable \(key): it cannot be resumed (only used for generation)")
            }
            return value
        }
        let hyperparameters = try decode(Hyperparameters.self, "hyperparameters", in: checkpoint.metadata, of: Checkpoint.weightsFile)
        let data = try decode(DataDescription.self, "data", in: checkpoint.metadata, of: Checkpoint.weightsFile)
        guard let optimizerName = checkpoint.metadata["optimizer_file"], !optimizerName.contains("/") else {
            throw CheckpointError("\(Checkpoint.weightsFile) names no optimizer file: it cannot be resumed")
        }
        let optimizerURL = folder.appendingPathComponent(optimizerName)
        guard let bytes = FileManager.default.contents(atPath: optimizerURL.path) else {
            throw CheckpointError("optimizer state missing: \(optimizerURL.path)")
        }
        let (tensors, metadata) = try SafeTensors.decode(bytes)
        guard let first = tensors["first_moment"], let second = tensors["second_moment"], tensors.count == 2 else {
            throw CheckpointError("\(optimizerName) must hold exactly first_moment and second_moment")
        }
        return SavedRun(checkpoint: checkpoint, hyperparameters: hyperparameters, data: data, firstMoment: first.values,
                        secondMoment: second.values,
                        trainerState: try decode(Trainer.State.self, "trainer_state", in: metadata, of: optimizerName),
                        dropoutRandom: try decode([UInt64].self, "dropout_random", in: metadata, of: optimizerName))
    }
}
