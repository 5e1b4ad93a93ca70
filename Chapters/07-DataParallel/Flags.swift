// ch07's command line: the flags every training chapter takes (TrainingOptions) and the number of
// processes. main.swift parses them over its defaults in one line: `Chapter07.start(defaults, ...)`.
import ArgumentParser
import ChapterSupport

struct Chapter07: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch07", abstract: "Chapter 07 · Data parallel: one model trained by several processes over Open MPI.")
    @OptionGroup var training: TrainingOptions
    @Option(help: "Processes to start under mpirun when not started by it already.") var processes = 2
    @Option(help: .hidden) var timingSteps = 0   // section 5's second job: time this many steps, print one line, stop

    func validate() throws {
        guard (1...64).contains(processes) else { throw ValidationError("--processes must be in 1...64, got \(processes)") }
    }
}
