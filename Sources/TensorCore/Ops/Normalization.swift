// LayerNorm over the last axis.

/// The epsilon under LayerNorm's square root: PyTorch's default.
public let layerNormEpsilon: Float = 1e-5

/// Normalizes each position's C features to mean 0 and variance 1, then applies a learned gain and bias:
/// x (..., C), gain (C), bias (C) -> (..., C). The backward needs each row's mean and 1/std, kept from the
/// forward.
public func layerNorm(_ x: Tensor, gain: Tensor, bias: Tensor, epsilon: Float = layerNormEpsilon) -> Tensor {
    let columns = x.shape.last!
    precondition(gain.shape == [columns] && bias.shape == [columns], "layerNorm: gain/bias must be (\(columns))")
    let rows = x.count / columns, backend = x.backend
    let mean = Storage(count: rows, on: backend), rstd = Storage(count: rows, on: backend)
    let out = Tensor.result(x.shape, of: [x, gain, bias]) { out, grads in
        backend.layerNormBackward(out.grad!, x: x.storage, gain: gain.storage, mean: mean, rstd: rstd,
                                  xGrad: grads.destination(for: x), gainGrad: grads.destination(for: gain),
                                  biasGrad: grads.destination(for: bias), rows: rows, columns: columns)
    }
    backend.layerNorm(x.storage, gain: gain.storage, bias: bias.storage, out: out.storage, mean: mean, rstd: rstd,
                      rows: rows, columns: columns, epsilon: epsilon)
    return out
}
