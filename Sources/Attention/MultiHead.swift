// Chapter 03: several heads of attention in parallel.
import Layers
import TensorCore

/// `heads` Heads of size C / heads side by side: each can attend to something different (one to the
/// previous character, one to the start of the word, ...). Their outputs are concatenated back to C
/// channels and mixed by a projection, then dropout.
///
/// Two ways to compute the same thing: `perHead` runs each Head on its own and concatenates (the way to
/// read it), `allHeadsAtOnce` runs the key, query and value projections of every head as one matrix
/// product and the attention of every head as one batch (the way to run it). A test proves they agree.
/// Given an `AttentionCache`, the batched path also remembers this call's keys and values and attends
/// over everything remembered: generation's key/value cache, with the same kernels.
public final class MultiHead: Module {
    public let heads: [Head]
    public let projection: Linear
    let dropout: Dropout
    /// The attention weights (B, nh, T, T) of the latest batched call.
    private var lastBatchedAttention: Tensor?

    public init(headCount: Int, embeddingSize: Int, dropout: Dropout = .none, random: SeededRandom) {
        precondition(embeddingSize % headCount == 0, "embedding size must be divisible by the number of heads")
        heads = (0..<headCount).map { _ in
            Head(embeddingSize: embeddingSize, headSize: embeddingSize / headCount, dropout: dropout, random: random)
        }
        projection = Linear(embeddingSize, embeddingSize, random: random)
        self.dropout = dropout
    }

    /// x (B, T, C) -> (B, T, C), by the batched path whenever the weights allow it (always with a cache).
    public func callAsFunction(_ x: Tensor, training: Bool, cache: AttentionCache? = nil) -> Tensor {
        if let weights = joinedProjectionWeights() { return allHeadsAtOnce(x, weights: weights, training: training, cache: cache) }
        if let cache { return allHeadsAtOnce(x, weights: copiedProjectionWeights(), training: training, cache: cache) }
        return perHead(x, training: training)
    }

    /// The teaching path: every Head on its own, outputs side by side.
    public func perHead(_ x: Tensor, training: Bool) -> Tensor {
        lastBatchedAttention = nil
        let joined = concatenate(heads.map { $0(x, training: training) })   // n x (B, T, hs) -> (B, T, C)
        return dropout(projection(joined), training: training)
    }

    /// The fast path. The key weights of all heads, then all query weights, then all value weights, lie
    /// back to back in the parameter arena (see `namedParameters`), so together they are one (3C, C) matrix.
    func allHeadsAtOnce(_ x: Tensor, weights: Tensor, training: Bool, cache: AttentionCache? = nil) -> Tensor {
        let (batch, time, channels) = (x.shape[0], x.shape[1], x.shape[2])
        let (count, size) = (heads.count, channels / heads.count)
        let packed = linear(x, weight: weights, bias: nil)                                              // (B, T, 3C)
        let kqv = splitHeads(packed, parts: 3, heads: count)                                              // 3 x (B, nh, T, hs)
        let (k, q, v) = (kqv[0], kqv[1], kqv[2])
        let scale = 1 / Float(size).squareRoot()
        let mixed: Tensor
        if let cache {
            // Generation: these T positions follow the cached ones. Remember their keys and values, then let
            // each query attend to every cached position up to its own (the causal mask, shifted).
            cache.keys.append(k)
            cache.values.append(v)
            mixed = cachedAttention(queries: q, keys: cache.keys, values: cache.values, scale: scale)    // (B, nh, T, hs)
            lastBatchedAttention = nil
        } else {
            // softmax(q k^T / sqrt(hs)) as one op: the raw (B, nh, T, T) scores are never kept (TensorCore/Ops/Softmax.swift).
            let attention = softmaxOfProducts(q, k, causal: true, scale: scale)                         // (B, nh, T, T)
            lastBatchedAttention = attention
            // Causal weights are lower triangular (dropout keeps the zeros), so the product skips the upper blocks.
            mixed = causalMatmul(dropout(attention, training: training), v)                             // (B, nh, T, hs)
        }
        let joined = reshape(swapAxes(mixed, 1, 2), [batch, time, channels])                            // (B, T, C)
        return dropout(projection(joined), training: training)
    }

    /// All heads' key, query and value weights as one (3C, C) tensor, when they sit together in an arena.
    public func joinedProjectionWeights() -> Tensor? {
        let parts = heads.map(\.key.weight) + heads.map(\.query.weight) + heads.map(\.value.weight)
        let channels = projection.weight.shape[0]
        return Tensor.joinedView(of: parts, shape: [3 * channels, channels])
    }

    /// The same (3C, C) matrix as a copy, for heads whose weights do not sit together (a cache needs one).
    func copiedProjectionWeights() -> Tensor {
        let rows = heads.map(\.key.weight) + heads.map(\.query.weight) + heads.map(\.value.weight)   // (hs, C) each
        let channels = projection.weight.shape[0]
        return Tensor(shape: [3 * channels, channels], values: rows.flatMap(\.values))
    }

    /// Whether the latest call took the batched path (tests use it to prove they compared both paths).
    public var lastCallWasBatched: Bool { lastBatchedAttention != nil }

    /// Each head's latest attention weights, (B, T, T) each.
    public var lastAttention: [Tensor] {
        guard let batched = lastBatchedAttention else { return heads.compactMap(\.lastAttention) }
        let perHead = swapAxes(batched, 0, 1)   // (nh, B, T, T)
        let size = perHead.count / heads.count
        let values = perHead.values
        let shape = [batched.shape[0], batched.shape[2], batched.shape[3]]   // (B, T, T)
        return (0..<heads.count).map { h in Tensor(shape: shape, values: Array(values[(h * size)..<((h + 1) * size)])) }
    }

    /// Named as in PyTorch. Listed keys of every head first, then queries, then values, so that the
    /// parameter arena stores them as one matrix (the order of a state dict does not matter to PyTorch).
    public var namedParameters: [(String, Tensor)] {
        let indexed = Array(heads.enumerated())
        return indexed.map { ("heads.\($0).key.weight", $1.key.weight) }
            + indexed.map { ("heads.\($0).query.weight", $1.query.weight) }
            + indexed.map { ("heads.\($0).value.weight", $1.value.weight) }
            + projection.parameters(prefixedWith: "proj")
    }
}

/// One layer's keys and values for generation: (B * nh, capacity, hs) each (TensorCore/Ops/CachedAttention.swift).
public struct AttentionCache {
    public let keys: CachedRows, values: CachedRows
    public init(heads: Int, capacity: Int, headSize: Int) {
        keys = CachedRows(heads: heads, capacity: capacity, size: headSize)
        values = CachedRows(heads: heads, capacity: capacity, size: headSize)
    }
    /// Positions cached so far.
    public var count: Int { keys.count }
    public func clear() { keys.clear(); values.clear() }
}
