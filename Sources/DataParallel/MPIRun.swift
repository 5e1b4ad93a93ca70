// Starting a data-parallel run from one command: `nanogpt train --processes N`, or chapter 07, starts
// Open MPI's mpirun with N copies of this program and waits for them. What a root container needs is
// passed along (--allow-run-as-root), and more processes than cores are allowed (--oversubscribe).
import Foundation

/// Why a data-parallel run could not start.
public struct MPIRunError: Error, CustomStringConvertible {
    public let description: String
}

public enum MPIRun {
    /// Runs `mpirun -np N <this program> <the same arguments, less --processes>`, passes its output on,
    /// and exits with its status. mpirun's own multi-line reports (a process that died, say) become one line.
    public static func run(processes: Int) throws -> Never {
        guard let mpirun = executableOnPath("mpirun") else {
            throw MPIRunError(description: "--processes needs Open MPI's mpirun: install it with "
                              + "`apt-get install openmpi-bin libopenmpi-dev`, or train without --processes")
        }
        let program = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var arguments = Array(CommandLine.arguments.dropFirst()), index = 0
        while index < arguments.count {   // every form of --processes: `--processes N` and `--processes=N`
            if arguments[index] == "--processes" { arguments.removeSubrange(index..<min(index + 2, arguments.count)) }
            else if arguments[index].hasPrefix("--processes=") { arguments.remove(at: index) }
            else { index += 1 }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", String(processes), program] + arguments
        let errors = Pipe()
        process.standardError = errors   // standard output goes straight through
        // A parent may have started us with SIGINT and SIGTERM blocked, and mpirun would inherit the mask:
        // unblock them, so that an interruption reaches mpirun, and through it every process.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &mask, nil)
        try process.run()
        // SIGTERM to this process reaches mpirun, which passes it to every rank (Ctrl-C reaches them all anyway).
        Forwarding.child = process.processIdentifier
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber) { signalNumber in
                Forwarding.interrupted = 1
                if signalNumber == SIGTERM { _ = kill(Forwarding.child, signalNumber) }   // Ctrl-C reaches mpirun from the terminal
            }
        }

        var report: [String] = [], inReport = false
        let reader = errors.fileHandleForReading
        var pending = Data()
        while case let chunk = reader.availableData, !chunk.isEmpty {
            pending += chunk
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasPrefix("-----") { inReport.toggle(); continue }   // mpirun frames its reports in dashes
                if inReport || line.hasPrefix("mpirun") || line.hasPrefix("Primary job") { report.append(line); continue }
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        process.waitUntilExit()
        let status = process.terminationStatus
        if Forwarding.interrupted == 0, status != 0, let reason = report.first(where: { $0.contains("exited on signal") || $0.contains("noticed that process") }) {
            FileHandle.standardError.write(Data(("error: \(processes) processes: "
                + reason.trimmingCharacters(in: .whitespaces) + "\n").utf8))
        }
        // Interrupted: the processes saved latest/ and stopped, as one process does (status 130).
        exit(Forwarding.interrupted != 0 ? 130 : status == 0 ? 0 : max(1, status))
    }

    /// Runs a second job, `mpirun -np N <this program> ARGUMENTS`, from inside a job (chapter 07 does, to show
    /// more processes than cores), and returns what its first process printed. Open MPI's variables of the
    /// running job are left out of its environment, or the new processes would think they belong to this job.
    public static func output(processes: Int, arguments: [String]) -> String {
        guard let mpirun = executableOnPath("mpirun") else { return "" }
        return output(of: [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", String(processes),
                           URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path] + arguments)
    }

    /// Runs `command` (a program's path, then its arguments) to the end and returns its standard output.
    /// Open MPI's variables of a running job are left out of its environment, so that an mpirun it starts
    /// is a job of its own.
    public static func output(of command: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_"].contains { key.hasPrefix($0) }
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    public static func executableOnPath(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// The process a forwarded signal goes to (a C signal handler cannot capture context).
enum Forwarding {
    nonisolated(unsafe) static var child: pid_t = 0
    nonisolated(unsafe) static var interrupted: sig_atomic_t = 0
}
