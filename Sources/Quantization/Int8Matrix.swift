// Chapter 08: weights in 8 bits. A float32 weight takes 4 bytes; streaming generation at batch 1 reads
// every weight once per token, so its speed is about (memory bandwidth) / (weight bytes) once the model
// outgrows the caches. Q8_0 (llama.cpp's format) keeps each block of 32 weights as 32 int8 values and one
// scale: 34 bytes instead of 128, 8.5 bits a weight.
import CInt8Kernels
import Layers
import TensorCore

/// A (rows, columns) weight matrix in blocks of 32: weight[r][c] ≈ scales[r][c / 32] * weights[r][c].
/// Each row has `blocks` = ceil(columns / 32) blocks; the last is padded with zeros.
public final class Int8Matrix: InferenceWeight {
    public static let blockSize = 32
    public let rows: Int, columns: Int, blocks: Int
    /// (rows, blocks, 32) int8 values, and (rows, blocks) scales in half precision.
    public let weights: [Int8], scales: [Float16]

    /// How the activations meet the weights: as float32, each block of weights widened to float; or
    /// quantized too, per token in blocks of 32, so that each block's dot product is exact integer
    /// arithmetic (llama.cpp's way). `bench --int8` times both.
    public enum Activations: Sendable { case float32, int8 }
    nonisolated(unsafe) public static var activations = Activations.int8

    /// Q8_0 quantization of one block: the scale d = max|w| / 127 (rounded to half precision, as it is
    /// stored), and each weight as the nearest whole multiple of d, q = round(w / d) in -127 ... 127.
    public static func quantize(block: ArraySlice<Float>) -> (values: [Int8], scale: Float16) {
        let largest = block.reduce(Float(0)) { max($0, abs($1)) }
        let scale = Float16(largest / 127)
        let inverse = Float(scale) > 0 ? 1 / Float(scale) : 0
        var values = block.map { Int8(max(-127, min(127, ($0 * inverse).rounded()))) }
        values += [Int8](repeating: 0, count: blockSize - block.count)   // the last block's padding
        return (values, scale)
    }

    /// Quantizes a float32 (rows, columns) matrix, block by block.
    public convenience init(quantizing matrix: Tensor) {
        precondition(matrix.shape.count == 2, "an Int8Matrix quantizes a 2-D weight, not \(matrix.shape)")
        let (rows, columns) = (matrix.shape[0], matrix.shape[1]), values = matrix.values
        let blocks = (columns + Self.blockSize - 1) / Self.blockSize
        var weights: [Int8] = [], scales: [Float16] = []
        weights.reserveCapacity(rows * blocks * Self.blockSize)
        for r in 0..<rows {
            for b in 0..<blocks {
                let start = r * columns + b * Self.blockSize
                let (q, d) = Self.quantize(block: values[start..<min(start + Self.blockSize, (r + 1) * columns)])
                weights += q
                scales.append(d)
            }
        }
        try! self.init(rows: rows, columns: columns, weights: weights, scales: scales)
    }

    /// A matrix from stored blocks (a quantized file), checked: sizes that match, and finite scales.
    public init(rows: Int, columns: Int, weights: [Int8], scales: [Float16]) throws {
        guard rows > 0, columns > 0 else { throw Int8MatrixError("a matrix of \(rows) x \(columns) has no weights") }
        let blocks = (columns + Self.blockSize - 1) / Self.blockSize
        guard weights.count == rows * blocks * Self.blockSize else {
            throw Int8MatrixError("\(rows) x \(columns) needs \(rows * blocks * Self.blockSize) int8 values, got \(weights.count)")
        }
        guard scales.count == rows * blocks else {
            throw Int8MatrixError("\(rows) x \(columns) needs \(rows * blocks) scales (one per block of 32), got \(scales.count)")
        }
        if let bad = scales.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw Int8MatrixError("scale \(bad) is \(scales[bad]): scales must be finite and not negative")
        }
        self.rows = rows; self.columns = columns; self.blocks = blocks; self.weights = weights; self.scales = scales
    }

    /// The rows of `parts` one after the other (they share their columns): row blocks are independent, so
    /// quantizing a stack of matrices gives the stack of their quantizations.
    public convenience init(stacking parts: [Int8Matrix]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.columns == parts[0].columns }, "stacked matrices share their columns")
        try! self.init(rows: parts.reduce(0) { $0 + $1.rows }, columns: parts[0].columns,
                       weights: parts.flatMap(\.weights), scales: parts.flatMap(\.scales))
    }

    /// The float32 matrix these blocks stand for, (rows, columns): d * q.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns {
                let b = c / Self.blockSize
                out[r * columns + c] = Float(scales[r * blocks + b]) * Float(weights[(r * blocks + b) * Self.blockSize + c % Self.blockSize])
            }
        }
        return out
    }

    /// Bytes as stored: one byte a weight (padding included) and two a scale.
    public var byteCount: Int { weights.count + 2 * scales.count }

    // MARK: The product

    /// y = W x for one vector x (columns values), as plain loops: for each row, each block's dot product
    /// of the int8 values with x, times the block's scale. The reference the kernels are tested against.
    public func plainProduct(_ x: [Float]) -> [Float] {
        (0..<rows).map { r in
            (0..<blocks).reduce(Float(0)) { total, b in
                var dot: Float = 0
                for i in 0..<min(Self.blockSize, columns - b * Self.blockSize) {
                    dot += Float(weights[(r * blocks + b) * Self.blockSize + i]) * x[b * Self.blockSize + i]
                }
                return total + Float(scales[r * blocks + b]) * dot
            }
        }
    }

    /// y = W x with x quantized too (`quantizeActivations`: int8 values xq and one float scale per block), as
    /// plain loops: each block's dot product is a sum of int8 × int8 products, exact in a 32-bit integer, and
    /// the two scales multiply it once. What the int8 kernels compute, and what the tests hold them to.
    public func plainInt8Product(_ xq: [Int8], scales xScales: [Float]) -> [Float] {
        (0..<rows).map { r in
            (0..<blocks).reduce(Float(0)) { total, b in
                var dot: Int32 = 0
                for i in 0..<Self.blockSize {
                    dot += Int32(weights[(r * blocks + b) * Self.blockSize + i]) * Int32(xq[b * Self.blockSize + i])
                }
                return total + Float(scales[r * blocks + b]) * xScales[b] * Float(dot)
            }
        }
    }

    /// Quantizes one vector of activations the same way, block by block, with float32 scales: what the
    /// int8 x int8 product multiplies. `x` has columns values; the result is padded to whole blocks.
    public func quantizeActivations(_ x: UnsafeBufferPointer<Float>) -> (values: [Int8], scales: [Float]) {
        var values: [Int8] = [], scales: [Float] = []
        values.reserveCapacity(blocks * Self.blockSize)
        for b in 0..<blocks {
            let block = x[(b * Self.blockSize)..<min((b + 1) * Self.blockSize, columns)]
            let largest = block.reduce(Float(0)) { max($0, abs($1)) }
            let scale = largest / 127, inverse = largest > 0 ? 127 / largest : 0
            values += block.map { Int8(max(-127, min(127, ($0 * inverse).rounded()))) }
            values += [Int8](repeating: 0, count: Self.blockSize - block.count)
            scales.append(scale)
        }
        return (values, scales)
    }

    /// x (..., columns) -> (..., rows) plus the bias, with no autograd records. A few rows (generation's
    /// one new token) go through the int8 kernels: x's row is quantized block by block (in C, as
    /// `quantizeActivations` does it), then multiplied by every row of blocks, on this thread, or shared
    /// with a second one while the decode path has the cores (`BLAS.lendingCores`, `sharesRows`).
    /// More rows (a prompt) are a matrix product, bounded by arithmetic rather than by reading the weights:
    /// they run through sgemm on the dequantized matrix, made once and kept.
    public func product(_ x: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.shape.last == columns, "an Int8Matrix of \(rows) x \(columns) cannot multiply \(x.shape)")
        let n = x.count / columns
        if n > Self.rowsThroughKernels { return withoutGradients { linear(x, weight: dequantizedWeight, bias: bias) } }
        let out = Tensor(shape: Array(x.shape.dropLast()) + [rows], sharing: Storage(count: n * rows))
        x.storage.withHostBuffer { input in out.storage.withHostBuffer { output in
            for t in 0..<n { multiply(input.baseAddress! + t * columns, into: output.baseAddress! + t * rows) }
        } }
        if let bias {
            bias.storage.withHostBuffer { b in out.storage.withHostBuffer { o in
                for t in 0..<n { for r in 0..<rows { o[t * rows + r] += b[r] } }
            } }
        }
        return out
    }

    /// y = W x for one position (the decode path): the same kernels, nothing allocated.
    public func product(_ x: Storage, into y: Storage) {
        precondition(x.count == columns && y.count == rows, "an Int8Matrix of \(rows) x \(columns) cannot multiply \(x.count) into \(y.count)")
        x.withHostBuffer { input in y.withHostBuffer { output in multiply(input.baseAddress!, into: output.baseAddress!) } }
    }

    /// One row of x (columns floats) times the blocks, into y (rows floats), through the kernels: the row is
    /// copied into `scratch` (padded to whole blocks) and, for int8 activations, quantized there.
    private func multiply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        scratch.row.update(from: x, count: columns)
        let threads: Int32 = Self.sharesRows && BLAS.lentThreads > 0 ? 2 : 1
        weights.withUnsafeBufferPointer { w in scales.withUnsafeBufferPointer { d in
            let halves = UnsafeRawPointer(d.baseAddress!).assumingMemoryBound(to: UInt16.self)
            switch Self.activations {
            case .float32:
                int8_matvec_float(w.baseAddress!, halves, Int32(rows), Int32(blocks), scratch.row, y, threads)
            case .int8:
                int8_quantize_activations(scratch.row, Int32(blocks), scratch.quantized, scratch.scales)
                int8_matvec_int8(w.baseAddress!, halves, Int32(rows), Int32(blocks), scratch.quantized, scratch.scales, y, threads)
            }
        } }
    }

    /// The padded row, its int8 values and their scales: made once per matrix, so a product allocates nothing
    /// (one product at a time per matrix, as generation runs them).
    private final class Scratch {
        let row: UnsafeMutablePointer<Float>, quantized: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>
        init(blocks: Int) {
            row = .allocate(capacity: blocks * Int8Matrix.blockSize)
            row.initialize(repeating: 0, count: blocks * Int8Matrix.blockSize)   // the padding stays 0
            quantized = .allocate(capacity: blocks * Int8Matrix.blockSize)
            scales = .allocate(capacity: blocks)
        }
        deinit { row.deallocate(); quantized.deallocate(); scales.deallocate() }
    }
    private lazy var scratch = Scratch(blocks: blocks)

    /// Whether a token's products share their rows with a second thread while `NanoGPT.decode` lends the
    /// cores (OpenBLAS on one thread meanwhile). On by default; `bench --int8` turns it off to compare.
    /// Sharing while OpenBLAS keeps its own threads busy-waiting on the same cores halved config M's speed.
    nonisolated(unsafe) public static var sharesRows = true

    /// The decode path lends the int8 products the cores OpenBLAS would otherwise keep: the same for every
    /// int8 matrix (each product decides for itself whether it is large enough to share).
    public var wantsCores: Bool { Self.sharesRows }

    /// Up to this many rows of x go through the int8 kernels, one row at a time.
    public static let rowsThroughKernels = 4

    /// The float32 matrix of the blocks' values, for prompts: made the first time one comes, then kept.
    lazy var dequantizedWeight = Tensor(shape: [rows, columns], values: dequantized())
}

public struct Int8MatrixError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The code that runs the int8 products on this CPU.
public enum Int8Kernels {
    public enum Path: Int32, Sendable, CaseIterable, CustomStringConvertible {
        case plain = 0, avx2 = 1, vnni = 2
        public var description: String { ["plain loop", "AVX2", "AVX512-VNNI"][Int(rawValue)] }
    }
    /// The fastest this CPU has.
    public static var best: Path { Path(rawValue: Int32(int8_best_path().rawValue))! }
    /// The one in use; setting it to a path this CPU lacks picks the best it has.
    public static var current: Path {
        get { Path(rawValue: Int32(int8_current_path().rawValue))! }
        set { _ = int8_use_path(Int8Path(rawValue: UInt32(newValue.rawValue))) }
    }
}
