// ch01's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter01.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport
import Training

struct Chapter01: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch01", abstract: "Chapter 01 · Bigram: a character tokenizer and a next-character table.")
    @OptionGroup var training: TrainingOptions
}

extension Chapter01 {
    /// The bigram's table is V x V, and a step keeps B x T rows of V logits: refuses sizes that cannot fit
    /// in memory with a one-line error, before anything is allocated.
    static func checkTheTableFits(vocabularySize: Int, _ settings: Hyperparameters) throws {
        let (v, positions) = (Double(vocabularySize), Double(settings.batchSize) * Double(settings.blockSize))
        try MemoryBudget.check(parameters: v * v, activations: positions * v * 2)
    }
}
