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

    /// A setting that cannot work, named by its field (`batchSize`), so that a flag can be named as a flag
    /// and a saved run as its file.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let field: String
        /// What is wrong, where another field it mentions is written {likeThis}.
        public let problem: String
        public var description: String { described { $0 } }
        /// "<field> <problem>", every field spelled by `name` (a flag, or "hyperparameters.heads").
        public func described(naming name: (String) -> String) -> String {
            var text = problem
            while let open = text.firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") {
                text.replaceSubrange(open...close, with: name(String(text[text.index(after: open)..<close])))
            }
            return "\(name(field)) \(text)"
        }
    }

    /// The largest value of each size: far above what a CPU trains. Products of them are checked in
    /// `validate` (the tokens of a whole run, steps × B × T, must fit in 62 bits).
    public static let limits: [(field: String, limit: Int)] = [
        ("steps", 1 << 40), ("batchSize", 1 << 16), ("blockSize", 1 << 20), ("embeddingSize", 1 << 16), ("heads", 1 << 12),
        ("layers", 1 << 10), ("warmupSteps", 1 << 40), ("decaySteps", 1 << 40), ("evalInterval", 1 << 40),
        ("evalIters", 1 << 20), ("maxNewTokens", 1 << 30)]

    /// The one check of a run's settings: for chapter defaults, for flags on top of them, and for the
    /// settings a resumed run read back from its checkpoint. Throws the first setting that cannot work.
    public func validate() throws {
        func limit(_ field: String) -> Int { Self.limits.first { $0.field == field }!.limit }
        func check(_ value: Int, _ field: String, atLeast minimum: Int) throws {
            guard value >= minimum else {
                throw Invalid(field: field, problem: minimum == 1 ? "must be positive, got \(value)" : "cannot be negative, got \(value)")
            }
            guard value <= limit(field) else { throw Invalid(field: field, problem: "is \(value), above the limit of \(limit(field))") }
        }
        try check(steps, "steps", atLeast: 1); try check(batchSize, "batchSize", atLeast: 1)
        try check(blockSize, "blockSize", atLeast: 1); try check(embeddingSize, "embeddingSize", atLeast: 1)
        try check(heads, "heads", atLeast: 1); try check(layers, "layers", atLeast: 1)
        try check(warmupSteps, "warmupSteps", atLeast: 0)
        if let decaySteps { try check(decaySteps, "decaySteps", atLeast: 1) }
        try check(evalInterval, "evalInterval", atLeast: 1); try check(evalIters, "evalIters", atLeast: 1)
        try check(maxNewTokens, "maxNewTokens", atLeast: 0)
        let (perStep, overflowA) = batchSize.multipliedReportingOverflow(by: blockSize)
        let (total, overflowB) = perStep.multipliedReportingOverflow(by: steps)
        guard !overflowA, !overflowB, total < 1 << 62 else {
            throw Invalid(field: "steps", problem: "\(steps) × {batchSize} \(batchSize) × {blockSize} \(blockSize) tokens is more than a count can hold")
        }
        guard embeddingSize % heads == 0 else {
            throw Invalid(field: "embeddingSize", problem: "\(embeddingSize) is not divisible by {heads} \(heads)")
        }
        guard learningRate > 0, learningRate.isFinite else {
            throw Invalid(field: "learningRate", problem: "must be a positive number, got \(learningRate)")
        }
        guard minLearningRate > 0, minLearningRate.isFinite else {
            throw Invalid(field: "minLearningRate", problem: "must be a positive number, got \(minLearningRate)")
        }
        guard minLearningRate <= learningRate else {
            throw Invalid(field: "minLearningRate", problem: "\(minLearningRate) is above the peak {learningRate} \(learningRate)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw Invalid(field: "weightDecay", problem: "must be a non-negative number, got \(weightDecay)")
        }
        guard gradientClip >= 0, gradientClip.isFinite else {
            throw Invalid(field: "gradientClip", problem: "must be a non-negative number (0: off), got \(gradientClip)")
        }
        guard dropout >= 0, dropout < 1 else { throw Invalid(field: "dropout", problem: "must be in [0, 1), got \(dropout)") }
    }

    /// The knobs that shape a model. An earlier chapter's model has only some of them (the bigram has none).
    public struct ModelKnobs: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let embeddingSize = ModelKnobs(rawValue: 1), heads = ModelKnobs(rawValue: 2)
        public static let layers = ModelKnobs(rawValue: 4), dropout = ModelKnobs(rawValue: 8)
        public static let all: ModelKnobs = [.embeddingSize, .heads, .layers, .dropout]
    }

    /// One line per knob, for the top of a chapter's output: every training knob, and of the model's
    /// only those in `model`.
    public func table(showing model: ModelKnobs = .all) -> String {
        let modelRows: [(ModelKnobs, String, String)] = [
            (.embeddingSize, "embedding size C", "\(embeddingSize)"), (.heads, "heads", "\(heads)"), (.layers, "layers", "\(layers)")]
        return ([("steps", "\(steps)"), ("batch size B", "\(batchSize)"), ("block size T", "\(blockSize)")]
            + modelRows.filter { model.contains($0.0) }.map { ($0.1, $0.2) }
            + [("learning rate", minLearningRate == learningRate ? "\(learningRate) (constant)"
                : "\(learningRate) -> \(minLearningRate) (\(warmupSteps > 0 ? "warmup \(warmupSteps), " : "")cosine to step \(decaySteps ?? steps))"),
               ("weight decay", "\(weightDecay)")]
            + (gradientClip > 0 ? [("gradient clip", "\(gradientClip)")] : [])   // off: not worth a line
            + (model.contains(.dropout) ? [("dropout", "\(dropout)")] : [])
            + [("seed", "\(seed)"), ("eval", "every \(evalInterval) steps, \(evalIters) batches")])
            .map { "  \($0.0.padding(toLength: 18, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
    }

    /// Every knob: `table(showing: .all)`.
    public var table: String { table() }
}
