// compare: reads every chapter's Plots/NN-name/summary.json and draws them side by side.
//
//   swift run -c release compare [--plots Plots]
//
// Writes Plots/compare/: val-loss.{dat,gp,png} (every chapter's validation loss per character against
// training characters seen, log scale) and table.md (chapter, tokenizer, parameters, final val loss per
// token and in bits per character, wall time, tokens/s), and prints the table.
import ArgumentParser
import ChapterSupport
import FileFormats
import Foundation
import Plotting
import TensorCore
import Training

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Compare every chapter's results: one val-loss plot and a Markdown table.")
    @Option(help: "The folder holding the chapters' output folders.") var plots = "Plots"

    func run() throws {
        let root = URL(fileURLWithPath: plots)
        guard let folders = try? FileManager.default.contentsOfDirectory(atPath: root.path) else {
            throw ValidationError("no folder \(root.path): run some chapters first")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var summaries: [ChapterSummary] = []
        for folder in folders.sorted() where folder != "compare" {
            let file = root.appendingPathComponent(folder).appendingPathComponent("summary.json")
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            do { summaries.append(try decoder.decode(ChapterSummary.self, from: data)) }
            catch { print("warning: skipping \(file.path): not a chapter summary (\(error.localizedDescription))") }
        }
        guard !summaries.isEmpty else { throw ValidationError("no summary.json under \(root.path): run some chapters first") }

        // The x axis is characters of training text seen, not steps: chapters use different batch and block
        // sizes, and a byte-pair token (chapter 06) covers several characters. The y axis is the loss per
        // character (a token's loss divided by the characters it covers), so every chapter is on one scale.
        // Step 0 (nothing seen) is drawn at 1000 characters on the log axis. Only measured points are drawn.
        let series = summaries.map { summary in
            let charactersPerToken = summary.charactersPerToken ?? 1
            return Series("\(summary.chapter.prefix { $0 != "-" }) \(summary.title)",
                          x: summary.evaluations.map { max(Double($0.tokensSeen) * charactersPerToken, 1000) },
                          y: summary.evaluations.map { Double($0.valLoss) / charactersPerToken },
                          style: .points)   // the evaluations as measured, nothing drawn between them
        }
        let out = root.appendingPathComponent("compare")
        let files = try Plotter.shared.lines(series, title: "Every chapter: validation loss per character against training characters",
                                             xLabel: "training characters seen (log scale)", yLabel: "val loss (nats per character)",
                                             logScaleX: true, in: out, name: "val-loss")

        var table = "| chapter | tokens | parameters | val loss (nats per token) | val bits per character | wall time | training tokens/s | steps |\n"
        table += "|---|---|---:|---:|---:|---:|---:|---:|\n"
        for summary in summaries {
            table += String(format: "| %@ %@ | %@ | %@ | %.4f | %.3f | %@ | %@ | %d |\n", String(summary.chapter.prefix { $0 != "-" }), summary.title,
                            summary.tokenizer ?? "char", grouped(summary.parameterCount), summary.finalValLoss,
                            summary.valBitsPerCharacter, duration(summary.wallSeconds),
                            grouped(Int(summary.trainTokensPerSecond)), summary.steps)
        }
        let machines = Set(summaries.map(\.machine)).sorted().joined(separator: "; ")
        table += "\nMeasured on: \(machines).\n"
        try AtomicFile.write(table, to: out.appendingPathComponent("table.md"))
        print(table)
        print("wrote \(files.rendered ? files.image.path : files.script.path) and \(out.appendingPathComponent("table.md").path)")
    }

    func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}

Compare.main()
