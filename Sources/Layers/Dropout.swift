import TensorCore

/// nn.Dropout: while training, zeroes each activation with `probability` (and scales the rest by
/// 1 / (1 - probability)); at evaluation, does nothing. One instance can serve a whole model: it holds the
/// probability and the generator that draws the masks, kept apart from the one that drew the weights.
public final class Dropout {
    public let probability: Float
    /// The generator that draws the masks (its state is saved with a training checkpoint).
    public let random: SeededRandom

    public init(probability: Float, random: SeededRandom) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
        self.probability = probability
        self.random = random
    }

    /// No dropout at all.
    public static var none: Dropout { Dropout(probability: 0, random: SeededRandom(seed: 0)) }

    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        dropout(x, probability: probability, training: training, random: random)
    }
}
