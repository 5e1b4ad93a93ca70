// Turning a stream of token ids into training examples.
//
// The first 90% of the tokens train the model; the last 10% (val) only measure it, so we can see when it
// starts memorizing instead of generalizing. A batch is B random windows of T + 1 consecutive tokens: the
// first T are the input, and the same window shifted by one is the target, so one window holds T
// examples at once (predict token t+1 from tokens 0...t, for every t).
import TensorCore

public enum Split: String, Sendable, CaseIterable { case train, val }

/// B sequences of T token ids, and the T ids that follow each position. Both row-major (B, T).
public struct Batch: Sendable {
    public var inputs: [Int]
    public var targets: [Int]
    public var batchSize: Int
    public var blockSize: Int
}

public struct TokenDataset: Sendable {
    public let train: [Int]
    public let val: [Int]

    /// Splits `tokens` 90/10 (by default) and checks that both parts can fill a block of `blockSize` + 1.
    public init(tokens: [Int], trainFraction: Double = 0.9, blockSize: Int) throws {
        guard blockSize > 0 else { throw TextDataError("block size must be positive, got \(blockSize)") }
        let cut = Int(Double(tokens.count) * trainFraction)
        train = Array(tokens[..<cut])
        val = Array(tokens[cut...])
        guard train.count > blockSize, val.count > blockSize else {
            throw TextDataError("text too short: \(tokens.count) tokens give \(train.count) for training and "
                                + "\(val.count) for validation, but each needs more than block size \(blockSize); "
                                + "use more text or a smaller --block-size")
        }
    }

    public subscript(split: Split) -> [Int] { split == .train ? train : val }

    /// B windows starting at random offsets of the chosen split.
    public func batch(_ split: Split, batchSize: Int, blockSize: Int, random: SeededRandom) -> Batch {
        let data = self[split]
        var inputs: [Int] = [], targets: [Int] = []
        inputs.reserveCapacity(batchSize * blockSize)
        targets.reserveCapacity(batchSize * blockSize)
        for _ in 0..<batchSize {
            let start = random.integer(below: data.count - blockSize)
            inputs += data[start..<(start + blockSize)]
            targets += data[(start + 1)...(start + blockSize)]
        }
        return Batch(inputs: inputs, targets: targets, batchSize: batchSize, blockSize: blockSize)
    }
}
