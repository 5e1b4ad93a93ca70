// compare: reads every chapter's Plots/NN-name/summary.json and draws them side by side.
//
//   swift run -c release compare [--plots Plots]
//
// Writes Plots/compare/: val-loss.{dat,gp,png} (every chapter's validation loss against training tokens
// seen, log scale) and table.md (chapter, parameters, final val loss, wall time, tokens/s), and prints the table.
import ArgumentParser
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

        // The x axis is tokens seen, not steps: chapters use different batch and block sizes, and tokens
        // are what each one paid for its loss. Step 0 (no tokens) is drawn at 1000 tokens on the log axis.
        let series = summaries.map { summary in
            Series("\(summary.chapter.prefix(2)) \(summary.title)",
                   x: summary.evaluations.map { Double(max($0.tokensSeen, 1000)) },
                   y: summary.evaluations.map { Double($0.valLoss) })
        }
        let out = root.appendingPathComponent("compare")
        let files = try Plotter.shared.lines(series, title: "Every chapter: validation loss against training tokens",
                                             xLabel: "training tokens seen (log scale)", yLabel: "val loss (nats per character)",
                                             logScaleX: true, in: out, name: "val-loss")

        var table = "| chapter | parameters | val loss | wall time | training tokens/s | steps |\n|---|---:|---:|---:|---:|---:|\n"
        for summary in summaries {
            table += String(format: "| %@ %@ | %@ | %.4f | %@ | %@ | %d |\n", String(summary.chapter.prefix(2)), summary.title,
                            grouped(summary.parameterCount), summary.finalValLoss, duration(summary.wallSeconds),
                            grouped(Int(summary.trainTokensPerSecond)), summary.steps)
        }
        let machines = Set(summaries.map(\.machine)).sorted().joined(separator: "; ")
        table += "\nMeasured on: \(machines).\n"
        try AtomicFile.write(table, to: out.appendingPathComponent("table.md"))
        print(table)
        print("wrote \(files.rendered ? files.image.path : files.script.path) and \(out.appendingPathComponent("table.md").path)")
    }

    func grouped(_ n: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        return formatter.string(from: NSNumber(value: n)) ?? "\(n)"
    }

    func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }
}

Compare.main()
