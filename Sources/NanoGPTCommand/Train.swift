// nanogpt train: chapter 05's model and training loop on any text, with checkpoints, resumption, a
// machine-readable log and a loss plot that is redrawn at every evaluation.
import ArgumentParser
import ChapterSupport
import Checkpoints
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
            Ctrl-C saves latest/ and stops (exit status 130); `--resume FOLDER` continues exactly, and
            `--steps` may then be raised to train longer. The defaults are chapter 05's.
            """)

    @OptionGroup var training: TrainingOptions
    @Option(help: "Continue the run saved in this folder (its latest/ checkpoint).") var resume: String?
    @Option(help: "Step where the cosine learning-rate decay ends (default: --steps of the first run).") var decaySteps: Int?

    /// Chapter 05's settings (NanoGPT/Recipe.swift).
    static let defaults = Hyperparameters.nanoGPT

    func validate() throws {
        if let decaySteps, decaySteps <= 0 { throw ValidationError("--decay-steps must be positive, got \(decaySteps)") }
    }

    func run() throws {
        try training.configureDevice()
        let out = URL(fileURLWithPath: resume ?? training.out ?? "runs/nanogpt")
        let latest = out.appendingPathComponent("latest"), best = out.appendingPathComponent("best")

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
        let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
        try saved?.restore(into: trainer)
        if trainer.step >= settings.steps {
            throw CommandFailure(description: "the run in \(out.path) already reached step \(trainer.step); pass a larger --steps to continue")
        }

        print(saved == nil ? "training a new model in \(out.path)" : "resuming \(out.path) at step \(trainer.step)")
        print("parameters: \(trainer.parameters.count), vocabulary: \(tokenizer.summary), "
              + "data: \(data.characters) characters\n\(settings.table)\n")

        // 2. Train, saving at every evaluation. The best checkpoint is only ever replaced by a better one.
        let log = try RunLog(folder: out)
        var bestValLoss = trainer.evaluations.map(\.valLoss).min() ?? .infinity   // a resumed run remembers its best
        let interrupt = InterruptFlag()
        var savedStep: Int? = saved?.checkpoint.step   // the step latest/ holds, whole
        if let savedStep { interrupt.checkpointSaved(step: savedStep, in: latest, run: out) }
        do {
            try trainer.train(afterEvaluation: { evaluation in
                // A loss estimate that is NaN or infinite means the weights already are: log it, keep latest/.
                guard evaluation.trainLoss.isFinite, evaluation.valLoss.isFinite else {
                    try log.append(evaluation, learningRate: settings.schedule.rate(at: evaluation.step), seconds: trainer.trainingSeconds)
                    throw TrainingError.diverged(step: evaluation.step, loss: evaluation.valLoss.isFinite ? evaluation.trainLoss : evaluation.valLoss)
                }
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
        if interrupt.raised {
            print("\ninterrupted: saving step \(trainer.step) to \(latest.path) (Ctrl-C again stops at once, keeping "
                  + (savedStep.map { "the step \($0) checkpoint)" } ?? "nothing: no checkpoint was saved yet)"))
            fflush(stdout)
            try TrainingCheckpoint.save(trainer: trainer, model: model, tokenizer: tokenizer, data: data, to: latest)
            print("interrupted at step \(trainer.step): saved \(latest.path); continue with: nanogpt train --resume \(out.path)")
            throw ExitCode(130)
        }

        // 3. A sample from the trained model.
        let sample = model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: SeededRandom(seed: settings.seed, stream: .sampling))
        print("\nsample:\n---\n\(tokenizer.decode(sample))\n---")
        print("checkpoints: \(latest.path) (step \(trainer.step)), \(best.path) (val loss \(String(format: "%.4f", bestValLoss)))")
        print("generate with: nanogpt generate --checkpoint \(best.path)")
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
                                  + "(only --steps, --eval-interval, --eval-iters, --max-new-tokens, --data, --threads and --device may be given)")
        }
    }
}

/// Ctrl-C (SIGINT). The first sets a flag that training checks before every step (the run then saves
/// latest/ and stops). A second, while that save or a step is still running, stops the process at once,
/// after printing what is on disk: the last checkpoint that was completely written (atomic writes
/// guarantee latest/ holds it whole).
final class InterruptFlag {
    nonisolated(unsafe) static var signalled: sig_atomic_t = 0
    /// What a second Ctrl-C prints, prepared in advance as a C string: a signal handler may only call
    /// async-signal-safe functions (strlen, write, _exit), and swapping one pointer is a single store.
    nonisolated(unsafe) static var lastWords: UnsafeMutablePointer<CChar> = strdup(
        "\nCtrl-C again: stopped at once. No checkpoint has been saved yet.\n")

    init() {
        Self.signalled = 0
        _ = Self.lastWords   // initialized now: a lazy global's first use must not happen inside the handler
        signal(SIGINT) { _ in
            if InterruptFlag.signalled != 0 {
                let words = InterruptFlag.lastWords
                _ = write(STDERR_FILENO, words, strlen(words))
                _exit(130)
            }
            InterruptFlag.signalled = 1
        }
        // A parent may have started us with SIGINT blocked (the mask is inherited); make sure it arrives.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigprocmask(SIG_UNBLOCK, &mask, nil)
    }

    var raised: Bool { Self.signalled != 0 }

    /// Called after each checkpoint is completely written. The previous message is never freed (a few
    /// bytes per checkpoint): a handler might be printing it at this very moment.
    func checkpointSaved(step: Int, in latest: URL, run: URL) {
        Self.lastWords = strdup("\nCtrl-C again: stopped at once. \(latest.path) holds the checkpoint of step \(step), "
                                + "whole; continue with: nanogpt train --resume \(run.path)\n")
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
