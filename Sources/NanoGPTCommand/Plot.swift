// nanogpt plot: the loss curves of several `nanogpt train` runs in one picture, read from their log.jsonl.
import ArgumentParser
import ChapterSupport
import Foundation
import Plotting

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Overlay the loss curves of nanogpt train runs (from each run's log.jsonl).",
        discussion: """
            Each RUN is a run folder (holding log.jsonl) or a log.jsonl file. Writes NAME.dat, NAME.gp and NAME.png
            into --out and prints the val curves as text. Points are the evaluations the runs logged, nothing between.
              nanogpt plot runs/small runs/wide --against tokens
            """)

    enum Axis: String, ExpressibleByArgument, CaseIterable { case step, tokens }

    @Argument(help: "Run folders or log.jsonl files.") var runs: [String]
    @Option(help: "The x axis: step, or tokens seen (fair between runs of different batch sizes).") var against: Axis = .step
    @Option(help: "Folder for the plot files.") var out = "runs"
    @Option(help: "Base name of the plot files.") var name = "loss-comparison"

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("name at least one run folder or log.jsonl") }
        guard !name.isEmpty, !name.contains("/") else { throw ValidationError("--name must be a plain file name, got \(name.debugDescription)") }
    }

    func run() throws {
        let logs = try runs.map { try RunLogFile(path: $0) }
        let labels = RunLogFile.labels(for: logs)
        var series: [Series] = []
        for (index, (log, label)) in zip(logs, labels).enumerated() {   // each run in one colour: its val line, its train points
            let x = log.entries.map { against == .step ? Double($0.step) : Double($0.tokens) }
            series.append(Series("\(label): val", x: x, y: log.entries.map(\.valLoss), style: .line, colour: index))
            series.append(Series("\(label): train", x: x, y: log.entries.map(\.trainLoss), style: .points, colour: index))
        }
        let xLabel = against == .step ? "step" : "tokens seen"
        let files = try Plotter.shared.lines(series, title: "nanogpt train: " + labels.joined(separator: ", "), xLabel: xLabel,
                                             yLabel: "loss (nats per token)", in: URL(fileURLWithPath: out), name: name)
        Plotter.shared.printLines(series.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
                                  title: "val loss", xLabel: xLabel, yLabel: "loss")
        for (log, label) in zip(logs, labels) {
            let best = log.entries.min { $0.valLoss < $1.valLoss }!
            print(String(format: "%@: %d evaluations, last at step %d; best val loss %.4f at step %d", label, log.entries.count,
                         log.entries.last!.step, best.valLoss, best.step))
        }
        print(files.rendered ? "drew \(files.image.path)" : "wrote \(files.script.path) (no gnuplot: no picture)")
    }
}

/// One run's log.jsonl: a JSON object per evaluation, as `nanogpt train` appends them.
struct RunLogFile {
    struct Entry: Decodable {
        var step: Int, tokens: Int
        var trainLoss: Double, valLoss: Double
        enum CodingKeys: String, CodingKey { case step, tokens, trainLoss = "train_loss", valLoss = "val_loss" }
    }
    let path: String
    let entries: [Entry]

    init(path given: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: given, isDirectory: &isFolder) else {
            throw CommandFailure(description: "\(given): no such run folder or file")
        }
        path = isFolder.boolValue ? URL(fileURLWithPath: given).appendingPathComponent("log.jsonl").path : given
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(description: "\(path): cannot read it (is \(given) a nanogpt train run folder?)")
        }
        let decoder = JSONDecoder()
        var entries: [Entry] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            guard let entry = try? decoder.decode(Entry.self, from: Data(line)) else {
                throw CommandFailure(description: "\(path), line \(index + 1): not a log entry (a JSON object with step, tokens, train_loss, val_loss)")
            }
            guard entry.step >= 0, entry.tokens >= 0 else {
                throw CommandFailure(description: "\(path), line \(index + 1): a negative step or token count")
            }
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw CommandFailure(description: "\(path): the log is empty (no evaluation logged yet)") }
        self.entries = entries
    }

    /// Each run's name in the legend: its folder's name, or more of its path where two folders share a name.
    static func labels(for logs: [RunLogFile]) -> [String] {
        let folders = logs.map { URL(fileURLWithPath: $0.path).deletingLastPathComponent() }
        let short = folders.map(\.lastPathComponent)
        return zip(folders, short).map { folder, name in
            short.filter { $0 == name }.count > 1 ? folder.path : name
        }
    }
}
