// Chapter 03: several heads of attention in parallel.
import Layers
import TensorCore

/// `heads` Heads of size C / heads side by side: each can attend to something different (one to the
/// previous character, one to the start of the word, ...). Their outputs are concatenated back to C
/// channels and mixed by a projection, then dropout.
public final class MultiHead: Module {
    public let heads: [Head]
    public let projection: Linear
    let dropout: Dropout

    public init(headCount: Int, embeddingSize: Int, dropout: Dropout = .none, random: SeededRandom) {
        precondition(embeddingSize % headCount == 0, "embedding size must be divisible by the number of heads")
        heads = (0..<headCount).map { _ in
            Head(embeddingSize: embeddingSize, headSize: embeddingSize / headCount, dropout: dropout, random: random)
        }
        projection = Linear(embeddingSize, embeddingSize, random: random)
        self.dropout = dropout
    }

    /// x (B, T, C) -> (B, T, C)
    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        let joined = concatenate(heads.map { $0(x, training: training) })   // n x (B, T, hs) -> (B, T, C)
        return dropout(projection(joined), training: training)
    }

    /// Each head's latest attention weights, (B, T, T) each.
    public var lastAttention: [Tensor] { heads.compactMap(\.lastAttention) }

    public var namedParameters: [(String, Tensor)] {
        heads.enumerated().flatMap { $1.parameters(prefixedWith: "heads.\($0)") } + projection.parameters(prefixedWith: "proj")
    }
}
