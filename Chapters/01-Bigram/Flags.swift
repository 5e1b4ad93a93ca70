// ch01's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter01.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter01: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch01", abstract: "Chapter 01 · Bigram: a character tokenizer and a next-character table.")
    @OptionGroup var training: TrainingOptions
}
