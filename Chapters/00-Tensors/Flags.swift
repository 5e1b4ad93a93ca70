// ch00's command line. main.swift parses it in one line: `Chapter00.parseOrExitWithOneLine()`.
import ArgumentParser

struct Chapter00: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch00", abstract: "Chapter 00 · Tensors: matmul by loop and by BLAS, autograd, a gradient check.")
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1337
    @Option(help: "Folder for the plot (default: Plots/00-tensors).") var out: String?
    @Flag(help: "Smaller matrices, for a run of a second or two.") var quick = false
    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
    }
}
