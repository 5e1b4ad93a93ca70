// Chapter 02: one head of self-attention.
import Layers
import TensorCore

/// One head of self-attention. Every position emits a query ("what am I looking for?"), a key ("what do
/// I contain?") and a value ("what I will tell you"). Position t attends to positions s <= t with weights
/// softmax(q_t . k_s / sqrt(headSize)) and returns the weighted sum of their values.
public final class Head: Module {
    public let key: Linear, query: Linear, value: Linear
    public let headSize: Int
    /// What the scores q . k are multiplied by: 1/sqrt(headSize), or 1 for a Head built with `scaled: false`
    /// (chapter 02 trains one both ways).
    public let scoreScale: Float
    let dropout: Dropout
    /// The attention weights (B, T, T) of the latest call, kept for heatmaps (no hooks needed).
    public private(set) var lastAttention: Tensor?

    public init(embeddingSize: Int, headSize: Int, scaled: Bool = true, dropout: Dropout = .none, random: SeededRandom) {
        key = Linear(embeddingSize, headSize, bias: false, random: random)
        query = Linear(embeddingSize, headSize, bias: false, random: random)
        value = Linear(embeddingSize, headSize, bias: false, random: random)
        self.headSize = headSize
        scoreScale = scaled ? 1 / Float(headSize).squareRoot() : 1
        self.dropout = dropout
    }

    /// x (B, T, C) -> (B, T, headSize)
    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        let k = key(x)                                          // (B, T, hs)
        let q = query(x)                                        // (B, T, hs)
        // Affinities, scaled by 1/sqrt(hs): for q and k with entries of unit size, q . k has variance hs, and
        // unscaled a larger head would start at a softmax nearer a one-hot, whose gradient vanishes; scaled, the
        // variance is 1 for any hs. Where training then takes them is up to the loss (chapter 02 measures both).
        let scores = scale(matmul(q, k, transposeB: true), by: scoreScale)   // (B, T, T)
        let weights = softmax(scores, causal: true)             // (B, T, T), zero above the diagonal
        lastAttention = weights
        return matmul(dropout(weights, training: training), value(x))                        // (B, T, T) @ (B, T, hs) -> (B, T, hs)
    }

    public var namedParameters: [(String, Tensor)] {
        key.parameters(prefixedWith: "key") + query.parameters(prefixedWith: "query")
            + value.parameters(prefixedWith: "value")
    }
}
