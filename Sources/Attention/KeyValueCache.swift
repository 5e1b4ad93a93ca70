// Chapter 05: generation's memory. Each new token costs one position's worth of work instead of a whole
// forward pass over the context.
import TensorCore

/// The keys and values of every layer for the positions processed so far.
///
/// In a causal model the keys and values of earlier positions never change when a token is appended, so
/// generation keeps them. A forward pass given the cache computes only the new positions: each layer's
/// MultiHead stores their keys and values after the cached ones (`store`) and lets their queries attend to
/// every stored position up to their own (`attention`); after the last layer the model moves `count` on
/// (`advance`). It is the model's own forward pass, the same layers and weights; only the attention step
/// reads the stored keys and values, computing the same masked softmax(q K^T / sqrt(hs)) V (with the kernels of
/// the weights path, `cachedAttention`), the mask shifted by the positions already cached.
///
/// Position embeddings stop at the block size, so the cache holds `capacity` = blockSize positions. What
/// happens when it is full is the generator's choice (NanoGPT/Generation.swift): ours refills it from the
/// last blockSize/2 tokens.
public final class KeyValueCache {
    /// Positions the cache can hold (the block size).
    public let capacity: Int
    /// Rows per layer: B × nh (one per sequence and head), each `capacity` positions of `headSize` numbers.
    public let rows: Int, headSize: Int
    /// Per layer: (rows, capacity, headSize). The first `count` positions of each row hold data.
    public let keys: [Storage], values: [Storage]
    /// Positions cached so far, in every layer: the position of the next token.
    public private(set) var count = 0
    public var isFull: Bool { count == capacity }

    public init(layers: Int, rows: Int, capacity: Int, headSize: Int, on backend: any Backend = Backends.current) {
        self.capacity = capacity; self.rows = rows; self.headSize = headSize
        keys = (0..<layers).map { _ in Storage(count: rows * capacity * headSize, on: backend) }
        values = (0..<layers).map { _ in Storage(count: rows * capacity * headSize, on: backend) }
    }

    /// Writes one layer's keys and values of n new positions, (B, nh, n, hs) each, at positions
    /// count ..< count + n of every row: one copy each.
    public func store(keys k: Tensor, values v: Tensor, layer: Int) {
        store(keys: k.storage, values: v.storage, positions: k.shape[k.shape.count - 2], layer: layer)
    }

    /// The same from storages of (rows, n, hs) numbers each (the decode path's buffers).
    public func store(keys k: Storage, values v: Storage, positions n: Int, layer: Int) {
        precondition(k.count == rows * n * headSize && v.count == k.count,
                     "cannot store \(n) positions of \(k.count) numbers in \(rows) rows of size \(headSize)")
        precondition(count + n <= capacity, "the cache holds \(capacity) positions; \(count) + \(n) do not fit")
        func append(_ new: Storage, to stored: Storage) {
            new.backend.copyColumns(from: new, sourceWidth: n * headSize, sourceOffset: 0, to: stored,
                                    destinationWidth: capacity * headSize, destinationOffset: count * headSize,
                                    width: n * headSize, rows: rows)
        }
        append(k, to: keys[layer])
        append(v, to: values[layer])
    }

    /// softmax(q K^T * scale) V for one layer's queries (B, nh, n, hs) of the n newest positions (stored
    /// already): query i sees cached positions 0 ... count + i, the causal mask shifted by `count`.
    public func attention(queries q: Tensor, layer: Int, scale: Float) -> Tensor {
        cachedAttention(queries: q, keys: keys[layer], values: values[layer], rows: rows, capacity: capacity,
                        total: count + q.shape[q.shape.count - 2], scale: scale)
    }

    /// Called by the model once every layer has stored its n new positions.
    public func advance(by n: Int) { count += n }

    /// Forgets every position (the storage is reused).
    public func clear() { count = 0 }
}

// The decode path's attention (chapter 08).
extension KeyValueCache {
    /// `attention` for one new position, from and into storages of (rows, hs) numbers, with `weights` (rows *
    /// capacity floats) as scratch: the same kernels, nothing allocated.
    public func attention(queries q: Storage, layer: Int, scale: Float, weights: Storage, into out: Storage) {
        cachedAttention(queries: q, newest: 1, size: headSize, keys: keys[layer], values: values[layer], rows: rows,
                        capacity: capacity, total: count + 1, scale: scale, weights: weights, out: out)
    }
}
