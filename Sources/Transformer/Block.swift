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

    /// x (B, T, C) -> (B, T, C). With a cache (generation), x holds the positions that follow the cached
    /// ones, and this block is layer `layer` of the cache.
    public func callAsFunction(_ x: Tensor, training: Bool, cache: KeyValueCache? = nil, layer: Int = 0) -> Tensor {
        let afterAttention = x + attention(norm1(x), training: training, cache: cache, layer: layer)
        return afterAttention + feedForward(norm2(afterAttention), training: training)
    }

    public var namedParameters: [(String, Tensor)] {
        attention.parameters(prefixedWith: "sa") + feedForward.parameters(prefixedWith: "ffwd")
            + norm1.parameters(prefixedWith: "ln1") + norm2.parameters(prefixedWith: "ln2")
    }
}
