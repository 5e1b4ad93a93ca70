// Chapter 04: the Transformer block.
import Attention
import Layers
import TensorCore

/// Communication followed by computation, each wrapped in a residual connection with LayerNorm in front
/// (pre-LayerNorm, as in GPT-2):
///     x = x + MultiHead(LayerNorm(x))
///     x = x + FeedForward(LayerNorm(x))
/// The residual path lets gradients flow straight from the loss to every block; LayerNorm keeps each
/// block's input at a steady scale. Together they make deep stacks trainable.
public final class Block: Module {
    public let attention: MultiHead
    public let feedForward: FeedForward
    public let norm1: LayerNorm, norm2: LayerNorm

    public init(embeddingSize: Int, headCount: Int, dropout: Dropout = .none, random: SeededRandom) {
        attention = MultiHead(headCount: headCount, embeddingSize: embeddingSize, dropout: dropout, random: random)
        feedForward = FeedForward(embeddingSize: embeddingSize, dropout: dropout, random: random)
        norm1 = LayerNorm(embeddingSize)
        norm2 = LayerNorm(embeddingSize)
    }

    /// x (B, T, C) -> (B, T, C).
    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        let afterAttention = x + attention(norm1(x), training: training)
        return afterAttention + feedForward(norm2(afterAttention), training: training)
    }

    public var namedParameters: [(String, Tensor)] {
        attention.parameters(prefixedWith: "sa") + feedForward.parameters(prefixedWith: "ffwd")
            + norm1.parameters(prefixedWith: "ln1") + norm2.parameters(prefixedWith: "ln2")
    }
}

// Generation with a key/value cache (chapter 05).
extension Block {
    /// x (B, T, C) -> (B, T, C) for the T positions that follow the cached ones; this block is layer `layer`
    /// of the cache. Generation only, so no dropout.
    public func callAsFunction(_ x: Tensor, cache: KeyValueCache, layer: Int) -> Tensor {
        let afterAttention = x + attention(norm1(x), cache: cache, layer: layer)
        return afterAttention + feedForward(norm2(afterAttention), training: false)
    }
}

// Generation's decode path (chapter 08).
extension Block {
    /// `callAsFunction` for one new position at batch 1: x (C) is updated in place, on
    /// buffers made once, with no Tensor, no record and no buffer taken. The two residual steps of `callAsFunction`, as
    /// `x += sublayer(norm(x))`.
    public func decode(_ x: Storage, cache: KeyValueCache, layer: Int, buffers b: DecodeBuffers) {
        norm1.decode(x, into: b.normed, mean: b.mean, rstd: b.rstd)
        attention.decode(b.normed, into: b.sublayer, cache: cache, layer: layer, buffers: b.attention)
        x.backend.accumulate(b.sublayer, into: x)                                  // x = x + MultiHead(LayerNorm(x))
        norm2.decode(x, into: b.normed, mean: b.mean, rstd: b.rstd)
        feedForward.decode(b.normed, into: b.sublayer, hidden: b.hidden)
        x.backend.accumulate(b.sublayer, into: x)                                  // x = x + FeedForward(LayerNorm(x))
    }

    /// What `decode` writes, made once per generation and shared by every block (they run one after the
    /// other): the normalized x (C), a sublayer's output (C), the feed-forward's hidden layer (4C), LayerNorm's
    /// two statistics, and the attention's own.
    public final class DecodeBuffers {
        public let normed: Storage, sublayer: Storage, hidden: Storage, mean: Storage, rstd: Storage
        public let attention: MultiHead.DecodeBuffers

        public init(embeddingSize c: Int, headCount: Int, capacity: Int, on backend: any Backend = Backends.current) {
            normed = Storage(count: c, on: backend); sublayer = Storage(count: c, on: backend)
            hidden = Storage(count: 4 * c, on: backend)
            mean = Storage(count: 1, on: backend); rstd = Storage(count: 1, on: backend)
            attention = MultiHead.DecodeBuffers(embeddingSize: c, headCount: headCount, capacity: capacity, on: backend)
        }
    }
}
