// Attention over remembered keys and values, for generation (no gradients).
//
// A causal model never changes the keys and values of earlier positions when a token is appended, so
// generation can keep them. `CachedRows` holds them per head; `cachedAttention` lets n new queries at
// positions offset ..< offset + n attend to keys 0 ..< offset + n: the causal mask with an offset
// (CausalMask), computed by the same backend kernels as training's attention.

/// The keys (or values) of every position processed so far: (heads, capacity, size), of which the first
/// `count` positions of each head hold data. With a batch, `heads` counts B * nh.
public final class CachedRows {
    public let storage: Storage
    public let heads: Int, capacity: Int, size: Int
    public private(set) var count = 0

    public init(heads: Int, capacity: Int, size: Int, on backend: any Backend = Backends.current) {
        self.heads = heads; self.capacity = capacity; self.size = size
        storage = Storage(count: heads * capacity * size, on: backend)
    }

    /// Stores `rows` (..., heads, n, size) as positions count ..< count + n of every head: one copy.
    public func append(_ rows: Tensor) {
        let n = rows.shape[rows.shape.count - 2]
        precondition(rows.count == heads * n * size, "cannot append \(rows.shape) to \(heads) heads of size \(size)")
        precondition(count + n <= capacity, "the cache holds \(capacity) positions; \(count) + \(n) do not fit")
        storage.backend.copyColumns(from: rows.storage, sourceWidth: n * size, sourceOffset: 0, to: storage,
                                    destinationWidth: capacity * size, destinationOffset: count * size, width: n * size,
                                    rows: heads)
        count += n
    }

    public func clear() { count = 0 }
}

/// softmax(q K^T * scale) V for queries (..., heads, n, size) that are the newest n of the `keys.count`
/// cached positions (append them first): query i sees cached positions 0 ... keys.count - n + i.
/// Returns (..., heads, n, size). Inference only: records no gradient.
public func cachedAttention(queries: Tensor, keys: CachedRows, values: CachedRows, scale: Float) -> Tensor {
    let n = queries.shape[queries.shape.count - 2], total = keys.count, size = keys.size
    precondition(!queries.requiresGrad || !ThreadMode.current.recordsGradients,
                 "cachedAttention is for inference: call it inside withoutGradients")
    precondition(queries.count == keys.heads * n * size && values.count == total && n <= total,
                 "cachedAttention: queries \(queries.shape) against \(total) cached positions of \(keys.heads) heads")
    let backend = queries.backend, mask = CausalMask(queries: n, offset: total - n)
    let weights = Storage(count: keys.heads * n * total, on: backend)   // (heads, n, total)
    backend.attentionWeights(queries: queries.storage, keys: keys.storage, keysBatchStride: keys.capacity * size,
                             out: weights, batch: keys.heads, m: n, n: total, d: size, causal: mask, scale: scale)
    let out = Tensor(shape: queries.shape, storage: Storage(count: queries.count, on: backend), requiresGrad: false,
                     parents: [], backward: nil)
    backend.weightedSum(weights: weights, values: values.storage, valuesBatchStride: values.capacity * size,
                        out: out.storage, batch: keys.heads, m: n, n: total, d: size, causal: mask)
    return out
}
