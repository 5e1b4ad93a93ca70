// AdamW (Loshchilov and Hutter): Adam with decoupled weight decay, step for step as PyTorch's
// torch.optim.AdamW computes it.
import Foundation

public final class AdamW {
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// First and second moment of every gradient element, in the arena's layout.
    public let firstMoment: Storage, secondMoment: Storage
    /// Number of updates taken so far (t in the bias corrections).
    public var step = 0

    public init(for parameters: Parameters, beta1: Float = 0.9, beta2: Float = 0.99, epsilon: Float = 1e-8,
                weightDecay: Float = 0.1) {
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        firstMoment = .zeros(count: parameters.count, on: parameters.values.backend)
        secondMoment = .zeros(count: parameters.count, on: parameters.values.backend)
    }

    /// One update of every parameter from its gradient:
    ///   p -= lr * weightDecay * p                 (decayed parameters only: matrices and embedding tables)
    ///   m  = beta1 * m + (1 - beta1) * g
    ///   v  = beta2 * v + (1 - beta2) * g^2
    ///   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    public func update(_ parameters: Parameters, learningRate: Float) {
        precondition(parameters.count == firstMoment.count, "optimizer built for other parameters")
        step += 1
        let correction1 = 1 - powf(beta1, Float(step)), correction2 = 1 - powf(beta2, Float(step))
        let stepSize = learningRate / correction1, correction2Root = correction2.squareRoot()
        for slot in parameters.slots {
            parameters.values.backend.adamW(values: parameters.values, grads: parameters.grads, firstMoment: firstMoment,
                          secondMoment: secondMoment, range: slot.offset..<(slot.offset + slot.count),
                          decay: slot.decays ? 1 - learningRate * weightDecay : 1, beta1: beta1, beta2: beta2,
                          stepSize: stepSize, correction2Root: correction2Root, epsilon: epsilon)
        }
    }
}
