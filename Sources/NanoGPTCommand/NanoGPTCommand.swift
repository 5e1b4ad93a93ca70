// nanogpt: the tool for after the chapters. Train a NanoGPT on your own text, resume it, and stream
// text from a saved model.
//
//   nanogpt train --data my.txt --out runs/mine          train (Ctrl-C saves; --resume continues)
//   nanogpt generate --checkpoint runs/mine/best          stream text from the best model
//   nanogpt quantize --checkpoint runs/mine --out F       the same model with int8 weights (generate loads it)
//   nanogpt plot runs/mine runs/other                      both runs' loss curves in one plot
import ArgumentParser
import ChapterSupport
import Foundation

@main
struct NanoGPTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nanogpt",
        abstract: "Train a GPT on any text (one token per character, or byte pairs), and generate text from it.",
        discussion: """
            Examples:
              nanogpt train --data my.txt --out runs/mine      train; checkpoints go to runs/mine/latest and runs/mine/best
              nanogpt train --resume runs/mine --steps 8000    continue exactly where it stopped, up to step 8000
              nanogpt train --tokenizer bpe --vocabulary-size 512 --out runs/bpe   byte-pair tokens (chapter 06)
              nanogpt generate --checkpoint runs/mine/best --prompt "ROMEO:"
              nanogpt quantize --checkpoint runs/mine --out runs/mine/int8.safetensors   int8 weights, a quarter the size
              nanogpt plot runs/mine runs/bpe --against tokens   both runs' loss curves in one plot
            Run `nanogpt help train` or `nanogpt help generate` for every option.
            """,
        subcommands: [Train.self, Generate.self, Quantize.self, Plot.self])

    /// Like ArgumentParser's own `main()`, except that every error is a single line on stderr:
    /// `error: <what is wrong>`, followed by a non-zero exit.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let status = (error as? CommandFailure)?.exitCode ?? exitCode(for: error).rawValue
            if status == 0 {
                print(fullMessage(for: error))   // --help and the like
                Foundation.exit(0)
            }
            // In a data-parallel run every process fails the same way: the first one says why.
            let quiet = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"].map { $0 != "0" } ?? false
            if !quiet, let line = message(for: error).split(separator: "\n").first {
                FileHandle.standardError.write(Data("error: \(line)\n".utf8))
            }
            Foundation.exit(status)
        }
    }
}

/// A failure the tool explains in its own words, with its exit status.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32 = 1
}
