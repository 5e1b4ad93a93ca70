// Chapter 07: the Trainer's step computed in pieces, on several processes and in micro-batches. Only how a
// step's gradient and the loss estimates are computed changes (and the checks that keep the processes
// together); the step itself, AdamW and the schedule are the Trainer's.
import TensorCore
import TextData

/// A Trainer whose every step splits its batch of B sequences between the processes of a data-parallel run,
/// and each process's slice into micro-batches (gradient accumulation). Neither changes what a step computes,
/// only where and in how many pieces: the gradient is the mean over the same B sequences either way.
public final class DataParallelTrainer: Trainer {
    /// The other processes of the run (nil: this one trains alone, in micro-batches).
    public let processes: ProcessGroup?
    /// How many micro-batches each process's slice of the batch is cut into.
    public let accumulationSteps: Int

    /// `hyperparameters.batchSize` must divide into `processes.size` × `accumulationSteps` equal parts.
    public init(model: LanguageModel, dataset: TokenDataset, hyperparameters: Hyperparameters,
                processes: ProcessGroup?, accumulationSteps: Int = 1) {
        let parts = (processes?.size ?? 1) * accumulationSteps
        precondition(accumulationSteps >= 1 && hyperparameters.batchSize % parts == 0,
                     "a batch of \(hyperparameters.batchSize) does not split into \(parts) equal parts")
        self.processes = processes
        self.accumulationSteps = accumulationSteps
        super.init(model: model, dataset: dataset, hyperparameters: hyperparameters)
    }

    /// The gradient of the mean loss over `batch`, computed in pieces: every process takes its contiguous
    /// slice of B / N sequences, cuts it into K micro-batches of B / (N K), and adds up their gradients,
    /// each scaled by 1 / K (the engine adds a second backward's gradients to the first's); then the
    /// processes average theirs. The mean of means of equal parts is the mean of the whole: only the order
    /// of the float sums differs from one process computing the batch at once. Returns the batch's loss.
    override func lossAndGradient(of batch: Batch) -> Float {
        let (rank, size) = (processes?.rank ?? 0, processes?.size ?? 1)
        let perProcess = batch.batchSize / size, perMicroBatch = perProcess / accumulationSteps
        var localLoss: Float = 0
        for micro in 0..<accumulationSteps {
            let first = rank * perProcess + micro * perMicroBatch
            let loss = scale(loss(on: batch.sequences(first..<(first + perMicroBatch)), training: true),
                             by: 1 / Float(accumulationSteps))
            loss.backward()
            localLoss += loss.scalar
        }
        guard let processes else { return localLoss }
        processes.average(parameters.grads)                                // the all-reduce
        return Float(processes.sum([Double(localLoss)])[0]) / Float(size)
    }

    /// Every process draws every evaluation batch (so their generators stay in step) and computes its
    /// share of them; the sum over the processes is the sum over all the batches.
    override func meanLoss(_ split: Split) -> Float {
        guard let processes else { return super.meanLoss(split) }
        var total: Float = 0
        for index in 0..<hyperparameters.evalIters {
            let batch = dataset.batch(split, batchSize: hyperparameters.batchSize, blockSize: hyperparameters.blockSize,
                                      random: evaluationRandom)
            if index % processes.size == processes.rank { total += loss(on: batch, training: false).scalar }
        }
        return Float(processes.sum([Double(total)])[0]) / Float(hyperparameters.evalIters)
    }

    /// The Trainer's loop, with two checks that keep the processes together: after every estimate, that
    /// they still hold the same weights; before every step, that all stop if any was asked to.
    override public func train(log: (String) -> Void = { print($0) }, afterEvaluation: (Evaluation) throws -> Void = { _ in },
                               shouldStop: () -> Bool = { false }) throws {
        try super.train(log: log, afterEvaluation: { evaluation in
            try checkReplicasAgree()
            try afterEvaluation(evaluation)
        }, shouldStop: { everyProcessAgrees(toStop: shouldStop()) })
    }

    override var showsProgress: Bool { (processes?.rank ?? 0) == 0 }

    /// Whether to stop before this step. All stop at the same step if any was asked to (a signal reaches
    /// them at slightly different moments): one left waiting in the next all-reduce would wait forever.
    private func everyProcessAgrees(toStop stop: Bool) -> Bool {
        guard let processes else { return stop }
        return processes.sum([stop ? 1 : 0])[0] > 0
    }

    /// Checks that every process holds the same weights: a sum of them all, compared across processes.
    public func checkReplicasAgree() throws {
        guard let processes else { return }
        let checksum = parameters.values.toHost().reduce(0.0) { $0 + Double($1) }
        let range = processes.range(checksum)
        guard range.lowerBound == range.upperBound else { throw TrainingError.replicasDiffer(step: step) }
    }
}
