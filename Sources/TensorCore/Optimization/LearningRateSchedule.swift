// The learning rate over training: linear warmup, then cosine decay to a floor (nanoGPT's get_lr).
import Foundation

public struct LearningRateSchedule: Sendable, Codable {
    public var maxRate: Float
    public var minRate: Float
    public var warmupSteps: Int
    /// The step at which the decay reaches `minRate`; it stays there afterwards.
    public var decaySteps: Int

    public init(maxRate: Float, minRate: Float, warmupSteps: Int, decaySteps: Int) {
        self.maxRate = maxRate; self.minRate = minRate; self.warmupSteps = warmupSteps; self.decaySteps = decaySteps
    }

    /// A constant rate (what Karpathy's gpt.py uses).
    public static func constant(_ rate: Float) -> LearningRateSchedule {
        LearningRateSchedule(maxRate: rate, minRate: rate, warmupSteps: 0, decaySteps: 0)
    }

    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return maxRate * Float(step + 1) / Float(warmupSteps + 1) }
        if decaySteps <= warmupSteps { return maxRate }   // no decay phase: constant after warmup
        if step >= decaySteps { return minRate }
        let progress = Float(step - warmupSteps) / Float(decaySteps - warmupSteps)
        let coefficient = 0.5 * (1 + cosf(Float.pi * progress))   // 1 -> 0
        return minRate + coefficient * (maxRate - minRate)
    }
}
