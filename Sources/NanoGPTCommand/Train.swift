// nanogpt train: chapter 05's model and training loop on any text, with checkpoints, resumption, a
// machine-readable log and a loss plot that is redrawn at every evaluation.
import ArgumentParser
import ChapterSupport
import Checkpoints
import DataParallel
import Foundation
import NanoGPT
import Plotting
import TensorCore
import TextData
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a NanoGPT on a text file (default: Tiny Shakespeare).",
        discussion: """
            Writes into the --out folder (default runs/nanogpt):
              latest/      the newest checkpoint (model.safetensors + its optimizer state), at every evaluation
              best/        the checkpoint with the lowest val loss so far
              log.jsonl    one JSON line per evaluation: step, tokens, train_loss, val_loss, learning_rate, seconds
              loss.png     train and val loss against step (with loss.dat and loss.gp)
            Ctrl-C (or SIGTERM) saves latest/ and stops (exit status 130); `--resume FOLDER` continues
            exactly, and `--steps` may then be raised to train longer. The defaults are chapter 05's.
            Data parallel: `--processes N` trains with N processes on this machine (it starts Open MPI's
            mpirun itself); `mpirun -np N nanogpt train ...` does the same across machines (docs/nanogpt.md).
            Every process takes B/N of each batch; the result is one process's, up to the order of float sums.
            """)

    @OptionGroup var training: TrainingOptions
    @Option(help: "Continue the run saved in this folder (its latest/ checkpoint).") var resume: String?
    @Option(help: "Step where the cosine learning-rate decay ends (default: --steps of the first run).") var decaySteps: Int?
    @Option(help: "Train with this many processes on this machine, each on its share of every batch (starts mpirun).")
    var processes: Int?
    @Option(help: "Cut each step's batch (or each process's share of it) into this many micro-batches: less memory, the same step.")
    var accumulationSteps = 1

    /// Chapter 05's settings (NanoGPT/Recipe.swift).
    static let defaults = Hyperparameters.nanoGPT

    func validate() throws {
        if let decaySteps, decaySteps <= 0 { throw ValidationError("--decay-steps must be positive, got \(decaySteps)") }
        if let processes, !(1...1024).contains(processes) { throw ValidationError("--processes must be in 1...1024, got \(processes)") }
        if !(1...65536).contains(accumulationSteps) {
            throw ValidationError("--accumulation-steps must be in 1...65536, got \(accumulationSteps)")
        }
    }

    func run() throws {
        // --processes N: this process only starts mpirun, which starts the N that train.
        if let processes, !MPIProcessGroup.launchedByMPIRun {
            if resume == nil { try checkBatchSplits(training.resolve(Self.defaults).batchSize, processes: processes) }
            try MPIRun.run(processes: processes)
        }
        let group = MPIProcessGroup.join()
        let leader = (group?.rank ?? 0) == 0   // the one process that prints and writes files
        func say(_ text: String) { if leader { print(text); fflush(stdout) } }
        try training.configureDevice(deviceIndex: group?.rank ?? 0)   // with several OpenCL devices, one per process
        if let group, training.threads == nil {   // the cores of this machine, shared by its processes
            BLAS.threadCount = max(1, ProcessInfo.processInfo.activeProcessorCount / group.localSize)
        }
        let out = URL(fileURLWithPath: resume ?? training.out ?? "runs/nanogpt")
        let latest = out.appendingPathComponent("latest"), best = out.appendingPathComponent("best")
        // A run folder belongs to one training at a time: a second one would interleave its checkpoints.
        if leader { try RunLock.acquire(out) }

        // A new run never overwrites an old one: its checkpoints are someone's hours of training.
        if resume == nil, FileManager.default.fileExists(atPath: latest.appendingPathComponent(Checkpoint.weightsFile).path) {
            throw CommandFailure(description: "\(out.path) already holds a run; continue it with --resume \(out.path), "
                                 + "or choose another --out")
        }

        // 1. Settings, text, tokenizer and model: fresh, or exactly as the saved run left them.
        let saved = try resume.map { folder -> TrainingCheckpoint.SavedRun in
            try refuseChangesOnResume()
            return try TrainingCheckpoint.load(from: URL(fileURLWithPath: folder).appendingPathComponent("latest"))
        }
        var settings = saved?.hyperparameters ?? training.resolve(Self.defaults)
        if saved != nil {
            if let steps = training.steps { settings.steps = steps }
            if let evalInterval = training.evalInterval { settings.evalInterval = evalInterval }
            if let evalIters = training.evalIters { settings.evalIters = evalIters }
            if let maxNewTokens = training.maxNewTokens { settings.maxNewTokens = maxNewTokens }
        } else {
            settings.decaySteps = decaySteps ?? settings.steps
        }
        try TrainingOptions.check(settings)
        try checkBatchSplits(settings.batchSize, processes: group?.size ?? 1)

        let dataPath = training.data ?? saved?.data.path
        let text = try Corpus.load(path: dataPath)
        let data = DataDescription(path: try dataPath ?? Corpus.defaultCorpusPath(log: { _ in }), text: text)
        if let saved, saved.data.fingerprint != data.fingerprint {
            throw CommandFailure(description: "the text differs from the one this run trained on (\(saved.data.path), "
                                 + "\(saved.data.characters) characters): pass the same --data to resume")
        }
        let tokenizer = try saved?.checkpoint.tokenizer ?? training.makeTokenizer(for: text)
        let config = saved?.checkpoint.model.config ?? GPTConfig(settings, vocabularySize: tokenizer.vocabularySize)
        try settings.checkFitsInMemory(vocabularySize: config.vocabularySize)
        let dataset = try TokenDataset(text: text, tokenizer: tokenizer, blockSize: settings.blockSize)
        let model = saved?.checkpoint.model ?? NanoGPT(config, seed: settings.seed)
        let trainer = group == nil && accumulationSteps == 1
            ? Trainer(model: model, dataset: dataset, hyperparameters: settings)
            : DataParallelTrainer(model: model, dataset: dataset, hyperparameters: settings, processes: group,
                                  accumulationSteps: accumulationSteps)
        try saved?.restore(into: trainer)
        if trainer.step >= settings.steps {
            throw CommandFailure(description: "the run in \(out.path) already reached step \(trainer.step); pass a larger --steps to continue")
        }

        say(saved == nil ? "training a new model in \(out.path)" : "resuming \(out.path) at step \(trainer.step)")
        say("parameters: \(trainer.parameters.count), vocabulary: \(tokenizer.summary), "
            + "data: \(data.characters) characters\n\(settings.table)")
        if let group {
            say("data parallel: \(group.size) processes, each on \(settings.batchSize / group.size) of the \(settings.batchSize) "
                + "sequences of every batch, \(BLAS.threadCount) BLAS thread(s) each")
        }
        if accumulationSteps > 1 {
            say("gradient accumulation: \(accumulationSteps) micro-batches of \(settings.batchSize / ((group?.size ?? 1) * accumulationSteps)) sequences per step")
        }
        say("")

        // 2. Train, saving at every evaluation. The best checkpoint is only ever replaced by a better one.
        // (Every process trains; the first one alone saves, logs and plots.)
        let log = try RunLog(folder: out)
        var bestValLoss = trainer.evaluations.map(\.valLoss).min() ?? .infinity   // a resumed run remembers its best
        let interrupt = InterruptFlag()
        var savedStep: Int? = saved?.checkpoint.step   // the step latest/ holds, whole
        if let savedStep { interrupt.checkpointSaved(step: savedStep, in: latest, run: out) }
        do {
            try trainer.train(log: say, afterEvaluation: { evaluation in
                // A loss estimate that is NaN or infinite means the weights already are: log it, keep latest/.
                guard evaluation.trainLoss.isFinite, evaluation.valLoss.isFinite else {
                    if leader { try log.append(evaluation, learningRate: settings.schedule.rate(at: evaluation.step), seconds: trainer.trainingSeconds) }
                    throw TrainingError.diverged(step: evaluation.step, loss: evaluation.valLoss.isFinite ? evaluation.trainLoss : evaluation.valLoss)
                }
                guard leader else { return }
                try TrainingCheckpoint.save(trainer: trainer, model: model, tokenizer: tokenizer, data: data, to: latest)
                savedStep = evaluation.step
                interrupt.checkpointSaved(step: evaluation.step, in: latest, run: out)
                if evaluation.valLoss < bestValLoss {
                    bestValLoss = evaluation.valLoss
                    try TrainingCheckpoint.save(trainer: trainer, model: model, tokenizer: tokenizer, data: data, to: best)
                }
                try log.append(evaluation, learningRate: settings.schedule.rate(at: evaluation.step), seconds: trainer.trainingSeconds)
                try log.plot(trainer.evaluations)
            }, shouldStop: { interrupt.raised })
        } catch TrainingError.diverged(let step, let loss) {
            throw CommandFailure(description: "training diverged at step \(step) (loss \(loss)); nothing after the last good "
                                 + "checkpoint was saved: \(savedStep.map { "\(latest.path) (step \($0))" } ?? "none yet"). "
                                 + "Try a lower --learning-rate")
        }
        if trainer.step < settings.steps {   // stopped early: this process, or another one, was interrupted
            if leader {
                say("\ninterrupted: saving step \(trainer.step) to \(latest.path) (interrupting again stops at once, keeping "
                    + (savedStep.map { "the step \($0) checkpoint)" } ?? "nothing: no checkpoint was saved yet)"))
                try TrainingCheckpoint.save(trainer: trainer, model: model, tokenizer: tokenizer, data: data, to: latest)
                say("interrupted at step \(trainer.step): saved \(latest.path); continue with: nanogpt train --resume \(out.path)")
            }
            // The others wait here for the leader's save: once one process exits with a failing status, mpirun
            // stops the rest, and on a busy machine the leader could be stopped halfway through writing.
            _ = group?.sum([0])
            throw ExitCode(130)
        }
        guard leader else { return }

        // 3. A sample from the trained model.
        let sample = model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: SeededRandom(seed: settings.seed, stream: .sampling))
        print("\nsample:\n---\n\(tokenizer.decode(sample))\n---")
        print("checkpoints: \(latest.path) (step \(trainer.step)), \(best.path) (val loss \(String(format: "%.4f", bestValLoss)))")
        print("generate with: nanogpt generate --checkpoint \(best.path)")
    }

    /// B sequences split evenly between the processes and into the micro-batches, or one line saying not.
    func checkBatchSplits(_ batchSize: Int, processes: Int) throws {
        let parts = processes * accumulationSteps
        guard batchSize % parts == 0 else {
            throw CommandFailure(description: "a batch of \(batchSize) sequences does not split into \(processes) process(es) × "
                                 + "\(accumulationSteps) micro-batch(es): choose a --batch-size divisible by \(parts)")
        }
    }

    /// A resumed run keeps its model, tokenizer and optimizer settings; only how long it trains and how
    /// it is evaluated may change.
    func refuseChangesOnResume() throws {
        let fixed: [(String, Bool)] = [
            ("--batch-size", training.batchSize != nil), ("--block-size", training.blockSize != nil),
            ("--embedding-size", training.embeddingSize != nil), ("--heads", training.heads != nil),
            ("--layers", training.layers != nil), ("--learning-rate", training.learningRate != nil),
            ("--min-learning-rate", training.minLearningRate != nil),
            ("--dropout", training.dropout != nil), ("--seed", training.seed != nil), ("--decay-steps", decaySteps != nil),
            ("--quick", training.quick), ("--out", training.out != nil), ("--tokenizer", training.tokenizer != nil),
            ("--vocabulary-size", training.vocabularySize != nil), ("--pre-split", training.preSplit != nil)]
        if let flag = fixed.first(where: \.1)?.0 {
            throw ValidationError("\(flag) cannot change when resuming: a resumed run keeps its settings "
                                  + "(only --steps, --eval-interval, --eval-iters, --max-new-tokens, --data, --threads, --device, "
                                  + "--processes and --accumulation-steps may be given)")
        }
    }
}

/// log.jsonl (appended, one JSON object per evaluation) and loss.{dat,gp,png} in the run folder.
struct RunLog {
    let folder: URL
    var file: URL { folder.appendingPathComponent("log.jsonl") }

    init(folder: URL) throws {
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func append(_ evaluation: Evaluation, learningRate: Float, seconds: Double) throws {
        // JSON has no NaN or infinity: a loss that is not a number is written as null.
        func number(_ value: Float) -> String { value.isFinite ? String(format: "%.6f", value) : "null" }
        let line = #"{"step":\#(evaluation.step),"tokens":\#(evaluation.tokensSeen),"train_loss":\#(number(evaluation.trainLoss)),"#
            + #""val_loss":\#(number(evaluation.valLoss)),"learning_rate":\#(String(format: "%.6g", learningRate)),"#
            + #""seconds":\#(String(format: "%.3f", seconds))}"#
        if !FileManager.default.fileExists(atPath: file.path) { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    func plot(_ evaluations: [Evaluation]) throws {
        let steps = evaluations.map { Double($0.step) }
        try Plotter.shared.lines([Series("train", x: steps, y: evaluations.map { Double($0.trainLoss) }),
                                  Series("val", x: steps, y: evaluations.map { Double($0.valLoss) })],
                                 title: "nanogpt train: \(folder.lastPathComponent)", xLabel: "step",
                                 yLabel: "loss (nats per token)", in: folder, name: "loss")
    }
}
