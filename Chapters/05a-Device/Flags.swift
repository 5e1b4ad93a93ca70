// ch05a's command line: the flags every training chapter takes (TrainingOptions: --steps,
// --batch-size, ..., --data, --device, --quick) and the ones only this chapter has. main.swift parses them
// over its defaults in one line: `Chapter05a.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter05a: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch05a", abstract: "Chapter 05a · Device: chapter 05's model on an OpenCL device, against the CPU.")
    @OptionGroup var training: TrainingOptions
    static var choosesDevice: Bool { false }   // it runs the CPU and the OpenCL device side by side
}
