// Softmax over the last axis, optionally with a causal mask, and softmax of products as one op.

/// softmax over the last axis. With `causal`, the last two axes must be a square T x T block of attention
/// scores, and position i only sees positions j <= i (the rest get probability 0). `scale` (> 0) multiplies
/// the inputs first: softmax(x, scale: s) == softmax(scale(x, by: s)), without the scaled copy.
public func softmax(_ x: Tensor, causal: Bool = false, scale: Float = 1) -> Tensor {
    precondition(scale > 0, "softmax scale must be positive")
    let columns = x.shape.last!, backend = x.backend
    if causal {
        precondition(x.shape.count >= 2 && x.shape[x.shape.count - 2] == columns,
                     "a causal softmax needs square (..., T, T) scores, got \(x.shape)")
    }
    let rows = x.count / max(1, columns), mask = causal ? CausalMask(queries: columns) : nil
    let out = Tensor.result(x.shape, of: [x]) { out, grads in
        guard let dx = grads.destination(for: x) else { return }
        backend.softmaxBackward(output: out.storage, out.grad!, xGrad: dx, rows: rows, columns: columns, causal: mask,
                                scale: scale)
    }
    backend.softmax(x.storage, out: out.storage, rows: rows, columns: columns, causal: mask, scale: scale)
    return out
}

/// softmax(scale * a @ b^T) over the last axis, as one op: (..., M, K) and (..., N, K) -> (..., M, N).
/// The same numbers as `softmax(matmul(a, b, transposeB: true), causal:, scale:)`, but the products are
/// written straight into the output and normalized in place, so no (..., M, N) tensor of raw scores is kept
/// for the backward, which needs only the probabilities. In attention that is one (B, nh, T, T) tensor fewer
/// per layer: 25 MB a layer for the M benchmark model.
///
/// Causal, the products skip what the mask would throw away: query rows are cut into blocks
/// (`causalRowBlocks`), and the block of rows [r0, r1) is multiplied by keys 0..<r1 only.
///
///     backward:  dS = scale * P * (dP - rowsum(P * dP))     (the softmax backward, into a temporary)
///                dA = dS @ B,    dB = dS^T @ A                (the product's backward, same blocks)
public func softmaxOfProducts(_ a: Tensor, _ b: Tensor, causal: Bool = false, scale: Float = 1) -> Tensor {
    precondition(scale > 0, "softmax scale must be positive")
    precondition(a.shape.count >= 2 && a.shape.dropLast(2) == b.shape.dropLast(2) && a.shape.last == b.shape.last,
                 "softmaxOfProducts needs (..., M, K) and (..., N, K), got \(a.shape) and \(b.shape)")
    let (m, k, n) = (a.shape[a.shape.count - 2], a.shape.last!, b.shape[b.shape.count - 2])
    precondition(!causal || m == n, "a causal softmax needs square scores, got \(m) x \(n)")
    let batch = a.count / max(1, m * k), backend = a.backend, mask = causal ? CausalMask(queries: m) : nil
    let out = Tensor.result(Array(a.shape.dropLast(2)) + [m, n], of: [a, b]) { out, grads in
        let scoresGrad = Storage(count: out.count, on: backend)   // d loss / d (a @ b^T), before the scale
        backend.attentionWeightsBackward(probabilities: out.storage, out.grad!, queries: a.storage, keys: b.storage,
                                         queriesGrad: grads.destination(for: a), keysGrad: grads.destination(for: b),
                                         scratch: scoresGrad, batch: batch, m: m, n: n, d: k, causal: mask, scale: scale)
    }
    backend.attentionWeights(queries: a.storage, keys: b.storage, keysBatchStride: n * k, out: out.storage, batch: batch,
                             m: m, n: n, d: k, causal: mask, scale: scale)
    return out
}
