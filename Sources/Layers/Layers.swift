// The three standard layers every model from chapter 02 on is made of, each holding its own
// parameters under the names PyTorch's state dict would give them.
import TensorCore

/// Anything with trainable tensors, named as in PyTorch ("weight", "heads.0.key.weight", ...).
public protocol Module: AnyObject {
    var namedParameters: [(String, Tensor)] { get }
}

extension Module {
    /// This module's parameters with "prefix." in front of every name.
    public func parameters(prefixedWith prefix: String) -> [(String, Tensor)] {
        namedParameters.map { ("\(prefix).\($0.0)", $0.1) }
    }
}

/// A weight matrix stored another way for inference, such as int8 blocks (Sources/Quantization): it computes
/// x W^T + b from its own numbers. Training never uses it.
public protocol InferenceWeight: AnyObject {
    /// x (..., in) -> (..., out), without autograd records.
    func product(_ x: Tensor, bias: Tensor?) -> Tensor
    /// y = W x for one position, x (in) and y (out) storages the caller owns: the decode path.
    func product(_ x: Storage, into y: Storage)
    /// Whether its one-position products split their work between threads of their own, so that the
    /// decode path should take the cores from OpenBLAS meanwhile (`BLAS.lendingCores`).
    var wantsCores: Bool { get }
}

/// y = x W^T + b, PyTorch's nn.Linear: weight (out, in), bias (out).
/// GPT initialization: weight ~ N(0, 0.02^2), bias 0.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public var inferenceWeight: InferenceWeight?   // later, chapter 08: the weight stored as int8 for generation (nil: `weight`)

    public init(_ inputs: Int, _ outputs: Int, bias: Bool = true, random: SeededRandom) {
        weight = Tensor.normal([outputs, inputs], std: 0.02, random: random, requiresGrad: true)
        self.bias = bias ? Tensor.zeros([outputs], requiresGrad: true) : nil
    }

    /// A layer around a weight (out, in) and a bias (out) that already exist.
    public init(weight: Tensor, bias: Tensor?) {
        (self.weight, self.bias) = (weight, bias)
    }

    /// (..., in) -> (..., out)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let stored = inferenceWeight, !recordsGradients { return stored.product(x, bias: bias) }   // later, chapter 08: int8 weights
        return linear(x, weight: weight, bias: bias)
    }

    public var namedParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}

// Generation's decode path (chapter 08).
extension Linear {
    /// `callAsFunction` for one position, into a buffer the caller owns, with no Tensor and no record: the
    /// decode path of NanoGPT.decode. The arithmetic of `linear` on one row: the bias copied in, then the
    /// product added onto it (int8 weights: the product, then the bias added).
    public func decode(_ x: Storage, into y: Storage) {
        let backend = x.backend
        if let stored = inferenceWeight {
            stored.product(x, into: y)
            if let bias { backend.accumulate(bias.storage, into: y) }
            return
        }
        if let bias { backend.copy(bias.storage, to: y) }
        backend.gemm(transposeB: true, m: 1, n: weight.shape[0], k: weight.shape[1], a: MatrixOperand(x),
                     b: MatrixOperand(weight.storage), beta: bias == nil ? 0 : 1, c: MatrixOperand(y))
    }
}

/// A table of learned vectors, one row per id: nn.Embedding. weight (count, width) ~ N(0, 0.02^2).
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ width: Int, random: SeededRandom) {
        weight = Tensor.normal([count, width], std: 0.02, random: random, requiresGrad: true)
    }

    /// ids with shape `shape` -> shape + [width]
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor { embedding(weight, ids: ids, shape: shape) }

    public var namedParameters: [(String, Tensor)] { [("weight", weight)] }
}

/// Normalizes each position's features to mean 0, variance 1, then scales and shifts: nn.LayerNorm.
/// weight (the gain) starts at 1, bias at 0.
public final class LayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor

    public init(_ width: Int) {
        weight = Tensor.filled([width], with: 1, requiresGrad: true)
        bias = Tensor.zeros([width], requiresGrad: true)
    }

    /// (..., C) -> (..., C)
    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, gain: weight, bias: bias) }

    public var namedParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
}

// Generation's decode path (chapter 08).
extension LayerNorm {
    /// `callAsFunction` for one position, into a buffer the caller owns; `mean` and `rstd` hold
    /// one number each, the statistics the kernel writes.
    public func decode(_ x: Storage, into y: Storage, mean: Storage, rstd: Storage) {
        x.backend.layerNorm(x, gain: weight.storage, bias: bias.storage, out: y, mean: mean, rstd: rstd,
                            rows: 1, columns: weight.count, epsilon: layerNormEpsilon)
    }
}
