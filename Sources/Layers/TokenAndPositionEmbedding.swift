// Chapter 02 onwards: what a position holds before any attention.
import TensorCore

/// Token identity plus position: x[b, t] = tokenTable[id[b, t]] + positionTable[t]. Attention on its own
/// is order-blind (a weighted sum does not care where its terms came from), so each position adds a
/// learned vector saying where it is.
public final class TokenAndPositionEmbedding: Module {
    public let token: Embedding      // (V, C)
    public let position: Embedding   // (blockSize, C)

    public init(vocabularySize: Int, blockSize: Int, embeddingSize: Int, random: SeededRandom) {
        token = Embedding(vocabularySize, embeddingSize, random: random)
        position = Embedding(blockSize, embeddingSize, random: random)
    }

    /// ids (B, T) at positions first ..< first + T -> (B, T, C)
    public func callAsFunction(_ ids: [Int], batchSize: Int, length: Int, firstPosition first: Int = 0) -> Tensor {
        let tokens = token(ids, shape: [batchSize, length])                 // (B, T, C)
        let positions = position(Array(first..<(first + length)), shape: [length])   // (T, C), broadcast over B
        return tokens + positions
    }

    // Named as the top-level tables of the reference NanoGPT.
    public var namedParameters: [(String, Tensor)] {
        token.parameters(prefixedWith: "token_embedding_table") + position.parameters(prefixedWith: "position_embedding_table")
    }
}
