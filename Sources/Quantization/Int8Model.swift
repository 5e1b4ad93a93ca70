// Chapter 08: a NanoGPT whose matrices run in int8 at inference. The model's own forward pass, unchanged:
// each Linear (and each MultiHead's packed key/query/value matrix) is given an `InferenceWeight`, which its
// product uses whenever no gradient is recorded. The embedding tables stay float32: they are looked up, not
// multiplied.
import Attention
import Layers
import NanoGPT
import TensorCore
import TextData
import Training

extension NanoGPT {
    /// Every matrix that multiplies, by its checkpoint name: each block's packed key/query/value matrix, its
    /// projection and its two feed-forward layers, and the output head. (The names of an int8 file.)
    public var multiplyingMatrices: [(name: String, weight: Tensor, set: (Int8Matrix?) -> Void)] {
        blocks.enumerated().flatMap { layer, block -> [(name: String, weight: Tensor, set: (Int8Matrix?) -> Void)] in
            let prefix = "blocks.\(layer)"
            return [("\(prefix).sa.key_query_value.weight", block.attention.keyQueryValue.weight, { block.attention.keyQueryValue.inferenceWeight = $0 }),
                    ("\(prefix).sa.proj.weight", block.attention.projection.weight, { block.attention.projection.inferenceWeight = $0 }),
                    ("\(prefix).ffwd.net.0.weight", block.feedForward.expand.weight, { block.feedForward.expand.inferenceWeight = $0 }),
                    ("\(prefix).ffwd.net.2.weight", block.feedForward.contract.weight, { block.feedForward.contract.inferenceWeight = $0 })]
        } + [("lm_head.weight", languageModelHead.weight, { self.languageModelHead.inferenceWeight = $0 })]
    }

    /// Quantizes every multiplying matrix to int8 blocks; from now on inference reads those (training
    /// still reads and updates the float32 weights, which stay as they are).
    public func useInt8Weights() {
        for matrix in multiplyingMatrices { matrix.set(Int8Matrix(quantizing: matrix.weight)) }
    }

    /// Inference reads the float32 weights again.
    public func useFloat32Weights() {
        for matrix in multiplyingMatrices { matrix.set(nil) }
    }

    /// Bytes of the weights a token's forward pass reads, at float32 or int8: every multiplying matrix,
    /// plus one row of each embedding table (and the norms and biases, in float32).
    public func weightBytesPerToken(int8: Bool) -> Int {
        let matrices = multiplyingMatrices.map { int8 ? Int8Matrix.storedBytes(rows: $0.weight.shape[0], columns: $0.weight.shape[1])
                                                      : 4 * $0.weight.count }
        let matrixCount = multiplyingMatrices.reduce(0) { $0 + $1.weight.count }
        let others = namedParameters.reduce(0) { $0 + $1.1.count } - matrixCount
            - config.vocabularySize * config.embeddingSize - config.blockSize * config.embeddingSize   // the tables
        return matrices.reduce(0, +) + 4 * (others + 2 * config.embeddingSize)
    }
}

extension Int8Matrix {
    /// Bytes a (rows, columns) matrix takes in Q8_0 blocks.
    public static func storedBytes(rows: Int, columns: Int) -> Int {
        let blocks = (columns + blockSize - 1) / blockSize
        return rows * blocks * (blockSize + 2)
    }
}

/// What int8 weights cost a model: its val loss in float32 and in int8 on the same batches, and how long
/// greedy decoding (always the most likely token) stays the same. Chapter 08 and `nanogpt quantize --data`
/// measure it.
public struct Int8Quality: Sendable {
    public var float32Loss: Float, int8Loss: Float
    /// The greedy tokens of each, from the same start.
    public var float32Tokens: [Int], int8Tokens: [Int]
    /// How many of the first greedy tokens are the same.
    public var agreeing: Int { zip(float32Tokens, int8Tokens).prefix { $0 == $1 }.count }

    /// Measures `model` (left reading float32 weights) on `evaluationBatches` validation batches of `batchSize`
    /// sequences drawn with `seed` (the same batches both ways), and `greedyTokens` greedy tokens after `start`.
    public init(of model: NanoGPT, dataset: TokenDataset, evaluationBatches: Int, batchSize: Int, seed: UInt64,
                greedyTokens: Int, start: Int) {
        var settings = Hyperparameters.nanoGPT
        settings.blockSize = model.config.blockSize; settings.batchSize = batchSize
        settings.evalIters = evaluationBatches; settings.seed = seed
        func validationLoss() -> Float { Trainer(model: model, dataset: dataset, hyperparameters: settings).estimateLoss().val }
        func greedy() -> [Int] {
            Array(model.generateStream(prompt: [start], maxNewTokens: greedyTokens, options: SamplingOptions(topK: 1),
                                       random: SeededRandom(seed: seed)))
        }
        model.useFloat32Weights()
        (float32Loss, float32Tokens) = (validationLoss(), greedy())
        model.useInt8Weights()
        (int8Loss, int8Tokens) = (validationLoss(), greedy())
        model.useFloat32Weights()
    }
}
