// What a chapter leaves behind in Plots/NN-name/: the loss curve (.dat, .gp, .png), sample.txt, and
// summary.json, which the comparison command reads.
import FileFormats
import Foundation
import Plotting
import TensorCore
import TextData
import Training

public struct ChapterSummary: Codable, Sendable {
    public var chapter: String            // "01-bigram"
    public var title: String              // "Bigram"
    public var parameterCount: Int
    public var config: Hyperparameters
    public var steps: Int
    public var tokensSeen: Int
    public var finalTrainLoss: Float
    public var finalValLoss: Float
    public var wallSeconds: Double        // the whole chapter, start to finish
    public var trainTokensPerSecond: Double
    public var generationTokensPerSecond: Double
    public var seed: UInt64
    public var machine: String
    public var evaluations: [Evaluation]
    /// "char" or "bpe" (absent in summaries written before chapter 06 existed: char).
    public var tokenizer: String?
    /// Characters per validation token: val losses divided by it are per character, comparable across tokenizers.
    public var charactersPerToken: Double?

    /// The final val loss per character, in bits: the fair way to compare tokenizers (chapter 06).
    public var valBitsPerCharacter: Double { Double(finalValLoss) / (charactersPerToken ?? 1) / log(2) }
}

public struct ChapterReport {
    public let chapter: String, title: String
    public let folder: URL
    let started = Date()

    /// Output goes to `--out` if given, else Plots/<chapter>.
    public init(chapter: String, title: String, out: String?) throws {
        self.chapter = chapter; self.title = title
        folder = URL(fileURLWithPath: out ?? "Plots/\(chapter)")
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        catch { throw TextDataError("cannot create output folder \(folder.path)") }
    }

    /// "Chapter 01 · Bigram", for plot titles.
    public var heading: String { "Chapter \(chapter.prefix { $0 != "-" }) · \(title)" }   // "Chapter 05a · Device"

    public var elapsedSeconds: Double { Date().timeIntervalSince(started) }

    /// The loss curves of one or more training runs, against step: the loss of every step's batch (thin and
    /// noisy), its running mean over the last 2% of the steps, and the estimates of train and val loss
    /// (markers, drawn only at the steps where they were measured). With more than two runs, each run is
    /// only its running mean and its val estimates, in one colour of its own, every other run dashed, its
    /// markers hollow rings. Prints where the picture went.
    @discardableResult
    public func plotLoss(_ runs: [(label: String?, trainer: Trainer)], name: String = "loss",
                         title plotTitle: String? = nil) throws -> String {
        let series = runs.enumerated().flatMap { index, run -> [Series] in
            let (label, trainer) = run
            let suffix = label.map { ", \($0)" } ?? ""
            let losses = trainer.stepLosses.map(Double.init)
            let firstStep = trainer.step - losses.count + 1   // steps are counted from 1 once taken
            let steps = losses.indices.map { Double(firstStep + $0) }
            let evaluations = trainer.evaluations
            let runningMean = Self.runningMean(losses, window: max(1, losses.count / 50))
            if runs.count > 2 {   // every other run's line dashed: where two runs' lines coincide, both show
                return [Series((label ?? "run \(index + 1)") + ": running mean", x: steps, y: runningMean, colour: index,
                               dashed: index % 2 == 1),
                        Series((label ?? "run \(index + 1)") + ": val (estimated)", x: evaluations.map { Double($0.step) },
                               y: evaluations.map { Double($0.valLoss) }, style: .points, colour: index, dashed: index % 2 == 1)]
            }
            return [Series("loss of each step's batch" + suffix, x: steps, y: losses, style: .thinLine),
                    Series("its running mean" + suffix, x: steps, y: runningMean),
                    Series("train (estimated)" + suffix, x: evaluations.map { Double($0.step) },
                           y: evaluations.map { Double($0.trainLoss) }, style: .points),
                    Series("val (estimated)" + suffix, x: evaluations.map { Double($0.step) },
                           y: evaluations.map { Double($0.valLoss) }, style: .points)]
        }
        return drew(try Plotter.shared.lines(series, title: plotTitle ?? "\(heading): cross-entropy loss", xLabel: "step",
                                             yLabel: "loss (nats per token)", in: folder, name: name))
    }

    /// One run's loss curves (see above).
    @discardableResult
    public func plotLoss(_ trainer: Trainer, name: String = "loss", title: String? = nil) throws -> String {
        try plotLoss([(nil, trainer)], name: name, title: title)
    }

    /// The mean of each value and the `window - 1` before it (fewer at the start).
    public static func runningMean(_ values: [Double], window: Int) -> [Double] {
        var sum = 0.0
        return values.indices.map { i in
            sum += values[i]
            if i >= window { sum -= values[i - window] }
            return sum / Double(min(i + 1, window))
        }
    }

    /// Says where a figure went, one line: `drew Plots/02-self-attention/attention.png`. Chapter pages
    /// (the weave) show each drawn image under the code that drew it. Returns the path.
    @discardableResult
    public func drew(_ files: PlotFiles, linked: Bool = false) -> String {
        let path = files.rendered ? files.image.path : files.script.path
        print(files.rendered ? "\(linked ? "linked figure" : "drew") \(path)" : "wrote \(path) (no gnuplot: no picture)")
        fflush(stdout)
        return path
    }

    /// Attention weights as heatmaps, one panel each, with the prompt's tokens as tick labels:
    /// row t is what position t looked at. Each tensor is (B, T, T); the first sequence is drawn.
    @discardableResult
    /// `linked`: a figure too large to read at a page's width (every layer and head), which a woven page
    /// links to instead of showing (`linked figure PATH`). `positions`: draw only the first so many queries
    /// and keys (causal, so their corner of the weights is whole), to keep the labels readable.
    public func plotAttention(_ panels: [(title: String, weights: Tensor)], prompt: [Int], tokenizer: Tokenizer, name: String,
                              title plotTitle: String, gridColumns: Int? = nil, maximumWidth: Int? = nil,
                              positions: Int? = nil, linked: Bool = false) throws -> String {
        let time = prompt.count, shown = min(positions ?? time, time)
        let maps = panels.map { panel -> Heatmap in
            precondition(panel.weights.shape.suffix(2) == [time, time], "attention \(panel.weights.shape) for \(time) tokens")
            let values = panel.weights.values   // the first sequence's (T, T)
            return Heatmap(panel.title, rows: shown, columns: shown,
                           values: (0..<shown).flatMap { row in values[(row * time)..<(row * time + shown)] })
        }
        let labels = Self.tickLabels(Array(prompt.prefix(shown)), tokenizer: tokenizer)
        return drew(try Plotter.shared.heatmaps(maps, rowLabels: labels, columnLabels: labels, title: plotTitle,
                                                xLabel: "key: position attended to", yLabel: "query: position attending",
                                                colorRange: 0...1, gridColumns: gridColumns, maximumWidth: maximumWidth,
                                                in: folder, name: name), linked: linked)
    }

    /// A stack's attention, [layer][head] -> (B, T, T), as two figures: `attention.png`, the first layer's
    /// heads on the first `positions` tokens, two to a row, readable at a page's width (about 1000 px
    /// across), and `attention-all-layers.png`, every layer (rows) and head (columns) on every position,
    /// linked from the page.
    public func plotAttentionByLayer(_ layers: [[Tensor]], prompt: [Int], tokenizer: Tokenizer, what: String,
                                     positions: Int = 24) throws {
        guard let first = layers.first else { return }
        try plotAttention(first.enumerated().map { ("layer 0, head \($0)", $1) }, prompt: prompt, tokenizer: tokenizer,
                          name: "attention", title: "\(heading): \(what), the first layer's heads", gridColumns: 2,
                          maximumWidth: 1000, positions: positions)
        try plotAttention(layers.enumerated().flatMap { layer, heads in heads.enumerated().map { ("layer \(layer), head \($0)", $1) } },
                          prompt: prompt, tokenizer: tokenizer, name: "attention-all-layers",
                          title: "\(heading): \(what), every layer (rows) and head (columns)", gridColumns: first.count,
                          linked: true)
    }

    /// Tokens as tick labels: their text, with space, newline and tab made visible ("␣the", "⏎"), other
    /// control characters and bytes that are not whole characters as hex ("<e2>").
    public static func tickLabels(_ tokens: [Int], tokenizer: Tokenizer) -> [String] {
        tokens.map { token in
            let bytes = tokenizer.bytes(of: token)
            guard let text = String(bytes: bytes, encoding: .utf8) else { return bytes.map { String(format: "<%02x>", $0) }.joined() }
            return text.map { character -> String in
                let scalar = character.unicodeScalars.first!
                let invisible = scalar.properties.generalCategory == .control && character != "\n" && character != "\t"
                return invisible ? String(format: "<%02x>", scalar.value) : Plotter.label(for: character)
            }.joined()
        }
    }

    /// The curves in text, in the terminal (only there: in a file or a chapter's page, loss.png says it better).
    public func printLoss(_ evaluations: [Evaluation]) {
        guard isatty(STDOUT_FILENO) != 0 else { return }
        let steps = evaluations.map { Double($0.step) }
        Plotter.shared.printLines([Series("train", x: steps, y: evaluations.map { Double($0.trainLoss) }),
                                   Series("val", x: steps, y: evaluations.map { Double($0.valLoss) })],
                                  title: "\(title): loss", xLabel: "step", yLabel: "loss")
    }

    public func writeSample(_ text: String) throws {
        try AtomicFile.write(text, to: folder.appendingPathComponent("sample.txt"))
    }

    public func writeSummary(trainer: Trainer, tokenizer: Tokenizer, generationTokensPerSecond: Double) throws {
        let last = trainer.evaluations.last
        let summary = ChapterSummary(
            chapter: chapter, title: title, parameterCount: trainer.parameters.count,
            config: trainer.hyperparameters, steps: trainer.step, tokensSeen: trainer.step * trainer.tokensPerStep,
            finalTrainLoss: last?.trainLoss ?? .nan, finalValLoss: last?.valLoss ?? .nan, wallSeconds: elapsedSeconds,
            trainTokensPerSecond: trainer.tokensPerSecond, generationTokensPerSecond: generationTokensPerSecond,
            seed: trainer.hyperparameters.seed, machine: Machine.description, evaluations: trainer.evaluations,
            tokenizer: tokenizer.kind, charactersPerToken: trainer.dataset.charactersPerToken(in: .val))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try encoder.encode(summary), to: folder.appendingPathComponent("summary.json"))
    }
}

/// "2 cores, AMD EPYC 7B13, OpenBLAS Zen": which machine a number was measured on.
public enum Machine {
    public static var description: String {
        let cpu = cpuInfoLine("model name")?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu)"
    }

    /// The CPU's feature flags, the words of /proc/cpuinfo's `flags` line ("avx2", "avx512f", ...; empty
    /// where there is no such file).
    public static var cpuFlags: Set<String> {
        Set((cpuInfoLine("flags") ?? "").split(separator: " ").map(String.init))
    }

    private static func cpuInfoLine(_ key: String) -> Substring? {
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix(key) }
    }
}
