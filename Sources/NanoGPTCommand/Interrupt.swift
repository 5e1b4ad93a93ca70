// nanogpt train's interruption: Ctrl-C or SIGTERM saves and stops; a second one stops at once.
import Foundation

/// Ctrl-C (SIGINT), or SIGTERM (what `timeout`, job schedulers and mpirun send). The first sets a flag
/// that training checks before every step (the run then saves latest/ and stops). A second, while that
/// save or a step is still running, stops the process at once, after printing what is on disk: the last
/// checkpoint that was completely written (atomic writes guarantee latest/ holds it whole).
final class InterruptFlag {
    nonisolated(unsafe) static var signalled: sig_atomic_t = 0
    /// What a second Ctrl-C prints, prepared in advance as a C string: a signal handler may only call
    /// async-signal-safe functions (strlen, write, _exit), and swapping one pointer is a single store.
    nonisolated(unsafe) static var lastWords: UnsafeMutablePointer<CChar> = strdup(
        "\nInterrupted again: stopped at once. No checkpoint has been saved yet.\n")

    init() {
        Self.signalled = 0
        _ = Self.lastWords   // initialized now: a lazy global's first use must not happen inside the handler
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { _ in
                if InterruptFlag.signalled != 0 {
                    let words = InterruptFlag.lastWords
                    _ = write(STDERR_FILENO, words, strlen(words))
                    _exit(130)
                }
                InterruptFlag.signalled = 1
            }
        }
        // A parent may have started us with these signals blocked (the mask is inherited); make sure they arrive.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &mask, nil)
    }

    var raised: Bool { Self.signalled != 0 }

    /// Called after each checkpoint is completely written. The previous message is never freed (a few
    /// bytes per checkpoint): a handler might be printing it at this very moment.
    func checkpointSaved(step: Int, in latest: URL, run: URL) {
        Self.lastWords = strdup("\nInterrupted again: stopped at once. \(latest.path) holds the checkpoint of step \(step), "
                                + "whole; continue with: nanogpt train --resume \(run.path)\n")
    }
}
