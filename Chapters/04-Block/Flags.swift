// ch04's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick). main.swift parses them over its defaults in one line:
// `Chapter04.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter04: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch04", abstract: "Chapter 04 · Block: FeedForward, residual connections, LayerNorm, stacking.")
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Start every stack from PyTorch's default initialization instead of N(0, 0.02^2) (exercise 5).")
    var pytorchInitialization = false
}
