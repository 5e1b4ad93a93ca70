// Chapter 03: several heads of attention in parallel.
import Layers
import TensorCore

/// `headCount` heads of size C / headCount side by side: each can attend to something different (one to
/// the previous character, one to the start of the word, ...). Their outputs are concatenated back to C
/// channels and mixed by a projection, then dropout.
///
/// gpt.py keeps one Head per head and concatenates their outputs (chapter 03 writes that form out and
/// proves the two equal). Here every head's key, query and value weights are the rows of one (3C, C)
/// matrix, so all the projections are one product and the attention of every head one batch. Checkpoints
/// use the per-head names and shapes of the PyTorch reference (`perHeadViews`).
///
/// Generation (chapter 05) calls it with a `KeyValueCache` instead: it stores the call's keys and values in
/// the cache's rows for `layer` and attends over everything stored (`callAsFunction(_:cache:layer:)`).
public final class MultiHead: Module {
    public let headCount: Int
    /// x -> every head's key, query and value: a Linear without bias whose weight (3C, C) holds the keys of
    /// heads 0 ..< nh as rows, then their queries, then their values.
    public let keyQueryValue: Linear
    public let projection: Linear
    let dropout: Dropout
    /// The queries and keys (B, nh, T, hs) of the latest call without a cache, held without their graph:
    /// `lastAttention` computes the weights from them again.
    private var lastQueriesAndKeys: (queries: Tensor, keys: Tensor, scale: Float)?

    /// The weights are drawn head by head (key, query, value), as n separate Heads would draw them.
    public init(headCount: Int, embeddingSize: Int, dropout: Dropout = .none, random: SeededRandom) {
        precondition(embeddingSize % headCount == 0, "embedding size must be divisible by the number of heads")
        self.headCount = headCount
        let size = embeddingSize / headCount
        // Head h's key is rows h*hs ..< (h+1)*hs, its query C + those rows, its value 2C + those rows.
        let drawn = (0..<headCount).map { _ in
            (0..<3).map { _ in Tensor.normal([size, embeddingSize], std: 0.02, random: random).values }
        }
        let rows = (0..<3).flatMap { part in drawn.flatMap { $0[part] } }
        keyQueryValue = Linear(weight: Tensor(shape: [3 * embeddingSize, embeddingSize], values: rows, requiresGrad: true),
                               bias: nil)
        projection = Linear(embeddingSize, embeddingSize, random: random)
        self.dropout = dropout
    }

    /// x (B, T, C) -> (B, T, C): one product for every head's key, query and value, attention for all heads
    /// at once, the heads' outputs side by side (the concatenation), then the projection.
    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        let kqv = splitHeads(keyQueryValue(x), parts: 3, heads: headCount)              // (B, T, 3C) -> 3 x (B, nh, T, hs)
        let (k, q, v) = (kqv[0], kqv[1], kqv[2])
        let mixed = causalSelfAttention(q, k, v, scale: scoreScale, training: training) // (B, nh, T, hs)
        return dropout(projection(joinHeads(mixed)), training: training)                // (B, T, C)
    }

    /// Each head's (B, T, hs) output as columns h*hs ..< (h+1)*hs of each position: the heads concatenated,
    /// (B, nh, T, hs) -> (B, T, nh, hs) -> (B, T, C).
    func joinHeads(_ mixed: Tensor) -> Tensor {
        let (batch, heads, time, size) = (mixed.shape[0], mixed.shape[1], mixed.shape[2], mixed.shape[3])
        return reshape(swapAxes(mixed, 1, 2), [batch, time, heads * size])
    }

    /// What the scores q . k are multiplied by: 1/sqrt(hs).
    var scoreScale: Float { 1 / Float(keyQueryValue.weight.shape[1] / headCount).squareRoot() }

    /// softmax(q k^T * scale, causal) v for every head of every sequence, q, k, v (B, nh, T, hs) -> (B, nh, T, hs).
    /// The default runs `causalAttention`, which goes a tile of keys at a time and never stores the (B, nh, T, T)
    /// weights (chapter 05b). Dropout on the attention weights needs them, so with dropout in training the
    /// weights path runs instead: `softmaxOfProducts` (q k^T, the scale, the mask and the softmax in one op)
    /// kept whole, then `causalMatmul`, which skips the zero upper triangle.
    /// Either way the call's q and k are kept for `lastAttention`.
    func causalSelfAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Float, training: Bool) -> Tensor {
        lastQueriesAndKeys = (Tensor(shape: q.shape, sharing: q.storage), Tensor(shape: k.shape, sharing: k.storage), scale)
        if training && dropout.probability > 0 {
            let weights = softmaxOfProducts(q, k, causal: true, scale: scale)                 // (B, nh, T, T)
            return causalMatmul(dropout(weights, training: true), v)
        }
        return causalAttention(q, k, v, scale: scale)
    }

    /// Each head's attention weights in the latest call without a cache, (B, T, T) each, computed again from
    /// that call's queries and keys (training does not store them).
    public var lastAttention: [Tensor] {
        guard let (q, k, scale) = lastQueriesAndKeys else { return [] }
        let batched = withoutGradients { softmaxOfProducts(q, k, causal: true, scale: scale) }           // (B, nh, T, T)
        let perHead = swapAxes(batched, 0, 1)   // (nh, B, T, T)
        let size = perHead.count / headCount
        let values = perHead.values
        let shape = [batched.shape[0], batched.shape[2], batched.shape[3]]   // (B, T, T)
        return (0..<headCount).map { h in Tensor(shape: shape, values: Array(values[(h * size)..<((h + 1) * size)])) }
    }

    /// What trains: the packed matrix (PyTorch's reference names its rows per head: `perHeadViews`) and
    /// the projection.
    public var namedParameters: [(String, Tensor)] {
        keyQueryValue.parameters(prefixedWith: "key_query_value") + projection.parameters(prefixedWith: "proj")
    }

    /// The packed (3C, C) matrix as the reference model's per-head tensors: (name, (hs, C) view) in the
    /// order of chapter 03's per-head form (every head's key, then every query, then every value). The
    /// views share the matrix's numbers and gradient, so a checkpoint reads and writes through them.
    public static func perHeadViews(of keyQueryValue: Tensor, headCount: Int) -> [(String, Tensor)] {
        let channels = keyQueryValue.shape[1], size = channels / headCount
        return ["key", "query", "value"].enumerated().flatMap { part, projection in
            (0..<headCount).map { h in
                ("heads.\(h).\(projection).weight", Tensor.rows((part * channels + h * size)..<(part * channels + (h + 1) * size),
                                                                of: keyQueryValue))
            }
        }
    }
}

// Generation (chapter 05).
extension MultiHead {
    /// x (B, T, C) -> (B, T, C) with a key/value cache: x holds the T positions that follow the cached ones.
    /// Their keys and values are stored in the cache's rows for `layer`, then each query attends to every
    /// cached position up to its own (the causal mask, shifted by what the cache held before).
    public func callAsFunction(_ x: Tensor, cache: KeyValueCache, layer: Int) -> Tensor {
        let kqv = splitHeads(keyQueryValue(x), parts: 3, heads: headCount)              // (B, T, 3C) -> 3 x (B, nh, T, hs)
        cache.store(keys: kqv[0], values: kqv[2], layer: layer)
        let mixed = cache.attention(queries: kqv[1], layer: layer, scale: scoreScale)  // (B, nh, T, hs)
        return projection(joinHeads(mixed))                                             // (B, T, C); no dropout
    }
}

// Generation's decode path (chapter 08).
extension MultiHead {
    /// `callAsFunction` for one new position at batch 1, on buffers made once (no Tensor, no record, no
    /// buffer taken): x (C) -> y (C), this position's key and value stored in `cache`.
    public func decode(_ x: Storage, into y: Storage, cache: KeyValueCache, layer: Int, buffers b: DecodeBuffers) {
        let channels = keyQueryValue.weight.shape[1]
        keyQueryValue.decode(x, into: b.keyQueryValue)                                                 // (3C) = W x
        // At one position the packed row is already every head's key, then query, then value, each (nh, hs):
        // the layout the cache and the kernels read, so no split is needed.
        cache.store(keys: b.keys, values: b.values, positions: 1, layer: layer)
        cache.attention(queries: b.queries, layer: layer, scale: 1 / Float(channels / headCount).squareRoot(),
                        weights: b.weights, into: b.mixed)                                             // (nh, hs) = (C)
        projection.decode(b.mixed, into: y)
    }

    /// What `decode` writes, made once per generation: the packed key, query and value of the new position
    /// (3C) with views of its three parts, each head's attention weights over the cache (nh, capacity), and
    /// the heads' outputs side by side (C).
    public final class DecodeBuffers {
        let keyQueryValue: Storage, keys: Storage, queries: Storage, values: Storage, weights: Storage, mixed: Storage

        public init(embeddingSize c: Int, headCount: Int, capacity: Int, on backend: any Backend = Backends.current) {
            keyQueryValue = Storage(count: 3 * c, on: backend)
            keys = Storage(viewing: keyQueryValue, offset: 0, count: c)
            queries = Storage(viewing: keyQueryValue, offset: c, count: c)
            values = Storage(viewing: keyQueryValue, offset: 2 * c, count: c)
            weights = Storage(count: headCount * capacity, on: backend)
            mixed = Storage(count: c, on: backend)
        }
    }
}
