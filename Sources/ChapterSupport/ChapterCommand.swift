// The start every training chapter shares: its command line parsed over its defaults, the device chosen,
// the plot folder opened. A chapter's own flags sit in its Flags.swift, out of the page's way.
import ArgumentParser
import TensorCore
import Training

/// A training chapter's command line: the flags every chapter shares (`training`) and any of its own.
public protocol ChapterCommand: ParsableCommand {
    var training: TrainingOptions { get }
    /// Whether --device chooses where this chapter runs (chapter 05a runs on both and refuses it).
    static var choosesDevice: Bool { get }
}

extension ChapterCommand {
    public static var choosesDevice: Bool { true }

    /// Parses the flags and applies them over `defaults`, checks the settings, applies --threads and
    /// --device, and opens Plots/<plots> (or --out). Any problem ends the program with one line.
    public static func start(_ defaults: Hyperparameters, plots: String, title: String)
        -> (command: Self, settings: Hyperparameters, report: ChapterReport) {
        let command = parseOrExitWithOneLine()
        let options = command.training
        let settings = options.resolve(defaults)
        exitOnError {
            if choosesDevice { try options.configureDevice() } else {
                guard options.device == nil else {
                    throw ValidationError("--device does not apply here: this chapter runs on more than one device side by side")
                }
                if let threads = options.threads { BLAS.threadCount = threads }
            }
            try TrainingOptions.check(settings)   // settings that cannot work together, such as a final rate above the peak
        }
        let report = exitOnError { try ChapterReport(chapter: plots, title: title, out: options.out) }
        return (command, settings, report)
    }
}
