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
    let backend = queries.backend
    let out = Tensor(shape: queries.shape, storage: Storage(count: queries.count, on: backend), requiresGrad: false,
                     parents: [], backward: nil)
    cachedAttention(queries: queries.storage, newest: n, size: size, keys: keys, values: values, rows: rows,
                    capacity: capacity, total: total, scale: scale,
                    weights: Storage(count: rows * n * total, on: backend), out: out.storage)
    return out
}

/// The same on storages the caller owns, for the decode path (NanoGPT.decode), which allocates nothing per
/// token: queries (rows, n, size) in, out (rows, n, size) written, `weights` holding at least rows * n * total
/// floats as scratch for the (rows, n, total) probabilities.
public func cachedAttention(queries: Storage, newest n: Int, size: Int, keys: Storage, values: Storage, rows: Int,
                            capacity: Int, total: Int, scale: Float, weights: Storage, out: Storage) {
    precondition(queries.count == rows * n * size && out.count == queries.count && n <= total && total <= capacity
                    && keys.count >= rows * capacity * size && values.count >= rows * capacity * size
                    && weights.count >= rows * n * total,
                 "cachedAttention: \(n) queries of \(rows) rows against \(total) of \(capacity) cached positions")
    let backend = queries.backend, mask = CausalMask(queries: n, offset: total - n)
    backend.attentionWeights(queries: queries, keys: keys, keysBatchStride: capacity * size,
                             out: weights, batch: rows, m: n, n: total, d: size, causal: mask, scale: scale)
    backend.weightedSum(weights: weights, values: values, valuesBatchStride: capacity * size,
                        out: out, batch: rows, m: n, n: total, d: size, causal: mask)
}
