// ch03's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter03.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter03: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch03", abstract: "Chapter 03 · MultiHead: several attention heads, concatenated and projected.")
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Start from PyTorch's default initialization, as the code written in the lecture's video does (see the exercises).")
    var pytorchInitialization = false
}
