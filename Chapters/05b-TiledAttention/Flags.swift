// ch05b's command line. main.swift parses it in one line: `Chapter05b.parseOrExitWithOneLine()`.
import ArgumentParser

struct Chapter05b: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch05b", abstract: "Chapter 05b · Attention without the T x T matrix: the online softmax and tiled attention.")
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1337
    @Option(help: "Folder for the plots (default: Plots/05b-tiled-attention).") var out: String?
    @Flag(help: "Shorter contexts and fewer repeats, for a run of a few seconds.") var quick = false
    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
    }
}
