// What every fuzz binary's main does: write the seeds, or hand one target to libFuzzer's driver.
import Foundation
import FuzzTargets
import LibFuzzerDriver

/// The target the driver's callback runs (a C callback cannot capture it).
nonisolated(unsafe) private var target: (Data) -> FuzzTargets.Outcome = { _ in .accepted }
nonisolated(unsafe) private var targetName = ""

/// `fuzz-NAME --write-seeds FOLDER` writes the seed inputs; any other arguments are libFuzzer's. A crash
/// inside the target is a finding, and so is a broken invariant: that one is printed, then aborts.
public func runFuzzer(_ name: String) -> Never {
    if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
        exit(writeSeeds(of: name, into: URL(fileURLWithPath: CommandLine.arguments[2])))
    }
    guard let entry = FuzzTargets.all.first(where: { $0.name == name }) else { fatalError("no fuzz target named \(name)") }
    (target, targetName) = (entry.run, name)
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    // Called once per input. Returning 0 means "keep going".
    exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
        if case .violated(let problem) = target(count == 0 ? Data() : Data(bytes: bytes!, count: count)) {
            FileHandle.standardError.write(Data("fuzz-\(targetName): \(problem)\n".utf8))
            abort()
        }
        return 0
    })
}

/// Writes the target's seeds; returns the exit status. (Its own function, so that everything it made is
/// freed before `exit` and the leak checker has nothing to report.)
private func writeSeeds(of name: String, into folder: URL) -> Int32 {
    do {
        for (file, data) in try FuzzTargets.seeds(for: name) { try data.write(to: folder.appendingPathComponent(file)) }
        return 0
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        return 1
    }
}
