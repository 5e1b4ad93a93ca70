// Attention over remembered keys and values, for generation (no gradients).
//
// A causal model never changes the keys and values of earlier positions when a token is appended, so
// generation can keep them (Attention/KeyValueCache.swift holds them). `cachedAttention` lets n new
// queries at positions total - n ..< total attend to keys 0 ..< total: the causal mask with an offset
// (CausalMask), computed by the backend kernels of the weights path (softmaxOfProducts, causalMatmul).

/// softmax(q K^T * scale) V for queries (B, nh, n, size) that are the newest n of `total` positions whose
/// keys and values are stored in `keys` and `values` as (rows, capacity, size), one row per sequence and head
/// (rows = B × nh), `capacity` positions apart: query i sees positions 0 ... total - n + i. Returns (B, nh, n,
/// size). Inference only: records no gradient.
public func cachedAttention(queries: Tensor, keys: Storage, values: Storage, rows: Int, capacity: Int, total: Int,
                            scale: Float) -> Tensor {
    let n = queries.shape[queries.shape.count - 2], size = queries.shape.last!
    precondition(!queries.requiresGrad || !ThreadMode.current.recordsGradients,
                 "cachedAttention is for inference: call it inside withoutGradients")
    precondition(queries.count == rows * n * size && n <= total && total <= capacity
                    && keys.count >= rows * capacity * size && values.count >= rows * capacity * size,
                 "cachedAttention: queries \(queries.shape) against \(total) of \(capacity) cached positions of \(rows) rows")
    let backend = queries.backend, mask = CausalMask(queries: n, offset: total - n)
    let weights = Storage(count: rows * n * total, on: backend)   // (rows, n, total)
    backend.attentionWeights(queries: queries.storage, keys: keys, keysBatchStride: capacity * size,
                             out: weights, batch: rows, m: n, n: total, d: size, causal: mask, scale: scale)
    let out = Tensor(shape: queries.shape, storage: Storage(count: queries.count, on: backend), requiresGrad: false,
                     parents: [], backward: nil)
    backend.weightedSum(weights: weights, values: values, valuesBatchStride: capacity * size,
                        out: out.storage, batch: rows, m: n, n: total, d: size, causal: mask)
    return out
}
