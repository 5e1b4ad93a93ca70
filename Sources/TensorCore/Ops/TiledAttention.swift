// Chapter 05b: causal attention as one op, without the (..., T, T) weights (Backend/CPU/TiledAttentionKernels.swift).

/// softmax(q k^T * scale, causal) v for q, k, v (..., T, hs) -> (..., T, hs), computed a tile of keys at a
/// time with the online softmax: the scores and weights are never stored, only each query row's log-sum-exp
/// (T numbers per head instead of T x T). The backward recomputes each tile's weights from it. (A head
/// whose scores are one tile keeps that tile instead: there is nothing to save.)
///
/// The same function as `causalMatmul(softmaxOfProducts(q, k, causal: true, scale: scale), v)`, which
/// keeps the weights (for plots, and for dropout on them); only the order of the float sums differs.
/// When `CausalAttention.keepsWeights` is set, it runs that form instead.
public func causalAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Float) -> Tensor {
    precondition(scale > 0, "attention scale must be positive")
    precondition(q.shape.count >= 2 && q.shape == k.shape && q.shape == v.shape,
                 "causalAttention needs q, k and v of one shape (..., T, hs), got \(q.shape), \(k.shape) and \(v.shape)")
    if CausalAttention.keepsWeights { return causalMatmul(softmaxOfProducts(q, k, causal: true, scale: scale), v) }
    let (t, size) = (q.shape[q.shape.count - 2], q.shape.last!)
    let batch = q.count / max(1, t * size), backend = q.backend, mask = CausalMask(queries: t)
    // All the backward keeps of the softmax: one log-sum-exp per row, (..., T) (or, where a head's scores are a
    // single tile, that tile's weights: no larger than a tile).
    let saved = Storage(count: backend.tiledAttentionSavedCount(batch: batch, m: t, n: t, d: size), on: backend)
    let out = Tensor.result(q.shape, of: [q, k, v]) { out, grads in
        backend.tiledAttentionBackward(out.grad!, queries: q.storage, keys: k.storage, values: v.storage, out: out.storage,
                                       saved: saved, queriesGrad: grads.destination(for: q),
                                       keysGrad: grads.destination(for: k), valuesGrad: grads.destination(for: v),
                                       batch: batch, m: t, n: t, d: size, causal: mask, scale: scale)
    }
    backend.tiledAttention(queries: q.storage, keys: k.storage, values: v.storage, keysBatchStride: t * size,
                           out: out.storage, saved: saved, batch: batch, m: t, n: t, d: size, causal: mask, scale: scale)
    return out
}

/// The switch between the two forms of `causalAttention`.
public enum CausalAttention {
    /// When true, `causalAttention` computes and keeps the whole (..., T, T) weights, as the weights path
    /// does: `bench --attention weights` sets it, to time the two forms in one model.
    nonisolated(unsafe) public static var keepsWeights = false
}
