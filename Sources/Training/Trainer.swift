// The training loop every chapter shares: sample a batch, forward, cross-entropy, backward, AdamW,
// and now and then estimate the loss on both splits.
import Foundation
import TensorCore
import TextData

/// One loss estimate during training.
public struct Evaluation: Codable, Sendable {
    public var step: Int
    public var tokensSeen: Int
    public var trainLoss: Float
    public var valLoss: Float
}

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(step: Int, loss: Float)
    case invalidState(String)
    case replicasDiffer(step: Int)

    public var description: String {
        switch self {
        case .diverged(let step, let loss): return "training diverged at step \(step): the loss is \(loss)"
        case .invalidState(let reason): return "cannot resume: \(reason)"
        case .replicasDiffer(let step):
            return "the processes' weights differ at step \(step): they no longer train one model (a process changed its own?)"
        }
    }
}

public class Trainer {
    public let model: LanguageModel
    public let parameters: Parameters
    public let optimizer: AdamW
    public let dataset: TokenDataset
    public let hyperparameters: Hyperparameters
    /// Training batches and evaluation batches come from separate generators, so how often we evaluate
    /// never changes which batches we train on.
    let batchRandom: SeededRandom, evaluationRandom: SeededRandom
    public private(set) var step = 0
    public private(set) var evaluations: [Evaluation] = []
    /// The training loss of every step's batch, in order (noisy: one batch each; the evaluations average many).
    public private(set) var stepLosses: [Float] = []
    public private(set) var trainingSeconds = 0.0

    public init(model: LanguageModel, dataset: TokenDataset, hyperparameters: Hyperparameters) {
        self.model = model
        self.dataset = dataset
        self.hyperparameters = hyperparameters
        parameters = model.parameterArena ?? Parameters(model.namedParameters)   // one arena per model
        optimizer = AdamW(for: parameters, weightDecay: hyperparameters.weightDecay)
        batchRandom = SeededRandom(seed: hyperparameters.seed, stream: .batches)
        evaluationRandom = SeededRandom(seed: hyperparameters.seed, stream: .evaluation)
    }

    public var tokensPerStep: Int { hyperparameters.batchSize * hyperparameters.blockSize }

    /// The mean loss over `evalIters` random batches of each split, with dropout off (gpt.py's estimate_loss).
    public func estimateLoss() -> (train: Float, val: Float) {
        withoutGradients { (meanLoss(.train), meanLoss(.val)) }   // @torch.no_grad()
    }

    /// The mean loss of `evalIters` batches of `split`.
    func meanLoss(_ split: Split) -> Float {
        var total: Float = 0
        for _ in 0..<hyperparameters.evalIters {
            let batch = dataset.batch(split, batchSize: hyperparameters.batchSize, blockSize: hyperparameters.blockSize,
                                      random: evaluationRandom)
            total += loss(on: batch, training: false).scalar
        }
        return total / Float(hyperparameters.evalIters)
    }

    public func loss(on batch: Batch, training: Bool) -> Tensor {
        let logits = model.logits(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize, training: training)
        return crossEntropy(logits, targets: batch.targets)
    }

    /// One optimizer step, gpt.py's loop body. Returns the training loss of its batch.
    @discardableResult
    public func trainStep() -> Float {
        let batch = dataset.batch(.train, batchSize: hyperparameters.batchSize, blockSize: hyperparameters.blockSize,
                                  random: batchRandom)                                      // xb, yb = get_batch('train')
        parameters.zeroGrad()                                                               // optimizer.zero_grad()
        let loss = lossAndGradient(of: batch)                                               // model(xb, yb); loss.backward()
        if hyperparameters.gradientClip > 0 { parameters.clipGradNorm(to: hyperparameters.gradientClip) }
        optimizer.update(parameters, learningRate: hyperparameters.schedule.rate(at: step)) // optimizer.step()
        step += 1
        stepLosses.append(loss)
        return loss
    }

    /// The batch's loss, with its gradient in every parameter's `grad`: one forward and one backward pass
    /// over the whole batch. (Chapter 07's DataParallelTrainer computes the same gradient in pieces.)
    func lossAndGradient(of batch: Batch) -> Float {
        let loss = loss(on: batch, training: true)
        loss.backward()
        return loss.scalar
    }

    /// Runs every step, estimating the loss at step 0, every `evalInterval` steps and at the end, and
    /// prints the fixed log line for each (`step N: train loss L, val loss L`, the loss with 4 decimals).
    ///
    /// `afterEvaluation` runs after each estimate (to save a checkpoint, redraw a plot). `shouldStop` is
    /// asked before every step (Ctrl-C); when it says yes, training returns early without a final estimate.
    /// A loss that is NaN or infinite stops training with `TrainingError.diverged`.
    public func train(log: (String) -> Void = { print($0) }, afterEvaluation: (Evaluation) throws -> Void = { _ in },
                      shouldStop: () -> Bool = { false }) throws {
        let progress = ProgressLine(totalSteps: hyperparameters.steps, tokensPerStep: tokensPerStep, shown: showsProgress)
        defer { progress.finish() }
        while step < hyperparameters.steps {
            if step % hyperparameters.evalInterval == 0, let evaluation = evaluate(log: log) {
                try afterEvaluation(evaluation)
            }
            if shouldStop() { return }
            let started = DispatchTime.now().uptimeNanoseconds
            let loss = trainStep()
            trainingSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            guard loss.isFinite else { throw TrainingError.diverged(step: step, loss: loss) }
            progress.update(step: step, loss: loss, trainingSeconds: trainingSeconds)
        }
        progress.finish()   // clears the progress line before the last estimate prints (the defer covers a return)
        if let evaluation = evaluate(log: log) { try afterEvaluation(evaluation) }
    }

    /// Whether `train` draws its progress line on the terminal (in a data-parallel run, process 0 alone).
    var showsProgress: Bool { true }

    /// Estimates the loss now and logs it, unless this step was already estimated.
    private func evaluate(log: (String) -> Void) -> Evaluation? {
        if let last = evaluations.last, last.step == step { return nil }
        let (train, val) = estimateLoss()
        let evaluation = Evaluation(step: step, tokensSeen: step * tokensPerStep, trainLoss: train, valLoss: val)
        evaluations.append(evaluation)
        log(String(format: "step %d: train loss %.4f, val loss %.4f", step, train, val))
        fflush(stdout)   // show it now, even when the output goes to a file or a pipe
        return evaluation
    }

    // MARK: Saving and restoring the whole training state (for exact resumption)

    /// Everything besides the parameters and the optimizer moments that the next step depends on.
    public struct State: Codable, Sendable {
        public var step: Int
        public var optimizerStep: Int
        public var batchRandom: [UInt64]
        public var evaluationRandom: [UInt64]
        public var evaluations: [Evaluation]
        public var trainingSeconds: Double
        /// Absent in states saved before per-step losses were kept.
        public var stepLosses: [Float]?

        /// Why a state read from a file cannot be the state of a run at `step`, or nil when it can.
        public func problem(atStep expected: Int) -> String? {
            guard step == expected else { return "step is \(step) but the model was saved at step \(expected)" }
            guard step >= 0, step <= 1 << 40, optimizerStep >= 0, optimizerStep <= step else {   // 2^40: the steps limit
                return "step \(step) and optimizerStep \(optimizerStep) are not a step count"
            }
            guard batchRandom.count == 4, evaluationRandom.count == 4, batchRandom != [0, 0, 0, 0],
                  evaluationRandom != [0, 0, 0, 0] else { return "the random generator states are invalid" }
            guard trainingSeconds >= 0, trainingSeconds.isFinite else { return "trainingSeconds is \(trainingSeconds)" }
            guard evaluations.allSatisfy({ (0...step).contains($0.step) && $0.tokensSeen >= 0 }),
                  zip(evaluations, evaluations.dropFirst()).allSatisfy({ $0.step < $1.step }) else {
                return "the evaluations are not at increasing steps up to \(step)"
            }
            return nil
        }
    }

    public var state: State {
        State(step: step, optimizerStep: optimizer.step, batchRandom: batchRandom.state,
              evaluationRandom: evaluationRandom.state, evaluations: evaluations, trainingSeconds: trainingSeconds,
              stepLosses: stepLosses)
    }

    /// Continues from a saved state. The parameters and the optimizer moments are restored separately
    /// (they live in the arena and in AdamW).
    public func restore(_ saved: State) throws {
        if let problem = saved.problem(atStep: saved.step) { throw TrainingError.invalidState(problem) }
        step = saved.step
        optimizer.step = saved.optimizerStep
        batchRandom.state = saved.batchRandom
        evaluationRandom.state = saved.evaluationRandom
        evaluations = saved.evaluations
        trainingSeconds = saved.trainingSeconds
        stepLosses = saved.stepLosses.flatMap { $0.count == saved.step ? $0 : nil } ?? []
    }

    /// Training tokens per second of pure training time (evaluation excluded).
    public var tokensPerSecond: Double { trainingSeconds > 0 ? Double(step * tokensPerStep) / trainingSeconds : 0 }
}
