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

public final class Trainer {
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
    public private(set) var trainingSeconds = 0.0

    public init(model: LanguageModel, dataset: TokenDataset, hyperparameters: Hyperparameters) {
        self.model = model
        self.dataset = dataset
        self.hyperparameters = hyperparameters
        parameters = Parameters(model.namedParameters)
        optimizer = AdamW(for: parameters, weightDecay: hyperparameters.weightDecay)
        batchRandom = SeededRandom(seed: hyperparameters.seed &+ 1)
        evaluationRandom = SeededRandom(seed: hyperparameters.seed &+ 2)
    }

    public var tokensPerStep: Int { hyperparameters.batchSize * hyperparameters.blockSize }

    /// The mean loss over `evalIters` random batches of each split, with dropout off (gpt.py's estimate_loss).
    public func estimateLoss() -> (train: Float, val: Float) {
        func meanLoss(_ split: Split) -> Float {
            var total: Float = 0
            for _ in 0..<hyperparameters.evalIters {
                let batch = dataset.batch(split, batchSize: hyperparameters.batchSize,
                                          blockSize: hyperparameters.blockSize, random: evaluationRandom)
                total += loss(on: batch, training: false).scalar
            }
            return total / Float(hyperparameters.evalIters)
        }
        return (meanLoss(.train), meanLoss(.val))
    }

    public func loss(on batch: Batch, training: Bool) -> Tensor {
        let logits = model.logits(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize, training: training)
        return crossEntropy(logits, targets: batch.targets)
    }

    /// One optimizer step. Returns the training loss of its batch.
    @discardableResult
    public func trainStep() -> Float {
        let batch = dataset.batch(.train, batchSize: hyperparameters.batchSize, blockSize: hyperparameters.blockSize,
                                  random: batchRandom)
        parameters.zeroGrad()
        let loss = loss(on: batch, training: true)
        loss.backward()
        if hyperparameters.gradientClip > 0 { parameters.clipGradNorm(to: hyperparameters.gradientClip) }
        optimizer.update(parameters, learningRate: hyperparameters.schedule.rate(at: step))
        step += 1
        return loss.scalar
    }

    /// Runs every step, estimating the loss at step 0, every `evalInterval` steps and at the end, and
    /// prints the fixed log line for each (`step 500: train loss 2.0008, val loss 2.0863`).
    public func train(log: (String) -> Void = { print($0) }) {
        let progress = ProgressLine(totalSteps: hyperparameters.steps, tokensPerStep: tokensPerStep)
        while step < hyperparameters.steps {
            if step % hyperparameters.evalInterval == 0 { evaluate(log: log) }
            let started = DispatchTime.now().uptimeNanoseconds
            let loss = trainStep()
            trainingSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            progress.update(step: step, loss: loss, trainingSeconds: trainingSeconds)
        }
        progress.finish()
        evaluate(log: log)
    }

    private func evaluate(log: (String) -> Void) {
        if let last = evaluations.last, last.step == step { return }
        let (train, val) = estimateLoss()
        evaluations.append(Evaluation(step: step, tokensSeen: step * tokensPerStep, trainLoss: train, valLoss: val))
        log(String(format: "step %d: train loss %.4f, val loss %.4f", step, train, val))
        fflush(stdout)   // show it now, even when the output goes to a file or a pipe
    }

    /// Training tokens per second of pure training time (evaluation excluded).
    public var tokensPerSecond: Double { trainingSeconds > 0 ? Double(step * tokensPerStep) / trainingSeconds : 0 }
}

/// `step 120/5000 | loss 2.3456 | 41,200 tok/s | 1m20s left`, redrawn in place on a terminal (stderr),
/// or printed every tenth of the run when the output is a file.
final class ProgressLine {
    let totalSteps: Int, tokensPerStep: Int
    let interactive = isatty(STDERR_FILENO) != 0
    var lastPrinted = -1.0

    init(totalSteps: Int, tokensPerStep: Int) { self.totalSteps = totalSteps; self.tokensPerStep = tokensPerStep }

    func update(step: Int, loss: Float, trainingSeconds: Double) {
        let now = Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
        let every = interactive ? 0.25 : .infinity
        let tenth = max(1, totalSteps / 10)
        guard now - lastPrinted >= every || (!interactive && step % tenth == 0) || step == totalSteps else { return }
        lastPrinted = now
        let rate = Double(step * tokensPerStep) / max(trainingSeconds, 1e-9)
        let left = Double(totalSteps - step) * trainingSeconds / Double(max(step, 1))
        let line = String(format: "step %d/%d | loss %.4f | %@ tok/s | %@ left", step, totalSteps, loss,
                          Self.grouped(Int(rate)), Self.duration(left))
        if interactive {
            fflush(stdout)
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            print(line)   // into the same stream as the log lines, so a saved log reads in order
            fflush(stdout)
        }
    }

    func finish() { if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        return String(digits.reversed().enumerated().map { $0.offset > 0 && $0.offset % 3 == 0 ? ",\($0.element)" : "\($0.element)" }
            .joined().reversed())
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
