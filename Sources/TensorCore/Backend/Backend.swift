// The backend contract: everything that touches tensor memory.
//
// Above this folder, numbers live in `Storage` (opaque: a backend's buffer, an offset, a count) and are
// reached only through the requirements below or through explicit host copies (`Storage.toHost()`,
// `Storage(host:)`, `Storage.copy(fromHost:at:)`). Ops, layers, the model, sampling and checkpoints
// never see a pointer; `Tests/TensorCoreTests/BackendSeamTests.swift` greps the sources to keep it so.
//
// A new backend supplies exactly this protocol. There are two: CPU/ (OpenBLAS and SIMD loops) and OpenCL/
// (OpenCL C kernels and CLBlast, on a GPU or on PoCL); NaiveKernels.swift holds the plain references the
// tests compare the CPU with, and the OpenCL tests compare the device with the CPU. Conventions:
//   - Shapes are row-major; sizes are passed, never inferred from a buffer.
//   - A backward kernel *writes* every element of the input gradients it is given (the autograd engine
//     decides whether that buffer is the gradient itself or a temporary it then adds: Autograd.swift).
//     The exceptions say so: `embeddingBackward` and `moveHeads(toHeads: false)` add into a
//     buffer the engine has zeroed, because they touch only some of its rows or columns.
//   - A causal mask is `CausalMask(queries:offset:)`: query i (0 ..< queries) sees keys 0 ... offset + i.
//     Training uses offset 0 (square scores); a key/value cache passes the number of cached positions.
//   - Every requirement runs to completion before it returns, as far as the caller can tell (a device
//     backend may queue work, but a host copy must wait for it).

import Foundation
import Synchronization

/// Which keys each query row may see: query i (counted within its batch element, 0 ..< `queries`) sees
/// keys 0 ... `offset` + i. Scores are (..., queries, offset + queries) at most.
public struct CausalMask: Equatable, Sendable {
    public var queries: Int, offset: Int
    public init(queries: Int, offset: Int = 0) {
        precondition(queries > 0 && offset >= 0, "a causal mask needs queries > 0 and offset >= 0")
        self.queries = queries; self.offset = offset
    }
    /// True when `keys` keys are enough for every query (offset + queries of them).
    public func fits(keys: Int) -> Bool { offset + queries <= keys }
    /// How many keys query row `r` (of any batch element) sees.
    @inline(__always) public func visibleKeys(row r: Int) -> Int { offset &+ (r % queries) &+ 1 }
}

/// One operand of a (strided, batched) matrix product: `storage` from `offset`, rows `leadingDimension`
/// apart, batch element i at `offset + i * batchStride`. Transposed operands are read swapped.
public struct MatrixOperand {
    public var storage: Storage, offset: Int, leadingDimension: Int?, batchStride: Int
    public init(_ storage: Storage, offset: Int = 0, leadingDimension: Int? = nil, batchStride: Int = 0) {
        self.storage = storage; self.offset = offset; self.leadingDimension = leadingDimension; self.batchStride = batchStride
    }
}

public protocol Backend: AnyObject {
    /// A short name for reports ("CPU (OpenBLAS Zen)").
    var name: String { get }

    // MARK: Memory
    /// A buffer of `count` floats, contents undefined. The returned object is the backend's own handle;
    /// only the backend reads it (`Storage.memory`).
    func allocate(count: Int) -> AnyObject
    func copy(fromHost source: UnsafeBufferPointer<Float>, to storage: Storage, at element: Int)
    func copy(_ storage: Storage, range: Range<Int>, toHost destination: UnsafeMutableBufferPointer<Float>)
    func fill(_ storage: Storage, with value: Float)
    /// y = x (same count)
    func copy(_ x: Storage, to y: Storage)
    /// Lends `storage`'s numbers to host code that reads and writes them (MPI's all-reduce): in place
    /// where the backend's buffers are host memory (the CPU), else copied out and back in (the default).
    func withHostBuffer(_ storage: Storage, _ body: (UnsafeMutableBufferPointer<Float>) -> Void)

    // MARK: Products
    /// For i in 0 ..< batch:  C_i = alpha op(A_i) op(B_i) + beta C_i, op(A) (m, k), op(B) (k, n), C (m, n).
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: MatrixOperand,
              b: MatrixOperand, beta: Float, c: MatrixOperand, batch: Int)
    /// Attention weights: P = softmax(scale * Q K^T) for `batch` pairs, Q (m, d) and K (n, d) per element,
    /// keys `keysBatchStride` apart (a cache holds more rows than it uses). Causal, the masked products
    /// are skipped and their probabilities are exactly 0. P is (batch, m, n), contiguous.
    func attentionWeights(queries: Storage, keys: Storage, keysBatchStride: Int, out: Storage, batch: Int,
                          m: Int, n: Int, d: Int, causal: CausalMask?, scale: Float)
    /// dQ and dK of `attentionWeights` from P and dP (keys contiguous: n * d apart, as in training).
    /// `scratch` holds batch * m * n floats.
    func attentionWeightsBackward(probabilities: Storage, _ g: Storage, queries: Storage, keys: Storage,
                                  queriesGrad: Storage?, keysGrad: Storage?, scratch: Storage, batch: Int,
                                  m: Int, n: Int, d: Int, causal: CausalMask?, scale: Float)
    /// out = P V per batch element, P (m, n) causal (masked entries 0, skipped), V (n, d) `valuesBatchStride` apart.
    func weightedSum(weights: Storage, values: Storage, valuesBatchStride: Int, out: Storage, batch: Int,
                     m: Int, n: Int, d: Int, causal: CausalMask)
    /// dW (defined where the mask keeps weights: the rest is never read) and dV, values contiguous.
    func weightedSumBackward(_ g: Storage, weights: Storage, values: Storage, weightsGrad: Storage?,
                             valuesGrad: Storage?, batch: Int, m: Int, n: Int, d: Int, causal: CausalMask)
    /// Causal attention without the weights: out = softmax(scale Q K^T) V per batch element, Q (m, d), K
    /// and V (n, d) each `keysBatchStride` apart, never holding more than a tile of the (m, n) scores.
    /// `saved` (`tiledAttentionSavedCount` floats) is what the backend keeps for its backward (the CPU:
    /// each row's log of sum exp(scale s), FlashAttention's statistic; a backend may leave it unused).
    func tiledAttention(queries: Storage, keys: Storage, values: Storage, keysBatchStride: Int, out: Storage,
                        saved: Storage, batch: Int, m: Int, n: Int, d: Int, causal: CausalMask, scale: Float)
    /// How many floats `tiledAttention` keeps for its backward.
    func tiledAttentionSavedCount(batch: Int, m: Int, n: Int, d: Int) -> Int
    /// dQ, dK and dV of `tiledAttention` from dOut, its output and what it `saved` (keys and values contiguous).
    func tiledAttentionBackward(_ g: Storage, queries: Storage, keys: Storage, values: Storage, out: Storage,
                                saved: Storage, queriesGrad: Storage?, keysGrad: Storage?, valuesGrad: Storage?,
                                batch: Int, m: Int, n: Int, d: Int, causal: CausalMask, scale: Float)

    // MARK: Elementwise
    /// y += x: how the autograd engine adds a second gradient into the first.
    func accumulate(_ x: Storage, into y: Storage)
    /// out = a + b, b repeated over a's leading axes (a bias, a position table).
    func addBroadcast(_ a: Storage, _ b: Storage, out: Storage)
    /// out[j] = sum over the repetitions r of g[r * out.count + j]: the gradient of the repeated b.
    func sumRepetitions(_ g: Storage, out: Storage)
    /// out = every row the row x (a bias that a product then adds onto).
    func repeatRows(_ x: Storage, into out: Storage)
    func scale(_ x: Storage, by alpha: Float, out: Storage)
    func relu(_ x: Storage, out: Storage)
    func reluBackward(output: Storage, _ g: Storage, xGrad: Storage)
    /// mask[i] = 0 with probability p, else 1 / (1 - p), from Philox4x32-10 keyed by `seed`, counter
    /// (i / 4, stream): the same mask for the same seed, stream and element on any backend (Random.swift).
    func dropoutMask(probability p: Float, seed: UInt64, stream: UInt64, mask: Storage)
    func multiply(_ x: Storage, _ y: Storage, out: Storage)
    /// out (1 element) = sum of x
    func sum(_ x: Storage, out: Storage)
    /// out[i] = alpha * scalar[0] for every i (the backward of a sum)
    func broadcastScalar(_ scalar: Storage, scaledBy alpha: Float, out: Storage)

    // MARK: Softmax, LayerNorm, loss
    func softmax(_ x: Storage, out: Storage, rows: Int, columns: Int, causal: CausalMask?, scale: Float)
    func softmaxBackward(output: Storage, _ g: Storage, xGrad: Storage, rows: Int, columns: Int,
                         causal: CausalMask?, scale: Float)
    func layerNorm(_ x: Storage, gain: Storage, bias: Storage, out: Storage, mean: Storage, rstd: Storage,
                   rows: Int, columns: Int, epsilon: Float)
    func layerNormBackward(_ g: Storage, x: Storage, gain: Storage, mean: Storage, rstd: Storage,
                           xGrad: Storage?, gainGrad: Storage?, biasGrad: Storage?, rows: Int, columns: Int)
    /// loss (1 element) = mean over rows of -log softmax(logits[r])[targets[r]]; leaves the probabilities.
    func crossEntropy(logits: Storage, targets: [Int], probabilities: Storage, loss: Storage, rows: Int, classes: Int)
    /// logitsGrad = (probabilities - onehot(targets)) * upstream[0] / rows
    func crossEntropyBackward(probabilities: Storage, targets: [Int], upstream: Storage, logitsGrad: Storage,
                              rows: Int, classes: Int)

    // MARK: Layout
    func embedding(table: Storage, ids: [Int], out: Storage, width: Int)
    /// tableGrad[ids[i]] += g[i] (adds: the engine hands a zeroed buffer first)
    func embeddingBackward(_ g: Storage, ids: [Int], tableGrad: Storage, width: Int)
    func swapAxes(_ x: Storage, shape: [Int], _ first: Int, _ second: Int, out: Storage)
    /// heads[b, h, t, :] = packed[b, t, offset + h*hs ..< +hs] (toHeads), or packed[...] += heads[...] back.
    func moveHeads(packed: Storage, heads: Storage, batch: Int, time: Int, width: Int, offset: Int,
                   headCount: Int, headSize: Int, toHeads: Bool)
    /// For every row: destination[row, destinationOffset ..< +width] = source[row, sourceOffset ..< +width].
    func copyColumns(from source: Storage, sourceWidth: Int, sourceOffset: Int, to destination: Storage,
                     destinationWidth: Int, destinationOffset: Int, width: Int, rows: Int)

    // MARK: Optimizer
    /// AdamW over elements `range` of the flat arena (Optimization/AdamW.swift has the formulas).
    func adamW(values: Storage, grads: Storage, firstMoment: Storage, secondMoment: Storage, range: Range<Int>,
               decay: Float, beta1: Float, beta2: Float, stepSize: Float, correction2Root: Float, epsilon: Float)
    /// sum of x[i]^2, accumulated in Double (the global gradient norm).
    func sumOfSquares(_ x: Storage) -> Double
}

extension Backend {
    /// One product, or a batch of them, with the usual defaults: row-major, rows packed, no batch stride.
    public func gemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: MatrixOperand, b: MatrixOperand, beta: Float, c: MatrixOperand) {
        gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta,
             c: c, batch: 1)
    }

    /// A device's numbers cross to the host and back.
    public func withHostBuffer(_ storage: Storage, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        var values = storage.toHost()
        values.withUnsafeMutableBufferPointer { body($0) }
        storage.copy(fromHost: values)
    }
}

/// The backend new tensors are made on: the CPU's unless a program chose another (`--device`).
public enum Backends {
    /// The program's backend (`--device` sets it once, at the start), or, inside `using`, that task's.
    public static var current: any Backend {
        get { chosen?.backend ?? program }
        set { program = newValue }
    }
    nonisolated(unsafe) private static var program: any Backend = CPUBackend.shared
    @TaskLocal private static var chosen: Choice?
    private final class Choice: @unchecked Sendable {   // a backend, carried by a task-local value
        let backend: any Backend
        init(_ backend: any Backend) { self.backend = backend }
    }

    /// Runs `body` with tensors made on `backend`, for this task only (so tests can run the same model on
    /// both backends side by side). Code that runs inside reads `current` as `backend`.
    @discardableResult
    public static func using<R>(_ backend: any Backend, _ body: () throws -> R) rethrows -> R {
        try $chosen.withValue(Choice(backend)) { try body() }
    }

    @discardableResult
    public static func using<R>(_ backend: any Backend, _ body: () async throws -> R) async rethrows -> R {
        try await $chosen.withValue(Choice(backend)) { try await body() }
    }

    /// Makes `current` the backend of `device` (a program's `--device`), else of `NANOGPT_DEVICE`, else the
    /// CPU's. Throws one line when that device cannot be used.
    public static func select(_ device: Device?) throws {
        current = try backend(for: device ?? Device.fromEnvironment())
    }

    /// The backend of `device`: the CPU's, or the one a device's own module registered (the OpenCL backend
    /// lives in TensorCoreOpenCL, which TensorCore does not know: `OpenCLBackend.register()` puts it here).
    /// Throws one line when the device cannot be used.
    public static func backend(for device: Device) throws -> any Backend {
        switch device {
        case .cpu: return CPUBackend.shared
        default:
            guard let make = registered.withLock({ $0[device] }) else {
                throw DeviceError(description: "this program was built without the \(device.rawValue) backend")
            }
            return try make()
        }
    }

    /// A device's backend, made on first use (and then the same one for the rest of the run).
    public static func register(_ device: Device, _ make: @escaping @Sendable () throws -> any Backend) {
        registered.withLock { $0[device] = make }
    }
    private static let registered = Mutex<[Device: @Sendable () throws -> any Backend]>([:])
}

/// Where tensors live and kernels run: `--device` of every program, or `NANOGPT_DEVICE`.
public enum Device: String, CaseIterable, Sendable {
    /// OpenBLAS and the SIMD loops of Backend/CPU/.
    case cpu
    /// The first OpenCL GPU, else the first OpenCL device of any kind (PoCL's, on the CPU): TensorCoreOpenCL.
    case opencl

    /// `NANOGPT_DEVICE` if it is set, else the CPU.
    public static func fromEnvironment() throws -> Device {
        guard let name = ProcessInfo.processInfo.environment["NANOGPT_DEVICE"], !name.isEmpty else { return .cpu }
        guard let device = Device(rawValue: name) else {
            throw DeviceError(description: "NANOGPT_DEVICE must be cpu or opencl, got \"\(name)\"")
        }
        return device
    }
}

public struct DeviceError: Error, CustomStringConvertible {
    public let description: String
}
