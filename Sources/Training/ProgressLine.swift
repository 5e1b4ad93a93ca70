// The one-line progress report of a training run.
import Foundation

/// `step 120/5000 | loss 2.3456 | 41,200 tok/s | 1m20s left`, redrawn in place on a terminal (stderr),
/// or printed every tenth of the run when the output is a file.
final class ProgressLine {
    let totalSteps: Int, tokensPerStep: Int
    let interactive = isatty(STDERR_FILENO) != 0
    /// False on every process of a data-parallel run but the first: one of them reports.
    let shown: Bool
    var lastPrinted = -1.0

    init(totalSteps: Int, tokensPerStep: Int, shown: Bool = true) {
        self.totalSteps = totalSteps; self.tokensPerStep = tokensPerStep; self.shown = shown
    }

    func update(step: Int, loss: Float, trainingSeconds: Double) {
        guard shown else { return }
        let now = Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
        let every = interactive ? 0.25 : .infinity
        let tenth = max(1, totalSteps / 10)
        guard now - lastPrinted >= every || (!interactive && step % tenth == 0) || step == totalSteps else { return }
        lastPrinted = now
        let rate = Double(step * tokensPerStep) / max(trainingSeconds, 1e-9)
        let left = Double(totalSteps - step) * trainingSeconds / Double(max(step, 1))
        let line = String(format: "step %d/%d | loss %.4f | %@ tok/s | %@ left", step, totalSteps, loss,
                          Self.grouped(Int(rate)), Self.duration(left))
        if interactive {
            fflush(stdout)
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            print(line)   // into the same stream as the log lines, so a saved log reads in order
            fflush(stdout)
        }
    }

    func finish() { if interactive && shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        return String(digits.reversed().enumerated().map { $0.offset > 0 && $0.offset % 3 == 0 ? ",\($0.element)" : "\($0.element)" }
            .joined().reversed())
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
