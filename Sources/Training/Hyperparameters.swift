// The knobs of a training run. Each chapter writes its defaults in a block at its top; every knob can
// also be set from the command line (TrainingOptions).
import TensorCore

public struct Hyperparameters: Codable, Sendable {
    public var steps: Int              // optimizer steps
    public var batchSize: Int          // B: sequences per step
    public var blockSize: Int          // T: context length in tokens
    public var embeddingSize: Int      // C: channels per position
    public var heads: Int              // attention heads per layer (head size = C / heads)
    public var layers: Int             // Transformer blocks
    public var learningRate: Float     // peak AdamW learning rate
    public var minLearningRate: Float  // where the cosine decay ends (= learningRate for a constant rate)
    public var warmupSteps: Int        // linear warmup from 0 to learningRate
    public var decaySteps: Int?        // where the cosine reaches minLearningRate (nil: at the last step)
    public var weightDecay: Float      // AdamW decay on matrices only
    public var gradientClip: Float     // max global gradient norm (0: no clipping)
    public var dropout: Float          // probability of zeroing an activation while training
    public var seed: UInt64            // everything random derives from this
    public var evalInterval: Int       // steps between loss estimates
    public var evalIters: Int          // batches averaged per estimate, for train and for val
    public var maxNewTokens: Int       // tokens sampled after training

    public init(steps: Int, batchSize: Int, blockSize: Int, embeddingSize: Int = 32, heads: Int = 1, layers: Int = 1,
                learningRate: Float, minLearningRate: Float? = nil, warmupSteps: Int = 0, decaySteps: Int? = nil,
                weightDecay: Float = 0,
                gradientClip: Float = 0, dropout: Float = 0, seed: UInt64 = 1337, evalInterval: Int, evalIters: Int,
                maxNewTokens: Int = 300) {
        self.steps = steps; self.batchSize = batchSize; self.blockSize = blockSize
        self.embeddingSize = embeddingSize; self.heads = heads; self.layers = layers
        self.learningRate = learningRate; self.minLearningRate = minLearningRate ?? learningRate
        self.warmupSteps = warmupSteps; self.decaySteps = decaySteps; self.weightDecay = weightDecay; self.gradientClip = gradientClip
        self.dropout = dropout; self.seed = seed; self.evalInterval = evalInterval; self.evalIters = evalIters
        self.maxNewTokens = maxNewTokens
    }

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(maxRate: learningRate, minRate: minLearningRate, warmupSteps: warmupSteps,
                             decaySteps: minLearningRate == learningRate ? 0 : (decaySteps ?? steps))
    }

    /// One line per knob, for the top of a chapter's output.
    public var table: String {
        [("steps", "\(steps)"), ("batch size B", "\(batchSize)"), ("block size T", "\(blockSize)"),
         ("embedding size C", "\(embeddingSize)"), ("heads", "\(heads)"), ("layers", "\(layers)"),
         ("learning rate", minLearningRate == learningRate ? "\(learningRate) (constant)"
            : "\(learningRate) -> \(minLearningRate) (warmup \(warmupSteps), cosine to step \(decaySteps ?? steps))"),
         ("weight decay", "\(weightDecay)"), ("gradient clip", gradientClip > 0 ? "\(gradientClip)" : "off"),
         ("dropout", "\(dropout)"), ("seed", "\(seed)"),
         ("eval", "every \(evalInterval) steps, \(evalIters) batches")]
            .map { "  \($0.0.padding(toLength: 18, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
    }
}
