// The command-line flags every chapter shares. Each one overrides the chapter's default; `--quick`
// swaps in a tiny run of a few seconds (for the tests, and for the impatient).
import ArgumentParser
import Foundation
import TensorCore
import TextData
import Training

public struct TrainingOptions: ParsableArguments {
    @Option(help: "Optimizer steps.") public var steps: Int?
    @Option(help: "Sequences per step (B).") public var batchSize: Int?
    @Option(help: "Context length in tokens (T).") public var blockSize: Int?
    @Option(help: "Channels per position (C).") public var embeddingSize: Int?
    @Option(help: "Attention heads per layer.") public var heads: Int?
    @Option(help: "Transformer blocks.") public var layers: Int?
    @Option(help: "Peak learning rate.") public var learningRate: Float?
    @Option(help: "Where the cosine decay ends (default: the chapter's ratio to the peak; the peak itself for a constant rate).")
    public var minLearningRate: Float?
    @Option(help: "Dropout probability while training, in [0, 1).") public var dropout: Float?
    @Option(help: "Random seed.") public var seed: UInt64?
    @Option(help: "Training text (UTF-8). Default: $NANOGPT_DATA, else Tiny Shakespeare, fetched once.")
    public var data: String?
    @Option(help: "BLAS threads (default: all cores).") public var threads: Int?
    @Option(help: "Where tensors live and kernels run: cpu (OpenBLAS) or opencl (the first OpenCL GPU, else PoCL on the CPU). Default: $NANOGPT_DEVICE, else cpu.")
    public var device: Device?
    @Option(help: "Steps between loss estimates.") public var evalInterval: Int?
    @Option(help: "Batches averaged per loss estimate.") public var evalIters: Int?
    @Option(help: "Tokens to sample after training.") public var maxNewTokens: Int?
    @Option(help: "Output folder (chapters: plots, sample.txt, summary.json in Plots/<chapter>; nanogpt train: the run folder, runs/nanogpt).")
    public var out: String?
    @Flag(help: "A tiny configuration that runs in seconds.") public var quick = false
    @Option(help: "How text becomes tokens: char (one per character, the default) or bpe (byte pairs, chapter 06).")
    public var tokenizer: TokenizerChoice?
    @Option(help: "Vocabulary size for --tokenizer bpe: 256 bytes plus the merges (default 512).")
    public var vocabularySize: Int?
    @Option(help: "For --tokenizer bpe: none (merges may cross words) or gpt2 (GPT-2's pre-split: letters, digits, punctuation and spaces never merge across).")
    public var preSplit: PreSplit?

    public init() {}

    /// The tokenizer the flags ask for. Byte pairs are learned from the training part of the text only
    /// (its first 90%), so the validation text stays unseen.
    public func makeTokenizer(for text: String, log: (String) -> Void = { print($0) }) throws -> Tokenizer {
        switch tokenizer ?? .char {
        case .char:
            guard vocabularySize == nil, preSplit == nil else {
                throw ValidationError("--vocabulary-size and --pre-split need --tokenizer bpe")
            }
            return .characters(CharacterTokenizer(training: text))
        case .bpe:
            let size = vocabularySize ?? 512, split = preSplit ?? PreSplit.none
            let start = Date()
            let bytePairs = try BytePairTokenizer.train(on: TokenDataset.trainingText(of: text), vocabularySize: size, preSplit: split)
            log(String(format: "trained a byte-pair tokenizer: %d merges (%@ pre-split) in %.2f s",
                       bytePairs.merges.count, split.rawValue, Date().timeIntervalSince(start)))
            return .bytePairs(bytePairs)
        }
    }

    /// The chapter's defaults, with --quick and then every flag given applied on top.
    public func resolve(_ defaults: Hyperparameters, quick quickSettings: Hyperparameters? = nil) -> Hyperparameters {
        var h = quick ? (quickSettings ?? Self.quickVersion(of: defaults)) : defaults
        if let steps { h.steps = steps }
        if let batchSize { h.batchSize = batchSize }
        if let blockSize { h.blockSize = blockSize }
        if let embeddingSize { h.embeddingSize = embeddingSize }
        if let heads { h.heads = heads }
        if let layers { h.layers = layers }
        if let learningRate {
            // Keep the chapter's ratio of final to peak rate.
            h.minLearningRate = learningRate * (h.minLearningRate / h.learningRate)
            h.learningRate = learningRate
        }
        if let minLearningRate { h.minLearningRate = minLearningRate }
        if let dropout { h.dropout = dropout }
        if let seed { h.seed = seed }
        if let evalInterval { h.evalInterval = evalInterval }
        if let evalIters { h.evalIters = evalIters }
        if let maxNewTokens { h.maxNewTokens = maxNewTokens }
        return h
    }

    /// The default --quick: a few dozen small steps.
    public static func quickVersion(of h: Hyperparameters) -> Hyperparameters {
        var q = h
        q.steps = 60; q.batchSize = 8; q.blockSize = min(h.blockSize, 16); q.embeddingSize = min(h.embeddingSize, 32)
        q.layers = min(h.layers, 2); q.heads = min(h.heads, 4); q.evalInterval = 20; q.evalIters = 4
        q.maxNewTokens = 80; q.warmupSteps = min(h.warmupSteps, 5)
        return q
    }

    /// Flags that are not hyperparameters. Every hyperparameter is checked once resolved, by `check`, with
    /// the same validation chapter defaults and resumed runs go through.
    public func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
        if let vocabularySize, !(256...65536).contains(vocabularySize) {
            throw ValidationError("--vocabulary-size must be in 256...65536 (256 bytes plus merges), got \(vocabularySize)")
        }
    }

    /// Checks the resolved settings (the chapter's defaults with the flags on top) with the one
    /// validation every run goes through, naming the flag that sets the bad field.
    public static func check(_ h: Hyperparameters) throws {
        do { try h.validate() } catch let invalid as Hyperparameters.Invalid {
            throw ValidationError(invalid.described { "--" + flag(for: $0) })
        }
    }

    /// batchSize -> batch-size.
    static func flag(for field: String) -> String {
        field.reduce(into: "") { flag, character in
            if character.isUppercase { flag += "-" + character.lowercased() } else { flag.append(character) }
        }
    }

    /// Applies --threads (all cores when absent) and --device (else $NANOGPT_DEVICE, else the CPU): every
    /// tensor made after this lives on that device. Throws one line when the device cannot be used.
    public func configureDevice(deviceIndex: Int = 0) throws {
        if let threads { BLAS.threadCount = threads }
        try Devices.select(device, index: deviceIndex)
    }
}

extension Device: ExpressibleByArgument {}

/// The values of --tokenizer.
public enum TokenizerChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case char, bpe
}

extension PreSplit: ExpressibleByArgument {}

extension ParsableArguments {
    /// Like `parseOrExit()`, but a bad flag ends in one line on stderr, `error: <problem> (see --help)`,
    /// and a non-zero exit. `--help` still prints the full help.
    public static func parseOrExitWithOneLine(_ arguments: [String]? = nil) -> Self {
        do { return try parse(arguments) } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            FileHandle.standardError.write(Data("error: \(message) (see --help)\n".utf8))
            Foundation.exit(exitCode(for: error).rawValue)
        }
    }
}
