// ch06's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter06.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter06: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch06", abstract: "Chapter 06 · Tokens: a byte-pair tokenizer, and NanoGPT on tokens versus characters.")
    @OptionGroup var training: TrainingOptions
    @Option(help: "Folder to save the byte-pair model in (model.safetensors, with its merges).") var checkpoint = "checkpoints/06-tokens"

    func validate() throws {
        if training.tokenizer != nil {
            throw ValidationError("chapter 06 trains both tokenizers; shape the byte-pair one with --vocabulary-size and --pre-split")
        }
    }
}
