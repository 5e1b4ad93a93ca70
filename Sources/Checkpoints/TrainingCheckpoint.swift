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
import FileFormats
import Foundation
import NanoGPT
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
        let moments = [("first_moment", Tensor(shape: [trainer.parameters.count], sharing: trainer.optimizer.firstMoment)),
                       ("second_moment", Tensor(shape: [trainer.parameters.count], sharing: trainer.optimizer.secondMoment))]
        let optimizerMetadata = [
            "format_version": String(Checkpoint.formatVersion),
            "trainer_state": String(decoding: try encoder.encode(trainer.state), as: UTF8.self),
            // The dropout masks' seed and how many were drawn (Layers/Dropout.swift).
            "dropout_random": String(decoding: try encoder.encode([model.dropout.seed, model.dropout.masksDrawn]), as: UTF8.self),
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
            trainer.optimizer.firstMoment.copy(fromHost: firstMoment)
            trainer.optimizer.secondMoment.copy(fromHost: secondMoment)
            try trainer.restore(trainerState)
            // Files written before the masks were counter-based hold a four-word generator state instead:
            // their run goes on with fresh masks from the run's seed (as a new run of it would draw them).
            let dropout = checkpoint.model.dropout
            (dropout.seed, dropout.masksDrawn) = dropoutRandom.count == 2 ? (dropoutRandom[0], dropoutRandom[1])
                : (RandomStream.dropout.seed(from: hyperparameters.seed), 0)
        }
    }

    /// Reads `folder/model.safetensors` and the optimizer file it names.
    public static func load(from folder: URL) throws -> SavedRun {
        let modelURL = folder.appendingPathComponent(Checkpoint.weightsFile)
        guard let modelBytes = FileManager.default.contents(atPath: modelURL.path) else {
            throw CheckpointError(FileManager.default.fileExists(atPath: modelURL.path) ? "cannot read \(modelURL.path)"
                                  : "checkpoint not found: \(modelURL.path)")
        }
        return try load(model: modelBytes, folder: folder.path) { name in
            let optimizerURL = folder.appendingPathComponent(name)
            guard let bytes = FileManager.default.contents(atPath: optimizerURL.path) else {
                throw CheckpointError("optimizer state missing: \(optimizerURL.path)")
            }
            return bytes
        }
    }

    /// Reads a saved run from the bytes of its model file and of the optimizer file it names (asked for
    /// by name), trusting nothing: every metadata field is parsed strictly and range-checked, the
    /// settings must describe the saved model (heads, layers, sizes, block size, vocabulary), and the
    /// optimizer state must fit it. The fuzz target calls this directly.
    /// Errors name the files inside `folder` (when given).
    public static func load(model modelBytes: Data, folder: String? = nil, optimizerFile: (String) throws -> Data) throws -> SavedRun {
        func path(_ name: String) -> String { folder.map { URL(fileURLWithPath: $0).appendingPathComponent(name).path } ?? name }
        let modelFile = path(Checkpoint.weightsFile)
        let checkpoint = try Checkpoint.load(data: modelBytes, name: modelFile)
        let metadata = checkpoint.metadata
        func fail(_ file: String, _ problem: String) -> CheckpointError { CheckpointError("\(file): \(problem)") }
        guard metadata["hyperparameters"] != nil, metadata["optimizer_file"] != nil else {
            throw fail(modelFile, "no training state (hyperparameters, optimizer_file): it can be used for generation but not resumed")
        }
        let hyperparameters = try Checkpoint.metadataField(Hyperparameters.self, "hyperparameters", in: metadata, of: modelFile)
        do { try hyperparameters.validate() } catch let invalid as Hyperparameters.Invalid {
            throw fail(modelFile, invalid.described { "hyperparameters." + $0 })
        }
        let config = checkpoint.model.config
        for (field, saved, model) in [("blockSize", hyperparameters.blockSize, config.blockSize),
                                      ("embeddingSize", hyperparameters.embeddingSize, config.embeddingSize),
                                      ("heads", hyperparameters.heads, config.heads),
                                      ("layers", hyperparameters.layers, config.layers)] where saved != model {
            throw fail(modelFile, "hyperparameters.\(field) is \(saved) but the saved model's config says \(model)")
        }
        guard hyperparameters.dropout == config.dropout else {
            throw fail(modelFile, "hyperparameters.dropout is \(hyperparameters.dropout) but the saved model's config says \(config.dropout)")
        }
        let data = try Checkpoint.metadataField(DataDescription.self, "data", in: metadata, of: modelFile)
        guard data.characters > 0, !data.fingerprint.isEmpty, data.fingerprint.allSatisfy(\.isHexDigit),
              !data.path.isEmpty, !data.path.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw fail(modelFile, "metadata data does not describe a text file (path \(data.path.debugDescription), characters "
                       + "\(data.characters), fingerprint \(data.fingerprint.debugDescription))")
        }
        // The optimizer file sits beside the model: a bare file name, never a path.
        guard let optimizerName = metadata["optimizer_file"], optimizerName.hasPrefix("optimizer-"), optimizerName.hasSuffix(".safetensors"),
              !optimizerName.contains("/"), !optimizerName.contains("\0") else {
            throw fail(modelFile, "metadata optimizer_file \((metadata["optimizer_file"] ?? "").debugDescription) is not an optimizer file name")
        }
        let (tensors, optimizerMetadata): ([String: SafeTensors.Entry], [String: String])
        let optimizerPath = path(optimizerName)
        do { (tensors, optimizerMetadata) = try SafeTensors.decode(try optimizerFile(optimizerName)) } catch let error as SafeTensorsError {
            throw fail(optimizerPath, error.description)
        }
        let parameterCount = checkpoint.model.namedParameters.reduce(0) { $0 + $1.1.count }
        guard let first = tensors["first_moment"], let second = tensors["second_moment"], tensors.count == 2 else {
            throw fail(optimizerPath, "must hold exactly first_moment and second_moment")
        }
        guard first.shape == [parameterCount], second.shape == [parameterCount] else {
            throw fail(optimizerPath, "the moments have shapes \(first.shape) and \(second.shape), but the model has \(parameterCount) parameters")
        }
        guard first.values.allSatisfy(\.isFinite), second.values.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw fail(optimizerPath, "the moments hold non-finite values (or a negative second moment)")
        }
        guard optimizerMetadata["parameter_count"].map({ $0 == String(parameterCount) }) ?? true else {
            throw fail(optimizerPath, "metadata parameter_count is \(optimizerMetadata["parameter_count"]!.debugDescription), the model has \(parameterCount)")
        }
        let state = try Checkpoint.metadataField(Trainer.State.self, "trainer_state", in: optimizerMetadata, of: optimizerPath) {
            $0.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        }
        if let problem = state.problem(atStep: checkpoint.step) { throw fail(optimizerPath, "trainer_state: \(problem)") }
        let dropoutRandom = try Checkpoint.metadataField([UInt64].self, "dropout_random", in: optimizerMetadata, of: optimizerPath)
        guard dropoutRandom.count == 2 || dropoutRandom.count == 4 else {
            throw fail(optimizerPath, "metadata dropout_random is not a dropout state (a seed and a mask count)")
        }
        return SavedRun(checkpoint: checkpoint, hyperparameters: hyperparameters, data: data, firstMoment: first.values,
                        secondMoment: second.values, trainerState: state, dropoutRandom: dropoutRandom)
    }
}
