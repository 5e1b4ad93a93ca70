// ch05's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter05.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter05: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch05", abstract: "Chapter 05 · NanoGPT: the full model, trained, with streaming generation.")
    @OptionGroup var training: TrainingOptions
    @Option(help: "Sampling temperature for the final sample (> 0).") var temperature: Float = 0.8
    @Option(help: "Sample only from the k most likely tokens (0: all).") var topK: Int = 0
    @Option(help: "Folder to save the trained model in (model.safetensors).") var checkpoint = "checkpoints/05-nanogpt"

    func validate() throws {
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be > 0, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k cannot be negative") }
    }
}
