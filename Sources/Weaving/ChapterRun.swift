// What one run of a chapter left: its standard output, split by the section titles it printed, the
// figures it drew, and the summary.json a training chapter writes.
import Foundation

/// The parts of a chapter's summary.json shown in a page's header.
public struct RunSummary: Decodable {
    public var parameterCount: Int
    public var steps: Int
    public var tokensSeen: Int
    public var finalTrainLoss: Float
    public var finalValLoss: Float
    public var trainTokensPerSecond: Double
    /// "char" or "bpe" (absent in summaries written before it was recorded).
    public var tokenizer: String?
    /// Characters per validation token (absent before it was recorded).
    public var charactersPerToken: Double?
}

public struct ChapterRun {
    public var command: String            // as the page shows it: "ch02 --data tinyshakespeare.txt --threads 2"
    public var output: [String]           // standard output, line by line
    public var wallSeconds: Double
    public var machine: String
    public var threads: Int
    public var summary: RunSummary?
    /// The --data file a training chapter read, and its length in characters (nil: the default corpus).
    public var text: (name: String, characters: Int)?
    public var woven: String              // the date, "2026-12-01"

    public init(command: String, output: [String], wallSeconds: Double, machine: String, threads: Int,
                summary: RunSummary?, text: (name: String, characters: Int)? = nil, woven: String) {
        self.command = command; self.output = output; self.wallSeconds = wallSeconds; self.machine = machine
        self.threads = threads; self.summary = summary; self.text = text; self.woven = woven
    }

    /// Tiny Shakespeare, the default corpus: its length in characters.
    public static let tinyShakespeareCharacters = 1_115_394

    /// What `endOfCell()` prints when the weave runs a chapter (ChapterSupport's `cellBreak`).
    public static let cellBreak = "── end of cell ──"

    /// A section's output cut at each `endOfCell()`: one part per call, then what follows the last. A
    /// cell whose last print ended without a newline leaves the mark at the end of that line.
    public static func cellOutputs(_ lines: [String]) -> [[String]] {
        var parts: [[String]] = [[]]
        for line in lines {
            guard line.hasSuffix(cellBreak) else { parts[parts.count - 1].append(line); continue }
            let before = String(line.dropLast(cellBreak.count))
            if !before.isEmpty { parts[parts.count - 1].append(before) }
            parts.append([])
        }
        return parts
    }

    /// `── 2. One Head of self-attention ──` -> "2. One Head of self-attention"
    public static func sectionTitle(in line: String) -> String? {
        guard line != cellBreak else { return nil }
        let rule = "──"
        guard line.hasPrefix(rule + " "), line.hasSuffix(" " + rule), line.count > 2 * rule.count + 2 else { return nil }
        return String(line.dropFirst(rule.count + 1).dropLast(rule.count + 1))
    }

    /// The output lines of each section, in the order of `titles`. Lines before the first title (the
    /// chapter's name) belong to the first section. The titles printed must be exactly the sections'.
    public func outputBySection(_ titles: [String]) throws -> [[String]] {
        var parts: [[String]] = [[]]
        var printed: [String] = []
        for line in output {
            if let title = Self.sectionTitle(in: line) {
                printed.append(title)
                if printed.count > 1 { parts.append([]) }
            } else {
                parts[parts.count - 1].append(line)
            }
        }
        if printed != titles {
            let mismatch = zip(titles, printed).first { $0 != $1 }
            let detail = mismatch.map { "main.swift has section \(String(reflecting: $0.0)) where the run printed \(String(reflecting: $0.1))" }
                ?? "main.swift has \(titles.count) sections, the run printed \(printed.count) section titles"
            throw WeaveError("the run's output does not follow the sections: \(detail)")
        }
        return parts
    }

    /// `drew /tmp/…/loss.png` -> the file drawn, shown on the page.
    public static func figure(in line: String) -> String? {
        guard line.hasPrefix("drew "), line.hasSuffix(".png") else { return nil }
        return String(line.dropFirst(5))
    }

    /// `linked figure /tmp/…/attention-all-layers.png` -> a figure too large to show at the page's width,
    /// which the page links to.
    public static func linkedFigure(in line: String) -> String? {
        let prefix = "linked figure "
        guard line.hasPrefix(prefix), line.hasSuffix(".png") else { return nil }
        return String(line.dropFirst(prefix.count))
    }

    /// `step 120/5000 | loss 2.3456 | 41,200 tok/s | 1m20s left`: the progress line, left out of pages.
    public static func isProgressLine(_ line: String) -> Bool {
        guard line.hasPrefix("step "), let bar = line.firstIndex(of: "|") else { return false }
        return line[..<bar].contains("/") && line.hasSuffix(" left")
    }
}
