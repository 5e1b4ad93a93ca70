// The appendix's measurement of a training step's cost (section 6 counts it): two models taking turns, so
// that the VM's drift falls on both alike.
import Foundation
import Training

/// The median milliseconds a step of each trainer takes: one warm-up step each, then `rounds` rounds in
/// which each trainer in turn takes `steps` steps.
func medianStepMilliseconds(_ trainers: [Trainer], rounds: Int, steps: Int) -> [Double] {
    for trainer in trainers { trainer.trainStep() }                                    // warm-up
    var times = [[Double]](repeating: [], count: trainers.count)
    for _ in 0..<rounds {
        for (index, trainer) in trainers.enumerated() {
            let start = Date()
            for _ in 0..<steps { trainer.trainStep() }
            times[index].append(Date().timeIntervalSince(start) * 1000 / Double(steps))
        }
    }
    return times.map { $0.sorted()[rounds / 2] }
}
