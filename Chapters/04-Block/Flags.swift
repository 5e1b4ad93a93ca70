// ch04's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter04.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter04: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch04", abstract: "Chapter 04 · Block: FeedForward, residual connections, LayerNorm, stacking.")
    @OptionGroup var training: TrainingOptions
    @Option(help: "What the comparison stack keeps of a Block: nothing, residuals or layer-norm (see the exercises).")
    var plainKeeps: PlainBlock.Keeps = .nothing
}

extension PlainBlock {
    /// What the plain stack keeps of a Block (`--plain-keeps`): nothing, the residuals, or LayerNorm.
    enum Keeps: String, ExpressibleByArgument, CaseIterable {
        case nothing, residuals, layerNorm = "layer-norm"
        var label: String {
            switch self {
            case .nothing: return "without residuals and LayerNorm"
            case .residuals: return "with residuals but no LayerNorm"
            case .layerNorm: return "with LayerNorm but no residuals"
            }
        }
    }
}
