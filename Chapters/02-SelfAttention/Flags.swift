// ch02's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter02.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter02: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch02", abstract: "Chapter 02 · Self-attention: averaging the past, then one Head.")
    @OptionGroup var training: TrainingOptions
}
