// fuzz-checkpoint: FuzzTargets.checkpoint under libFuzzer (see scripts/fuzz.sh).
import Foundation
import FuzzTargets
import LibFuzzerDriver

// `fuzz-checkpoint --write-seeds FOLDER` writes the seed inputs instead of fuzzing.
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
    for (name, data) in try FuzzTargets.seeds(for: "checkpoint") {
        try data.write(to: URL(fileURLWithPath: CommandLine.arguments[2]).appendingPathComponent(name))
    }
    exit(0)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
// Called once per input; any crash inside is a finding. Returning 0 means "keep going".
exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
    if case .violated(let problem) = FuzzTargets.checkpoint(count == 0 ? Data() : Data(bytes: bytes!, count: count)) {
        FileHandle.standardError.write(Data("fuzz-checkpoint: \(problem)\n".utf8))
        abort()
    }
    return 0
})
