// `nanogpt quantize`: a checkpoint whose matrices are int8 blocks (Quantization/Int8Matrix.swift), about a
// quarter of the float32 file. The same names, metadata and checks as a checkpoint; each matrix that a product
// multiplies by is stored as two tensors: NAME, I8 (rows, blocks x 32), and NAME.scales, F16 (rows, blocks).
// The embedding tables, biases and LayerNorm gains stay F32. The header says "weights": "int8-q8_0".
import Attention
import FileFormats
import Foundation
import NanoGPT
import Quantization
import TensorCore
import TextData

extension Checkpoint {
    /// The metadata value that marks an int8 file.
    public static let int8Weights = "int8-q8_0"

    /// Whether a state-dict name is a matrix some product multiplies by (each head's key, query and value,
    /// the projection, the feed-forward layers, the output head): the tensors an int8 file quantizes.
    public static func isQuantized(_ name: String) -> Bool {
        name == "lm_head.weight" || (name.hasPrefix("blocks.") && name.hasSuffix(".weight")
            && (name.contains(".sa.heads.") || name.hasSuffix(".sa.proj.weight") || name.contains(".ffwd.net.")))
    }

    /// Writes `model` with int8 matrices to `file`, atomically.
    public static func saveInt8(_ model: NanoGPT, tokenizer: Tokenizer, step: Int, to file: URL) throws {
        var entries: [(String, SafeTensors.Stored)] = []
        for (name, tensor) in model.stateDictionary {
            if isQuantized(name) {
                let matrix = Int8Matrix(quantizing: tensor)
                entries.append((name, .i8([matrix.rows, matrix.blocks * Int8Matrix.blockSize], matrix.weights)))
                entries.append((name + ".scales", .f16([matrix.rows, matrix.blocks], matrix.scales)))
            } else {
                entries.append((name, .f32(tensor.shape, tensor.values)))
            }
        }
        let metadata = try metadata(model, tokenizer: tokenizer, step: step, extra: ["weights": int8Weights])
        try AtomicFile.write(try SafeTensors.encode(entries: entries, metadata: metadata), to: file)
    }

    /// Every tensor of an int8 file for this config, with its dtype and exact shape, and nothing else.
    static func checkInt8Tensors(_ tensors: [String: SafeTensors.Entry], match config: GPTConfig) throws {
        var matched = 0
        func expect(_ name: String, _ dtype: SafeTensors.DType, _ shape: [Int]) throws {
            guard let entry = tensors[name] else { throw CheckpointError("int8 file is missing tensor \(name)") }
            guard entry.dtype == dtype, entry.shape == shape else {
                throw CheckpointError("tensor \(name) is \(entry.dtype.rawValue) \(entry.shape) but the config needs \(dtype.rawValue) \(shape)")
            }
            matched += 1
        }
        for (name, shape) in config.parameterShapes {
            if isQuantized(name) {
                let blocks = (shape[1] + Int8Matrix.blockSize - 1) / Int8Matrix.blockSize
                try expect(name, .i8, [shape[0], blocks * Int8Matrix.blockSize])
                try expect(name + ".scales", .f16, [shape[0], blocks])
            } else {
                try expect(name, .f32, shape)
            }
        }
        if matched != tensors.count {
            let expected = Set(config.parameterShapes.flatMap { isQuantized($0.0) ? [$0.0, $0.0 + ".scales"] : [$0.0] })
            let extra = tensors.keys.sorted().first { !expected.contains($0) } ?? "?"
            throw CheckpointError("unexpected tensor \(extra.debugDescription) (not part of a \(config.layers)-layer, "
                                  + "\(config.heads)-head NanoGPT in int8)")
        }
    }

    /// Loads checked int8 tensors: the model's float32 weights get the blocks' values (d x q), and its
    /// products the blocks themselves, as `useInt8Weights()` would have made them.
    static func loadInt8Weights(_ tensors: [String: SafeTensors.Entry], into model: NanoGPT) throws {
        try checkInt8Tensors(tensors, match: model.config)
        var matrices: [String: Int8Matrix] = [:]
        for (name, parameter) in model.stateDictionary {
            guard isQuantized(name) else { parameter.storage.copy(fromHost: tensors[name]!.values); continue }
            let matrix: Int8Matrix
            do {
                matrix = try Int8Matrix(rows: parameter.shape[0], columns: parameter.shape[1], weights: tensors[name]!.int8,
                                        scales: tensors[name + ".scales"]!.values.map { Float16($0) })
            } catch let error as Int8MatrixError { throw CheckpointError("tensor \(name): \(error.description)") }
            parameter.storage.copy(fromHost: matrix.dequantized())
            matrices[name] = matrix
        }
        for matrix in model.multiplyingMatrices {
            if matrix.name.hasSuffix(".sa.key_query_value.weight") {   // the packed matrix: its heads' rows, stacked
                let prefix = String(matrix.name.dropLast("key_query_value.weight".count))
                let heads = MultiHead.perHeadViews(of: matrix.weight, headCount: model.config.heads).map { matrices[prefix + $0.0]! }
                matrix.set(Int8Matrix(stacking: heads))
            } else {
                matrix.set(matrices[matrix.name]!)
            }
        }
    }
}
