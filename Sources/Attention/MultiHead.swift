// Chapter 03: several heads of attention in parallel.
import Layers
import TensorCore

/// `headCount` heads of size C / headCount side by side: each can attend to something different (one to
/// the previous character, one to the start of the word, ...). Their outputs are concatenated back to C
/// channels and mixed by a projection, then dropout.
///
/// Two layouts of the same weights, each with its own way to compute: `.perHead` keeps one `Head` per
/// head and `perHead` runs each on its own and concatenates (the way to read it); `.packed` keeps every
/// head's key, query and value weights as the rows of one (3C, C) matrix, and `allHeadsAtOnce` runs all
/// the projections as one product and the attention of every head as one batch (the way to run it). A
/// test copies weights from one layout to the other and proves the two equal. Checkpoints always use the
/// per-head names and shapes of the PyTorch reference (`perHeadViews`).
///
/// Given an `AttentionCache`, the packed path also remembers this call's keys and values and attends
/// over everything remembered: generation's key/value cache, with the same kernels.
public final class MultiHead: Module {
    public enum Layout: Sendable { case perHead, packed }
    public let layout: Layout
    public let headCount: Int
    /// `.perHead`: one Head each, with its own key, query and value (empty when packed).
    public let heads: [Head]
    /// `.packed`: the keys of heads 0 ..< nh, then their queries, then their values, as rows: (3C, C).
    public let keyQueryValue: Tensor?
    public let projection: Linear
    let dropout: Dropout
    /// The attention weights (B, nh, T, T) of the latest packed call.
    private var lastBatchedAttention: Tensor?

    /// Either layout draws the same numbers for the same generator, head by head (key, query, value).
    public init(headCount: Int, embeddingSize: Int, layout: Layout = .packed, dropout: Dropout = .none, random: SeededRandom) {
        precondition(embeddingSize % headCount == 0, "embedding size must be divisible by the number of heads")
        self.layout = layout
        self.headCount = headCount
        let size = embeddingSize / headCount
        switch layout {
        case .perHead:
            heads = (0..<headCount).map { _ in Head(embeddingSize: embeddingSize, headSize: size, dropout: dropout, random: random) }
            keyQueryValue = nil
        case .packed:
            // Head h's key is rows h*hs ..< (h+1)*hs, its query C + those rows, its value 2C + those rows.
            let drawn = (0..<headCount).map { _ in
                (0..<3).map { _ in Tensor.normal([size, embeddingSize], std: 0.02, random: random).values }
            }
            let rows = (0..<3).flatMap { part in drawn.flatMap { $0[part] } }
            heads = []
            keyQueryValue = Tensor(shape: [3 * embeddingSize, embeddingSize], values: rows, requiresGrad: true)
        }
        projection = Linear(embeddingSize, embeddingSize, random: random)
        self.dropout = dropout
    }

    /// x (B, T, C) -> (B, T, C), by the path of this layout (a cache needs the packed one).
    public func callAsFunction(_ x: Tensor, training: Bool, cache: AttentionCache? = nil) -> Tensor {
        switch layout {
        case .packed: return allHeadsAtOnce(x, training: training, cache: cache)
        case .perHead:
            precondition(cache == nil, "a key/value cache needs the packed layout")
            return perHead(x, training: training)
        }
    }

    /// The teaching path: every Head on its own, outputs side by side.
    public func perHead(_ x: Tensor, training: Bool) -> Tensor {
        precondition(layout == .perHead, "perHead needs the per-head layout")
        let joined = concatenate(heads.map { $0(x, training: training) })   // n x (B, T, hs) -> (B, T, C)
        return dropout(projection(joined), training: training)
    }

    /// The fast path: one product for every head's key, query and value, attention for all heads at once.
    func allHeadsAtOnce(_ x: Tensor, training: Bool, cache: AttentionCache? = nil) -> Tensor {
        let (batch, time, channels) = (x.shape[0], x.shape[1], x.shape[2])
        let size = channels / headCount
        let packed = linear(x, weight: keyQueryValue!, bias: nil)                                       // (B, T, 3C)
        let kqv = splitHeads(packed, parts: 3, heads: headCount)                                          // 3 x (B, nh, T, hs)
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

    /// Copies the weights of a per-head MultiHead of the same sizes into this packed one (and its projection).
    public func copyWeights(from perHead: MultiHead) {
        precondition(layout == .packed && perHead.layout == .perHead && perHead.headCount == headCount,
                     "copyWeights goes from a per-head MultiHead to a packed one of the same sizes")
        let rows = perHead.heads.map(\.key.weight) + perHead.heads.map(\.query.weight) + perHead.heads.map(\.value.weight)
        keyQueryValue!.storage.copy(fromHost: rows.flatMap(\.values))
        projection.weight.storage.copy(fromHost: perHead.projection.weight.values)
        projection.bias!.storage.copy(fromHost: perHead.projection.bias!.values)
    }

    /// Each head's latest attention weights, (B, T, T) each.
    public var lastAttention: [Tensor] {
        guard let batched = lastBatchedAttention else { return heads.compactMap(\.lastAttention) }
        let perHead = swapAxes(batched, 0, 1)   // (nh, B, T, T)
        let size = perHead.count / headCount
        let values = perHead.values
        let shape = [batched.shape[0], batched.shape[2], batched.shape[3]]   // (B, T, T)
        return (0..<headCount).map { h in Tensor(shape: shape, values: Array(values[(h * size)..<((h + 1) * size)])) }
    }

    /// What trains, named as in PyTorch where the layout is PyTorch's: per head, keys of every head first,
    /// then queries, then values (the order the packed rows use); packed, the one matrix.
    public var namedParameters: [(String, Tensor)] {
        switch layout {
        case .perHead:
            let indexed = Array(heads.enumerated())
            return indexed.map { ("heads.\($0).key.weight", $1.key.weight) }
                + indexed.map { ("heads.\($0).query.weight", $1.query.weight) }
                + indexed.map { ("heads.\($0).value.weight", $1.value.weight) }
                + projection.parameters(prefixedWith: "proj")
        case .packed:
            return [("key_query_value.weight", keyQueryValue!)] + projection.parameters(prefixedWith: "proj")
        }
    }

    /// The packed (3C, C) matrix as the reference model's per-head tensors: (name, (hs, C) view) in the
    /// order of `namedParameters`' per-head layout. The views share the matrix's numbers and gradient, so a
    /// checkpoint reads and writes through them.
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
