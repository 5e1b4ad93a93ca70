// Softmax over the last axis, optionally with a causal mask, and LayerNorm.

/// softmax over the last axis. With `causal`, the last two axes must be a square T x T block of attention
/// scores, and position i only sees positions j <= i (the rest get probability 0). `scale` (> 0) multiplies
/// the inputs first: softmax(x, scale: s) == softmax(scale(x, by: s)), without the scaled copy.
public func softmax(_ x: Tensor, causal: Bool = false, scale: Float = 1) -> Tensor {
    precondition(scale > 0, "softmax scale must be positive")
    let columns = x.shape.last!
    if causal {
        precondition(x.shape.count >= 2 && x.shape[x.shape.count - 2] == columns,
                     "a causal softmax needs square (..., T, T) scores, got \(x.shape)")
    }
    let rows = x.count / max(1, columns)
    let out = Tensor.result(x.shape, of: [x]) { out in
        Kernels.softmaxBackward(output: out.storage, out.grad!, xGrad: x.gradStorage(), rows: rows, columns: columns,
                                causal: causal, scale: scale)
    }
    Kernels.softmax(x.storage, out: out.storage, rows: rows, columns: columns, causal: causal, scale: scale)
    return out
}

/// Normalizes each position's C features to mean 0 and variance 1, then applies a learned gain and bias.
/// x (..., C), gain (C), bias (C).
public func layerNorm(_ x: Tensor, gain: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let columns = x.shape.last!
    precondition(gain.shape == [columns] && bias.shape == [columns], "layerNorm: gain/bias must be (\(columns))")
    let rows = x.count / columns
    let mean = Storage(count: rows), rstd = Storage(count: rows)
    let out = Tensor.result(x.shape, of: [x, gain, bias]) { out in
        Kernels.layerNormBackward(out.grad!, x: x.storage, gain: gain.storage, mean: mean, rstd: rstd,
                                  xGrad: x.requiresGrad ? x.gradStorage() : nil,
                                  gainGrad: gain.requiresGrad ? gain.gradStorage() : nil,
                                  biasGrad: bias.requiresGrad ? bias.gradStorage() : nil, rows: rows, columns: columns)
    }
    Kernels.layerNorm(x.storage, gain: gain.storage, bias: bias.storage, out: out.storage, mean: mean, rstd: rstd,
                      rows: rows, columns: columns, epsilon: epsilon)
    return out
}
