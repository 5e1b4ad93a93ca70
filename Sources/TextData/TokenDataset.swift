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

    public init(inputs: [Int], targets: [Int], batchSize: Int, blockSize: Int) {
        self.inputs = inputs; self.targets = targets; self.batchSize = batchSize; self.blockSize = blockSize
    }
}

public struct TokenDataset: Sendable {
    public let train: [Int]
    public let val: [Int]
    /// How many characters (Unicode scalars) each split's tokens stand for: with them, a loss per token
    /// becomes a loss per character, comparable across tokenizers. Nil when built from bare tokens.
    public let characterCounts: (train: Int, val: Int)?

    /// The first 90% of the text by characters: what the model (and a BPE tokenizer) may learn from.
    public static func trainingText(of text: String, trainFraction: Double = 0.9) -> String {
        cut(text, trainFraction: trainFraction).train
    }

    static func cut(_ text: String, trainFraction: Double) -> (train: String, val: String) {
        let scalars = text.unicodeScalars
        let cut = scalars.index(scalars.startIndex, offsetBy: Int(Double(scalars.count) * trainFraction))
        return (String(scalars[..<cut]), String(scalars[cut...]))
    }

    /// Cuts the *text* 90/10 (by characters), then encodes each part, so that models with different
    /// tokenizers are measured on exactly the same validation text. With one token per character this is
    /// the same split as cutting the tokens.
    public init(text: String, tokenizer: Tokenizer, trainFraction: Double = 0.9, blockSize: Int) throws {
        let (trainText, valText) = Self.cut(text, trainFraction: trainFraction)
        try self.init(train: try tokenizer.encode(trainText), val: try tokenizer.encode(valText),
                      characterCounts: (trainText.unicodeScalars.count, valText.unicodeScalars.count), blockSize: blockSize)
    }

    /// Characters per token of a split (1 for a character tokenizer; for byte pairs on English, about 2 at
    /// 512 tokens, more with larger vocabularies); nil for a dataset made from bare tokens, which has no
    /// characters to count.
    public func charactersPerToken(in split: Split) -> Double? {
        guard let counts = characterCounts else { return nil }
        return Double(split == .train ? counts.train : counts.val) / Double(max(self[split].count, 1))
    }

    /// Splits `tokens` 90/10 (by default) and checks that both parts can fill a block of `blockSize` + 1.
    public init(tokens: [Int], trainFraction: Double = 0.9, blockSize: Int) throws {
        let cut = Int(Double(tokens.count) * trainFraction)
        try self.init(train: Array(tokens[..<cut]), val: Array(tokens[cut...]), characterCounts: nil, blockSize: blockSize)
    }

    private init(train: [Int], val: [Int], characterCounts: (train: Int, val: Int)?, blockSize: Int) throws {
        guard blockSize > 0 else { throw TextDataError("block size must be positive, got \(blockSize)") }
        self.train = train; self.val = val; self.characterCounts = characterCounts
        guard train.count > blockSize, val.count > blockSize else {
            throw TextDataError("text too short: \(train.count + val.count) tokens give \(train.count) for training and "
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
