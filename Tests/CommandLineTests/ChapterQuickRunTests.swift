// Every chapter's --quick mode, end to end: it runs, the loss falls, and it leaves its plots, sample
// and summary behind. Plus the chapters' refusal of bad input.
import Foundation
import Testing

@Suite("Chapters in --quick mode", .serialized)
struct ChapterQuickRunTests {
    let folder = Executables.temporaryFolder("chapters")

    func expectPlot(_ name: String, in out: URL, sourceLocation: SourceLocation = #_sourceLocation) {
        for suffix in [".dat", ".gp"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name + suffix).path),
                    "\(name)\(suffix) missing", sourceLocation: sourceLocation)
        }
        let gnuplotPresent = FileManager.default.isExecutableFile(atPath: "/usr/bin/gnuplot")
        if gnuplotPresent {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(name + ".png").path),
                    "\(name).png missing", sourceLocation: sourceLocation)
        }
    }

    /// Runs a training chapter on the made-up play and checks what every training chapter promises.
    func runTrainingChapter(_ name: String, plots: [String], printsItsLog: Bool = true) throws -> (ProcessResult, SummaryFile, String) {
        let data = Executables.writePlayText(to: folder)
        let out = folder.appendingPathComponent(name)
        let extra = ["ch05", "ch06"].contains(name) ? ["--checkpoint", out.appendingPathComponent("checkpoint").path] : []
        let run = try Executables.run(name, ["--quick", "--data", data, "--out", out.path, "--threads", "1"] + extra)
        #expect(run.status == 0, "\(name) failed: \(run.errors)")
        #expect(!printsItsLog || run.output.contains("step 0: train loss "))
        let summary = try JSONDecoder().decode(SummaryFile.self,
                                               from: Data(contentsOf: out.appendingPathComponent("summary.json")))
        #expect(summary.evaluations.count >= 2)
        let first = summary.evaluations.first!, last = summary.evaluations.last!
        #expect(last.valLoss < first.valLoss - 0.2, "val loss did not fall: \(first.valLoss) -> \(last.valLoss)")
        #expect(last.trainLoss < first.trainLoss - 0.2)
        #expect(summary.finalValLoss == last.valLoss)
        #expect(summary.parameterCount > 0 && summary.steps > 0 && summary.tokensSeen > 0)
        for plot in ["loss"] + plots { expectPlot(plot, in: out) }
        let sample = try String(contentsOf: out.appendingPathComponent("sample.txt"), encoding: .utf8)
        let alphabet = Set(try String(contentsOfFile: data, encoding: .utf8).unicodeScalars)
        // (A byte-pair model can sample any of the 256 bytes, so only the character models are held to the alphabet.)
        #expect(!sample.isEmpty && (name == "ch06" || sample.unicodeScalars.allSatisfy { alphabet.contains($0) }))
        return (run, summary, sample)
    }

    @Test func chapter00Tensors() throws {
        let out = folder.appendingPathComponent("ch00")
        let run = try Executables.run("ch00", ["--quick", "--out", out.path, "--threads", "1"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("dL/dW = [5.0, 7.0, 9.0, 4.0, 5.0, 6.0]"))
        #expect(run.output.contains(": PASS"))
        expectPlot("matmul-speed", in: out)
    }

    /// Chapter 05b's quick run: the one-pass softmax gives the two-pass numbers, the tiled kernel agrees with
    /// the weights path, it keeps less than the weights path, and it draws its three figures.
    @Test func chapter05bTiledAttention() throws {
        let out = folder.appendingPathComponent("ch05b")
        let run = try Executables.run("ch05b", ["--quick", "--out", out.path, "--threads", "1"])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n").map(String.init)
        let twoPass = lines.first { $0.hasPrefix("two passes") }?.split(separator: ":").last
        let onePass = lines.first { $0.hasPrefix("one pass, then") }?.split(separator: ":").last
        #expect(twoPass != nil && twoPass == onePass)
        #expect(run.output.contains("10 of 16 tiles computed"))
        let differences = lines.compactMap { line in
            line.components(separatedBy: "largest difference ").dropFirst().first.flatMap { Double($0.prefix { $0 != ";" }) }
        }
        #expect(differences.count == 5 && differences.allSatisfy { $0 < 1e-4 })
        for name in ["tiles", "time", "memory"] { expectPlot(name, in: out) }
    }

    /// Chapter 08's quick run: every int8 kernel path agrees with the plain loop, int8 stays close to float32
    /// in loss, and it draws its two figures.
    @Test func chapter08Precision() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("ch08")
        let run = try Executables.run("ch08", ["--quick", "--data", data, "--out", out.path, "--threads", "1",
                                               "--stream-tokens", "50"])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n").map(String.init)
        let differences = lines.compactMap { line in
            line.components(separatedBy: "from the plain loop ").dropFirst().first.flatMap { Double($0.prefix { $0 != " " }) }
        }
        #expect(differences.count >= 2 && differences.allSatisfy { $0 < 1e-3 }, "\(differences)")
        let cost = lines.first { $0.hasPrefix("val loss over") }?.components(separatedBy: ": ").last?.split(separator: " ").first
        #expect(cost.flatMap { Double($0) }.map { abs($0) < 0.05 } == true, "\(run.output)")
        #expect(run.output.contains("greedy decoding: the first"))
        for name in ["rounding", "speed"] { expectPlot(name, in: out) }
    }

    /// Chapter 01 trains the bigram twice, with its loop written out and with Trainer, and compares every weight.
    @Test func chapter01LoopAndTrainerGiveTheSameWeights() throws {
        let data = Executables.writePlayText(to: folder)
        let out = folder.appendingPathComponent("ch01-loop")
        let run = try Executables.run("ch01", ["--quick", "--steps", "100", "--data", data, "--out", out.path, "--threads", "1"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("Trainer's weights after 100 steps against the loop's: largest difference 0 (bit for bit the same)"),
                "\(run.output)")
        // The loop's own log lines are Trainer's: the same estimates at the same steps.
        let summary = try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: out.appendingPathComponent("summary.json")))
        for evaluation in summary.evaluations {
            #expect(run.output.contains(String(format: "step %d: train loss %.4f, val loss %.4f", evaluation.step,
                                               evaluation.trainLoss, evaluation.valLoss)))
        }
    }

    @Test func chapter01Bigram() throws {
        let (run, summary, _) = try runTrainingChapter("ch01", plots: ["bigram"])
        #expect(summary.chapter == "01-bigram")
        #expect(run.output.contains("a uniform guess scores ln("))
        #expect(run.output.contains("sample after training:"))
    }

    @Test func chapter02SelfAttention() throws {
        let (run, _, _) = try runTrainingChapter("ch02", plots: ["attention"])
        #expect(run.output.contains("(equal up to rounding)"))
    }

    @Test func chapter03MultiHead() throws {
        _ = try runTrainingChapter("ch03", plots: ["attention"])
    }

    /// Any seed is a valid flag: chapter 03 trains a second seed (its seed + 1), which must wrap at the largest.
    @Test func chapter03TakesTheLargestSeed() throws {
        let data = Executables.writePlayText(to: folder)
        let out = folder.appendingPathComponent("ch03-largest-seed")
        let run = try Executables.run("ch03", ["--quick", "--data", data, "--out", out.path, "--threads", "1",
                                               "--seed", String(UInt64.max)])
        #expect(run.status == 0, "ch03 --seed \(UInt64.max) failed: \(run.errors)")
        #expect(run.output.contains("seed 0: "))   // the second seed, wrapped
    }

    /// The exercise's flag: PyTorch's initialization starts the loss above ln(V) (N(0, 1) embeddings), and it still trains.
    @Test func chapter03WithPyTorchInitialization() throws {
        let data = Executables.writePlayText(to: folder)
        let out = folder.appendingPathComponent("ch03-pytorch")
        let run = try Executables.run("ch03", ["--quick", "--pytorch-initialization", "--data", data, "--out", out.path, "--threads", "1"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("initialization: PyTorch's defaults"))
        let ours = folder.appendingPathComponent("ch03-ours")
        #expect(try Executables.run("ch03", ["--quick", "--data", data, "--out", ours.path, "--threads", "1"]).status == 0)
        func evaluations(_ folder: URL) throws -> [SummaryFile.Evaluation] {
            try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: folder.appendingPathComponent("summary.json"))).evaluations
        }
        let pytorch = try evaluations(out), small = try evaluations(ours)
        // N(0, 1) embeddings make confident, wrong first guesses: above our nearly uniform start of ln(V).
        #expect(pytorch[0].valLoss > small[0].valLoss, "\(pytorch[0].valLoss) against \(small[0].valLoss)")
        #expect(pytorch.last!.valLoss < pytorch[0].valLoss - 0.5)
    }

    /// The same stack four ways (neither rescue, LayerNorm alone, residuals alone, both): each trains to its
    /// own loss, and all four curves share one plot.
    @Test func chapter04Block() throws {
        // The four stacks train without their logs; one table holds each stack's val losses, then its last train loss.
        let (run, _, _) = try runTrainingChapter("ch04", plots: ["attention"], printsItsLog: false)
        let lines = run.output.split(separator: "\n")
        let table = try #require(lines.firstIndex { $0.hasPrefix("val loss at step") }, "\(run.output)")
        let rows = lines[(table + 1)...].prefix(4)
        let finals = rows.compactMap { row in row.split(separator: " ").compactMap { Float($0) }.dropLast().last }
        #expect(finals.count == 4 && Set(finals).count == 4, "each stack trains differently: \(lines[table...].prefix(5))")
        #expect(rows.last!.contains("Blocks (both)"))
        let data = try String(contentsOf: folder.appendingPathComponent("ch04/loss.dat"), encoding: .utf8)
        for label in ["Blocks", "residuals only", "LayerNorm only", "plain"] {
            #expect(data.contains("\(label): running mean") && data.contains("\(label): val (estimated)"),
                    "no \(label) curve in the loss plot")
        }
    }

    @Test func chapter05NanoGPT() throws {
        let (run, _, sample) = try runTrainingChapter("ch05", plots: ["attention"])
        #expect(run.output.contains("generateStream()"))
        #expect(run.output.contains(sample))   // the streamed text was printed as it came
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("ch05/checkpoint/model.safetensors").path))
    }

    @Test func chapter06Tokens() throws {
        let (run, summary, _) = try runTrainingChapter("ch06", plots: ["attention", "bits-per-character", "token-lengths"])
        for expected in ["the first merges", "round trips:", "the same bytes", "| characters | ", "| byte pairs | ",
                         "generateStream() from the byte-pair model"] {
            #expect(run.output.contains(expected), "missing \(expected.debugDescription)")
        }
        #expect(!run.output.contains("DIFFERENT"))
        #expect(summary.tokenizer == "bpe" && (summary.charactersPerToken ?? 0) > 1.2)
        let out = folder.appendingPathComponent("ch06")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("comparison.md").path))
        // Both models' curves, in bits per character, in one plot.
        let curves = try String(contentsOf: out.appendingPathComponent("bits-per-character.dat"), encoding: .utf8)
        #expect(curves.contains("characters: val") && curves.contains("byte pairs 300: val"))

        // The saved byte-pair model loads in nanogpt generate and streams whole characters.
        let generated = try Executables.run("nanogpt", ["generate", "--checkpoint", out.appendingPathComponent("checkpoint").path,
                                                        "--prompt", "café 🙂 ", "--max-new-tokens", "100", "--threads", "1"])
        #expect(generated.status == 0, "\(generated.errors)")
        #expect(String(data: generated.outputBytes, encoding: .utf8) != nil && generated.output.hasPrefix("café 🙂 "))

        let both = try Executables.run("ch06", ["--quick", "--tokenizer", "char"])
        #expect(both.status != 0 && both.errors.contains("chapter 06 trains both tokenizers"))
    }

    /// `--tokenizer bpe` works in the earlier chapters too; their plots then label tokens instead of characters.
    @Test(arguments: ["ch01", "ch03"])
    func earlierChaptersTrainOnBytePairsToo(chapter: String) throws {
        let data = Executables.writePlayText(to: folder)
        let out = folder.appendingPathComponent("\(chapter)-bpe")
        let run = try Executables.run(chapter, ["--quick", "--data", data, "--out", out.path, "--threads", "1",
                                                "--tokenizer", "bpe", "--vocabulary-size", "300", "--pre-split", "gpt2"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("byte-pair tokens (gpt2 pre-split)"))
        #expect(!run.errors.contains("gnuplot failed"), "\(run.errors)")
        let summary = try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: out.appendingPathComponent("summary.json")))
        #expect(summary.tokenizer == "bpe" && (summary.charactersPerToken ?? 0) > 1)
        expectPlot(chapter == "ch01" ? "bigram" : "attention", in: out)
    }

    @Test func compareDrawsEveryChapterAndWritesTheTable() throws {
        let data = Executables.writePlayText(to: folder)
        let plots = folder.appendingPathComponent("compare-input")
        for (chapter, name) in [("ch01", "01-bigram"), ("ch02", "02-self-attention")] {
            let run = try Executables.run(chapter, ["--quick", "--data", data, "--out", plots.appendingPathComponent(name).path])
            #expect(run.status == 0)
        }
        let run = try Executables.run("compare", ["--plots", plots.path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("| 01 Bigram | char | "))
        #expect(run.output.contains("| 02 Self-attention Head |"))
        let table = try String(contentsOf: plots.appendingPathComponent("compare/table.md"), encoding: .utf8)
        #expect(table.hasPrefix("| chapter | tokens | parameters | val loss (nats per token) | val bits per character |"))
        expectPlot("val-loss", in: plots.appendingPathComponent("compare"))
        let empty = try Executables.run("compare", ["--plots", folder.appendingPathComponent("nothing").path])
        #expect(empty.status != 0 && empty.errors.contains("run some chapters first"))
    }

    @Test(arguments: ["ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch08"])
    func badInputEndsInOneClearLine(chapter: String) throws {
        let missing = try Executables.run(chapter, ["--quick", "--data", folder.appendingPathComponent("nope.txt").path])
        #expect(missing.status == 1)
        #expect(missing.errors.hasPrefix("error: data file not found"))
        #expect(missing.errors.split(separator: "\n").count == 1)

        let empty = folder.appendingPathComponent("empty.txt")
        _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
        let emptyRun = try Executables.run(chapter, ["--quick", "--data", empty.path])
        #expect(emptyRun.status == 1 && emptyRun.errors.hasPrefix("error: data file is empty"))

        let short = folder.appendingPathComponent("short.txt")
        _ = FileManager.default.createFile(atPath: short.path, contents: Data("too short".utf8))
        let shortRun = try Executables.run(chapter, ["--quick", "--data", short.path])
        #expect(shortRun.status == 1 && shortRun.errors.hasPrefix("error: text too short"))

        let negative = try Executables.run(chapter, ["--steps=-5"])
        #expect(negative.status != 0 && negative.errors.contains("--steps must be positive"))
        let dropout = try Executables.run(chapter, ["--dropout", "1.5"])
        #expect(dropout.status != 0 && dropout.errors.contains("--dropout must be in [0, 1)"))
        let huge = try Executables.run(chapter, ["--quick", "--data", Executables.writePlayText(to: folder), "--batch-size", "1000000000"])
        #expect(huge.status == 1 && huge.errors.contains("--batch-size is 1000000000, above the limit of 65536"), "\(huge.errors)")
        for run in [missing, emptyRun, shortRun, negative, dropout, huge] {
            #expect(!run.errors.contains("Fatal error") && !run.errors.contains("Stack dump"))
            #expect(run.errors.split(separator: "\n").count == 1, "more than one line: \(run.errors)")
        }
    }
}
