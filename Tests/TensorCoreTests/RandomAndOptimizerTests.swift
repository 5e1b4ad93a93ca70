import Foundation
import Testing
import TensorCore

@Suite("Seeded randomness, AdamW, schedules, the parameter arena")
struct RandomAndOptimizerTests {
    @Test func xoshiroMatchesAnIndependentImplementation() {
        // The first outputs of xoshiro256** seeded by SplitMix64(1337), computed with a separate Python
        // implementation of the algorithm documented in Random.swift.
        let random = SeededRandom(seed: 1337)
        #expect(random.next() == 0xAD0A_A0A0_4F82_2EDC)
        #expect(random.next() == 0xD081_5851_CE88_5DEF)
        #expect(random.next() == 0xC70B_1747_1E26_3E43)
    }

    @Test func theSameSeedGivesBitIdenticalTensors() {
        let first = Tensor.normal([64, 32], std: 0.02, random: SeededRandom(seed: 5))
        let second = Tensor.normal([64, 32], std: 0.02, random: SeededRandom(seed: 5))
        let other = Tensor.normal([64, 32], std: 0.02, random: SeededRandom(seed: 6))
        #expect(first.values.map(\.bitPattern) == second.values.map(\.bitPattern))
        #expect(first.values != other.values)
    }

    @Test func normalDrawsHaveTheRequestedSpread() {
        let values = Tensor.normal([20_000], std: 0.02, random: SeededRandom(seed: 9)).values.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(mean) < 0.001)
        #expect(abs(std - 0.02) < 0.0005)
    }

    @Test func restoringTheStateContinuesTheSameStream() {
        let random = SeededRandom(seed: 77)
        _ = (0..<10).map { _ in random.next() }
        let copy = SeededRandom(state: random.state)
        #expect((0..<5).map { _ in random.next() } == (0..<5).map { _ in copy.next() })
    }

    @Test func adamWMatchesAStepComputedByHand() {
        let weight = Tensor(shape: [1, 2], values: [1.0, -2.0], requiresGrad: true)
        let bias = Tensor(shape: [1], values: [0.5], requiresGrad: true)
        let parameters = Parameters([("weight", weight), ("bias", bias)])
        parameters.grads[0] = 0.1; parameters.grads[1] = -0.3; parameters.grads[2] = 2
        let optimizer = AdamW(for: parameters, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        optimizer.update(parameters, learningRate: 0.01)

        // By hand, step 1: m = 0.1 g, v = 0.01 g^2, m_hat = g, v_hat = g^2, so the Adam step is
        // lr * g / (|g| + eps) = 0.01 * sign(g). Matrices also shrink by (1 - lr * wd) = 0.999 first.
        func expected(_ p: Double, _ g: Double, decays: Bool) -> Double {
            (decays ? p * (1 - 0.01 * 0.1) : p) - 0.01 * g / (abs(g) + 1e-8)
        }
        #expect(abs(Double(weight[0, 0]) - expected(1, 0.1, decays: true)) < 1e-6)
        #expect(abs(Double(weight[0, 1]) - expected(-2, -0.3, decays: true)) < 1e-6)
        #expect(abs(Double(bias[0]) - expected(0.5, 2, decays: false)) < 1e-6)   // no decay on biases
        #expect(optimizer.step == 1)
    }

    /// 21 values: the update's 8-wide body and its scalar tail both run, twice, against the formula.
    /// The fast update (the CPU backend's eight-at-a-time kernel, 21 values: SIMD body and tail) against
    /// the readable loop chapter 01 shows, NaiveKernels.adamW.
    @Test func adamWOnManyValuesFollowsTheReadableLoop() {
        let random = SeededRandom(seed: 5)
        let weight = Tensor(shape: [3, 7], values: (0..<21).map { _ in random.normal() }, requiresGrad: true)
        let parameters = Parameters([("weight", weight)])
        let optimizer = AdamW(for: parameters, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        var p = weight.values, m = [Float](repeating: 0, count: 21), v = m
        for step in 1...3 {
            let g = (0..<21).map { _ in random.normal() }
            for i in 0..<21 { parameters.grads[i] = g[i] }
            optimizer.update(parameters, learningRate: 0.01)
            NaiveKernels.adamW(parameters: &p, gradients: g, firstMoment: &m, secondMoment: &v, step: step,
                               learningRate: 0.01, weightDecay: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-8)
        }
        #expect(zip(weight.values, p).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func weightDecayAppliesOnlyToMatrices() {
        let parameters = Parameters([("embedding", .zeros([3, 2], requiresGrad: true)),
                                     ("gain", .zeros([2], requiresGrad: true)),
                                     ("weight", .zeros([2, 2], requiresGrad: true))])
        #expect(parameters.slots.map(\.decays) == [true, false, true])
        #expect(parameters.slots.map(\.offset) == [0, 6, 8])
        #expect(parameters.count == 12)
    }

    @Test func parametersAreViewsIntoOneArena() {
        let weight = Tensor(shape: [2, 2], values: [1, 2, 3, 4], requiresGrad: true)
        let parameters = Parameters([("w", weight)])
        #expect(weight.values == [1, 2, 3, 4])
        parameters.values[3] = 9
        #expect(weight[1, 1] == 9)
        sum(weight).backward()
        #expect(parameters.grads.toHost() == [1, 1, 1, 1])
        parameters.zeroGrad()
        #expect(weight.gradValues == [0, 0, 0, 0])
    }

    @Test func clippingScalesTheGlobalNorm() {
        let parameters = Parameters([("a", .zeros([2], requiresGrad: true)), ("b", .zeros([1, 1], requiresGrad: true))])
        parameters.grads[0] = 3; parameters.grads[1] = 0; parameters.grads[2] = 4
        #expect(parameters.clipGradNorm(to: 1) == 5)
        #expect(abs(parameters.gradNorm() - 1) < 1e-5)
        #expect(abs(parameters.grads[0] - 0.6) < 1e-5)
        #expect(parameters.clipGradNorm(to: 10) < 1.0001)   // under the limit: unchanged
        #expect(abs(parameters.gradNorm() - 1) < 1e-5)
    }

    @Test func warmupThenCosineDecay() {
        let schedule = LearningRateSchedule(maxRate: 1e-3, minRate: 1e-4, warmupSteps: 10, decaySteps: 110)
        #expect(abs(schedule.rate(at: 0) - 1e-3 / 11) < 1e-9)
        #expect(abs(schedule.rate(at: 9) - 1e-3 * 10 / 11) < 1e-9)
        #expect(abs(schedule.rate(at: 10) - 1e-3) < 1e-9)
        #expect(abs(schedule.rate(at: 60) - 5.5e-4) < 1e-8)    // halfway: the mean of max and min
        #expect(abs(schedule.rate(at: 110) - 1e-4) < 1e-9)
        #expect(abs(schedule.rate(at: 500) - 1e-4) < 1e-9)
        #expect(LearningRateSchedule.constant(3e-4).rate(at: 1234) == 3e-4)
    }

    @Test func withoutGradientsRecordsNothingAndComputesTheSame() {
        let weight = Tensor(shape: [2, 2], values: [1, -2, 3, 0.5], requiresGrad: true)
        let x = Tensor(shape: [1, 2], values: [0.3, -0.7])
        let recorded = relu(linear(x, weight: weight, bias: nil))
        let plain = withoutGradients { relu(linear(x, weight: weight, bias: nil)) }
        #expect(plain.values == recorded.values)
        #expect(recorded.requiresGrad && !plain.requiresGrad)
        #expect(relu(x + x).requiresGrad == false)   // and recording is back on afterwards for parameters:
        #expect(scale(weight, by: 2).requiresGrad)
    }

    @Test func aWarmTrainingStepAllocatesNoTensorBuffers() {
        let random = SeededRandom(seed: 1)
        let weight = Tensor.normal([8, 4], std: 0.02, random: random, requiresGrad: true)
        let bias = Tensor.zeros([8], requiresGrad: true)
        let parameters = Parameters([("w", weight), ("b", bias)])
        let optimizer = AdamW(for: parameters)
        let x = randomTensor([3, 5, 4], random, requiresGrad: false)
        func step() {
            parameters.zeroGrad()
            let loss = crossEntropy(relu(linear(x, weight: weight, bias: bias)), targets: Array(repeating: 2, count: 15))
            loss.backward()
            optimizer.update(parameters, learningRate: 1e-2)
        }
        step(); step()
        let before = BufferPool.allocations
        for _ in 0..<5 { step() }
        #expect(BufferPool.allocations == before)
    }
}
