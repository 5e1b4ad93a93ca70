// Chapter 04: the computation half of a Transformer block.
import Layers
import TensorCore

/// A small MLP applied to every position on its own: Linear to 4C, ReLU, Linear back to C, dropout.
/// Attention lets positions talk to each other; this is where each one thinks about what it heard.
public final class FeedForward: Module {
    public let expand: Linear, contract: Linear
    let dropout: Dropout

    public init(embeddingSize: Int, dropout: Dropout = .none, random: SeededRandom) {
        expand = Linear(embeddingSize, 4 * embeddingSize, random: random)
        contract = Linear(4 * embeddingSize, embeddingSize, random: random)
        self.dropout = dropout
    }

    /// x (B, T, C) -> (B, T, 4C) -> (B, T, C)
    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        dropout(contract(relu(expand(x))), training: training)
    }

    // PyTorch's nn.Sequential(Linear, ReLU, Linear, Dropout) numbers its layers 0, 1, 2, 3.
    public var namedParameters: [(String, Tensor)] {
        expand.parameters(prefixedWith: "net.0") + contract.parameters(prefixedWith: "net.2")
    }
}

// Generation's decode path (chapter 08).
extension FeedForward {
    /// `callAsFunction` for one position, into buffers the caller owns: x (C) -> hidden (4C) -> y (C).
    public func decode(_ x: Storage, into y: Storage, hidden: Storage) {
        expand.decode(x, into: hidden)
        x.backend.relu(hidden, out: hidden)
        contract.decode(hidden, into: y)
    }
}
