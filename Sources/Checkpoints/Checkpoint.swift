// Saving a trained NanoGPT so it can be loaded again (by `nanogpt generate`, or by PyTorch).
//
// A checkpoint is a folder with `model.safetensors`: the weights under the PyTorch state-dict names of
// the reference NanoGPT (Linear weights stored (out, in)), and in the header's __metadata__ everything
// needed to rebuild the model: the format version, the config, the tokenizer (its characters, or its
// byte-pair merges), the step.
import FileFormats
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A model read from disk, with its tokenizer, the step it was saved at, and the file's metadata.
public struct LoadedCheckpoint {
    public let model: NanoGPT
    public let tokenizer: Tokenizer
    public let step: Int
    public let metadata: [String: String]
}

public enum Checkpoint {
    public static let formatVersion = 1
    public static let weightsFile = "model.safetensors"

    /// Writes `folder/model.safetensors` atomically (a kill mid-write leaves the previous file whole).
    public static func save(_ model: NanoGPT, tokenizer: Tokenizer, step: Int, to folder: URL,
                            extraMetadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        AtomicFile.removeLeftovers(in: folder)   // half-written files of a run that was killed
        try AtomicFile.write(try SafeTensors.encode(model.stateDictionary,
                                                    metadata: metadata(model, tokenizer: tokenizer, step: step, extra: extraMetadata)),
                             to: folder.appendingPathComponent(weightsFile))
    }

    /// What a checkpoint's header says besides its tensors: the format, the config, the tokenizer, the step.
    static func metadata(_ model: NanoGPT, tokenizer: Tokenizer, step: Int, extra: [String: String] = [:]) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [
            "format": "nanogpt-swift",
            "format_version": String(formatVersion),
            "config": String(decoding: try encoder.encode(model.config), as: UTF8.self),
            "tokenizer": String(decoding: try encoder.encode(tokenizer), as: UTF8.self),
            "step": String(step),
        ].merging(extra) { _, extra in extra }
    }

    /// Reads a checkpoint folder (or a .safetensors file) back into a model, checking that every tensor
    /// the config calls for is there with the right shape, and nothing else.
    public static func load(from path: URL, configFile: URL? = nil) throws -> LoadedCheckpoint {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder) else {
            throw CheckpointError("checkpoint not found: \(path.path)")
        }
        let file = isFolder.boolValue ? path.appendingPathComponent(weightsFile) : path
        guard FileManager.default.fileExists(atPath: file.path) else { throw CheckpointError("checkpoint not found: \(file.path)") }
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw CheckpointError("cannot read \(file.path)")
        }
        // A file written elsewhere (PyTorch) has no metadata of ours: its config and vocabulary come from
        // a JSON file, given or found beside it as config.json.
        let besideConfig = file.deletingLastPathComponent().appendingPathComponent("config.json")
        let description = configFile ?? (FileManager.default.fileExists(atPath: besideConfig.path) ? besideConfig : nil)
        return try load(data: data, name: file.path, configFile: description)
    }

    /// Loads from the bytes of a safetensors file (the fuzz target calls this directly). `name` is how
    /// errors name the file.
    public static func load(data: Data, name: String = weightsFile, configFile: URL? = nil) throws -> LoadedCheckpoint {
        var (tensors, metadata): ([String: SafeTensors.Entry], [String: String])
        do { (tensors, metadata) = try SafeTensors.decode(data, accepting: [.f32, .f16, .i8]) } catch let error as SafeTensorsError {
            throw CheckpointError("\(name): \(error.description)")
        }
        if metadata["format_version"] == nil, let configFile {
            metadata.merge(try foreignDescription(configFile)) { _, fromFile in fromFile }
        }
        guard let version = metadata["format_version"] else {
            throw CheckpointError("\(name): no model config in the file; pass --config FILE.json "
                                  + "(or put config.json beside it) with the config and the vocabulary")
        }
        guard version == String(formatVersion) else {
            throw CheckpointError("\(name): format version \(version.debugDescription) is not supported (this build reads \(formatVersion))")
        }
        let config = try metadataField(GPTConfig.self, "config", in: metadata, of: name)
        do { try validate(config) } catch let error as CheckpointError {
            throw CheckpointError("\(name): \(error.description)")
        }
        let tokenizer = try metadataField(Tokenizer.self, "tokenizer", in: metadata, of: name)
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw CheckpointError("\(name): the tokenizer has \(tokenizer.vocabularySize) tokens but the "
                                  + "model's vocabulary is \(config.vocabularySize)")
        }
        let step = try metadata["step"].map { text -> Int in
            guard let step = Int(text), step >= 0 else { throw CheckpointError("\(name): metadata step \(text.debugDescription) is not a step number") }
            return step
        } ?? 0
        let int8 = metadata["weights"] == Self.int8Weights   // `nanogpt quantize`'s files
        if let weights = metadata["weights"], !int8 {
            throw CheckpointError("\(name): weights \(weights.debugDescription) are not supported (float32, or \(Self.int8Weights))")
        }
        do { try int8 ? checkInt8Tensors(tensors, match: config) : checkTensors(tensors, match: config) } catch let error as CheckpointError {
            throw CheckpointError("\(name): \(error.description)")
        }
        let model = withoutInitialization { NanoGPT(config, seed: 0) }   // every weight is loaded next
        do { try int8 ? loadInt8Weights(tensors, into: model) : loadWeights(tensors, into: model) } catch let error as CheckpointError {
            throw CheckpointError("\(name): \(error.description)")
        }
        return LoadedCheckpoint(model: model, tokenizer: tokenizer, step: step, metadata: metadata)
    }

    /// One JSON field of a file's metadata, parsed strictly and decoded; any failure is one line naming
    /// the file and the field.
    public static func metadataField<T: Decodable>(_ type: T.Type, _ key: String, in metadata: [String: String], of file: String,
                                                   configure: (JSONDecoder) -> Void = { _ in }) throws -> T {
        guard let json = metadata[key] else { throw CheckpointError("\(file): the metadata has no \(key)") }
        do { return try JSONValue.decode(T.self, from: json, configure: configure) } catch let error as JSONError {
            throw CheckpointError("\(file): metadata \(key): \(error.description)")
        } catch let error as TextDataError {
            throw CheckpointError("\(file): metadata \(key): \(error.description)")
        } catch {
            throw CheckpointError("\(file): metadata \(key) is unreadable")
        }
    }

    /// Reads {"vocabularySize": .., "blockSize": .., "embeddingSize": .., "heads": .., "layers": ..,
    /// "characters": ["\n", " ", ...]} and turns it into the metadata our own files carry.
    static func foreignDescription(_ url: URL) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CheckpointError("cannot read \(url.path)") }
        let text = String(decoding: data, as: UTF8.self)
        let characters: [String], config: GPTConfig
        do {
            guard let list = try JSONValue.parse(data)["characters"]?.elements, list.allSatisfy({ $0.string != nil }) else {
                throw CheckpointError("\(url.lastPathComponent): expected a JSON object with the config and \"characters\" (a list of strings)")
            }
            characters = list.compactMap(\.string)
            config = try JSONValue.decode(GPTConfig.self, from: text)
        } catch let error as JSONError {
            throw CheckpointError("\(url.lastPathComponent): \(error.description) (it needs vocabularySize, blockSize, "
                                  + "embeddingSize, heads, layers and characters)")
        }
        let encoder = JSONEncoder()
        return ["format_version": String(formatVersion),
                "config": String(decoding: try encoder.encode(config), as: UTF8.self),
                "tokenizer": String(decoding: try JSONSerialization.data(withJSONObject: ["type": "char", "characters": characters]),
                                    as: UTF8.self)]
    }

    /// Every tensor the config calls for must be present with its exact shape, and nothing else.
    /// Checked before the model is allocated, so a corrupt config cannot ask for absurd memory.
    public static func checkTensors(_ tensors: [String: SafeTensors.Entry], match config: GPTConfig) throws {
        var matched = 0
        for (name, shape) in config.parameterShapes {
            guard let entry = tensors[name] else { throw CheckpointError("checkpoint is missing tensor \(name)") }
            guard entry.shape == shape else {
                throw CheckpointError("tensor \(name) has shape \(entry.shape) but the config needs \(shape)")
            }
            guard entry.dtype == .f32 else { throw CheckpointError("tensor \(name) is \(entry.dtype.rawValue), not F32") }
            matched += 1
        }
        if matched != tensors.count {
            let expected = Set(config.parameterShapes.map(\.0))
            let extra = tensors.keys.sorted().first { !expected.contains($0) } ?? "?"
            throw CheckpointError("unexpected tensor \(extra.debugDescription) (not part of a \(config.layers)-layer, "
                                  + "\(config.heads)-head NanoGPT)")
        }
    }

    /// Copies checked tensors into the model's parameters.
    public static func loadWeights(_ tensors: [String: SafeTensors.Entry], into model: NanoGPT) throws {
        try checkTensors(tensors, match: model.config)
        for (name, parameter) in model.stateDictionary {   // per-head names; the packed matrix fills through its views
            parameter.storage.copy(fromHost: tensors[name]!.values)
        }
    }

    /// Sizes that cannot describe a model are refused before anything is allocated (GPTConfig.validate).
    public static func validate(_ config: GPTConfig) throws {
        do { try config.validate() } catch let invalid as GPTConfig.Invalid { throw CheckpointError("config \(invalid)") }
    }
}
