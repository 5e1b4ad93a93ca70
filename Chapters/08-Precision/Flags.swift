// ch08's command line: the flags every training chapter takes (TrainingOptions: --data, --steps, --quick, ...)
// and the checkpoint it measures. main.swift parses them over its defaults in one line: `Chapter08.start(...)`.
import ArgumentParser
import ChapterSupport

struct Chapter08: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch08", abstract: "Chapter 08 · Precision: what float32, bfloat16 and int8 hold, and int8 weights for streaming.")
    @OptionGroup var training: TrainingOptions
    @Option(help: "The trained model to measure: chapter 05's checkpoint (trained here with chapter 05's recipe when missing).")
    var checkpoint = "checkpoints/05-nanogpt"
    @Option(help: "Tokens each speed measurement streams.") var streamTokens = 2_000

    func validate() throws {
        guard streamTokens > 0 else { throw ValidationError("--stream-tokens must be positive, got \(streamTokens)") }
    }
}
