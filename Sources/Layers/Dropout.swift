import TensorCore

/// nn.Dropout: while training, zeroes each activation with `probability` (and scales the rest by
/// 1 / (1 - probability)); at evaluation, does nothing. One instance can serve a whole model: it holds the
/// probability, the seed of its masks (apart from the one that drew the weights) and how many masks it has
/// drawn. Mask number n is Philox stream n of the seed (Random.swift), so a mask depends only on the seed,
/// its number and the element: the same on every backend, in any order of computation.
public final class Dropout {
    public let probability: Float
    public var seed: UInt64
    /// Masks drawn so far; the next one is stream `masksDrawn` (saved with a training checkpoint).
    public var masksDrawn: UInt64 = 0

    public init(probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
        self.probability = probability
        self.seed = seed
    }

    /// No dropout at all.
    public static var none: Dropout { Dropout(probability: 0, seed: 0) }

    public func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        guard training, probability > 0 else { return x }
        defer { masksDrawn &+= 1 }
        return dropout(x, probability: probability, training: true, seed: seed, stream: masksDrawn)
    }
}
