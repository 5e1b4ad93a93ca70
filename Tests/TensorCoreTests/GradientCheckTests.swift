// Every differentiable op against central finite differences.
// Tolerances (Float32, eps = 1e-2): |analytic - numeric| <= 2e-3 + 1e-2 * |numeric| for every element.
import DeviceTesting
import Testing
import TensorCore

@Suite("Gradient checks: autograd against central finite differences", .onEveryDevice)
struct GradientCheckTests {
    let random = SeededRandom(seed: 42)

    func expectGradientsMatch(_ inputs: [Tensor], _ function: () -> Tensor,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let result = gradientCheck(inputs, epsilon: 1e-2, absoluteTolerance: 2e-3, relativeTolerance: 1e-2, function)
        #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
        #expect(result.checkedElements == inputs.reduce(0) { $0 + $1.count }, sourceLocation: sourceLocation)
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func matmulEveryTransposeCombination(transposeA: Bool, transposeB: Bool) {
        let a = randomTensor(transposeA ? [4, 3] : [3, 4], random)
        let b = randomTensor(transposeB ? [5, 4] : [4, 5], random)
        expectGradientsMatch([a, b]) { matmul(a, b, transposeA: transposeA, transposeB: transposeB) }
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func batchedMatmul(transposeA: Bool, transposeB: Bool) {
        let a = randomTensor(transposeA ? [2, 4, 3] : [2, 3, 4], random)
        let b = randomTensor(transposeB ? [2, 5, 4] : [2, 4, 5], random)
        expectGradientsMatch([a, b]) { matmul(a, b, transposeA: transposeA, transposeB: transposeB) }
    }

    @Test func matmulWithSharedMatrixOnEitherSide() {
        let batch = randomTensor([2, 3, 4], random), right = randomTensor([4, 5], random), left = randomTensor([3, 3], random)
        expectGradientsMatch([batch, right]) { matmul(batch, right) }
        expectGradientsMatch([left, batch]) { matmul(left, batch) }
    }

    @Test func linearWithAndWithoutBias() {
        let x = randomTensor([2, 3, 4], random), weight = randomTensor([5, 4], random), bias = randomTensor([5], random)
        expectGradientsMatch([x, weight, bias]) { linear(x, weight: weight, bias: bias) }
        expectGradientsMatch([x, weight]) { linear(x, weight: weight, bias: nil) }
    }

    @Test func addWithBroadcasting() {
        let x = randomTensor([2, 3, 4], random), bias = randomTensor([4], random), position = randomTensor([3, 4], random)
        expectGradientsMatch([x, bias]) { x + bias }
        expectGradientsMatch([position, x]) { position + x }
        expectGradientsMatch([x]) { x + x }
    }

    @Test func scaleAndRelu() {
        let x = randomTensor([3, 5], random, awayFromZero: true)
        expectGradientsMatch([x]) { scale(x, by: -0.7) }
        expectGradientsMatch([x]) { relu(x) }
    }

    @Test func dropoutWithAFixedMask() {
        let x = randomTensor([4, 6], random)
        expectGradientsMatch([x]) { dropout(x, probability: 0.3, training: true, seed: 7, stream: 3) }
    }

    /// 11 x 11 blocks: causal rows see 1 to 11 values, so both the 8-wide SIMD body and the tail run.
    @Test(arguments: [false, true])
    func softmaxLastAxis(causal: Bool) {
        let x = randomTensor([2, 11, 11], random)
        expectGradientsMatch([x]) { softmax(x, causal: causal) }
    }

    @Test func softmaxWithAFusedScaleEqualsScaleThenSoftmax() {
        let x = randomTensor([2, 4, 4], random)
        expectGradientsMatch([x]) { softmax(x, causal: true, scale: 0.35) }
        let fused = softmax(x, causal: true, scale: 0.35).values, separate = softmax(scale(x, by: 0.35), causal: true).values
        #expect(maxAbsoluteDifference(fused, separate) < 1e-6)
    }

    @Test(arguments: [false, true])
    func softmaxOfProductsIsSoftmaxOfTheMatmul(causal: Bool) {
        let a = randomTensor([2, 3, 9, 5], random), b = randomTensor([2, 3, 9, 5], random)
        expectGradientsMatch([a, b]) { softmaxOfProducts(a, b, causal: causal, scale: 0.45) }
        let fused = softmaxOfProducts(a, b, causal: causal, scale: 0.45).values
        let separate = softmax(matmul(a, b, transposeB: true), causal: causal, scale: 0.45).values
        #expect(maxAbsoluteDifference(fused, separate) < 1e-6)
    }

    /// 140 queries make three row blocks (64, 64, 12), so the causal products really skip masked tiles; the
    /// finite-difference check above only sees one block. Forward and every gradient must still equal the
    /// unfused softmax of the full product.
    @Test(arguments: [false, true])
    func softmaxOfProductsInRowBlocksMatchesTheFullProduct(causal: Bool) {
        #expect(causalRowBlocks(140) == [0..<64, 64..<128, 128..<140])
        let shape = [2, 140, 6]
        let seed = randomTensor(shape.dropLast() + [140], random, requiresGrad: false).values   // d loss / d output
        func run(fused: Bool) -> (values: [Float], aGrad: [Float], bGrad: [Float]) {
            let a = Tensor(shape: shape, values: (0..<1680).map { Float(($0 * 37) % 23) / 23 - 0.5 }, requiresGrad: true)
            let b = Tensor(shape: shape, values: (0..<1680).map { Float(($0 * 53) % 29) / 29 - 0.5 }, requiresGrad: true)
            let out = fused ? softmaxOfProducts(a, b, causal: causal, scale: 0.4)
                            : softmax(matmul(a, b, transposeB: true), causal: causal, scale: 0.4)
            out.backward(seed: seed)
            return (out.values, a.gradValues!, b.gradValues!)
        }
        let (fused, full) = (run(fused: true), run(fused: false))
        #expect(maxAbsoluteDifference(fused.values, full.values) < 1e-6)
        #expect(maxAbsoluteDifference(fused.aGrad, full.aGrad) < 1e-5)
        #expect(maxAbsoluteDifference(fused.bGrad, full.bGrad) < 1e-5)
        #expect(fused.aGrad.contains { $0 != 0 } && fused.bGrad.contains { $0 != 0 })
    }

    /// A causal softmax's output times values, in row blocks, against the plain batched matmul: forward and
    /// both gradients (the weights' gradient only where the weights are not masked).
    @Test func causalMatmulMatchesMatmulOnCausalWeights() {
        let (t, size) = (140, 5)
        let scores = randomTensor([2, t, t], random, requiresGrad: false)
        let seed = randomTensor([2, t, size], random, requiresGrad: false).values
        func run(blocked: Bool) -> (values: [Float], weightsGrad: [Float], valuesGrad: [Float]) {
            let weights = Tensor(shape: scores.shape, values: softmax(scores, causal: true).values, requiresGrad: true)
            let values = Tensor(shape: [2, t, size], values: (0..<(2 * t * size)).map { Float(($0 * 31) % 17) / 17 - 0.5 },
                                requiresGrad: true)
            let out = blocked ? causalMatmul(weights, values) : matmul(weights, values)
            out.backward(seed: seed)
            let visible = (0..<(2 * t * t)).map { weights.gradValues![$0] * (($0 % t) <= ($0 / t) % t ? 1 : 0) }
            return (out.values, visible, values.gradValues!)
        }
        let (blocked, full) = (run(blocked: true), run(blocked: false))
        #expect(maxAbsoluteDifference(blocked.values, full.values) < 1e-6)
        #expect(maxAbsoluteDifference(blocked.weightsGrad, full.weightsGrad) < 1e-5)
        #expect(maxAbsoluteDifference(blocked.valuesGrad, full.valuesGrad) < 1e-5)
    }

    /// The first gradient to reach a tensor is written over a fresh buffer, later ones are added
    /// by the engine (`GradientBuffers`). Here x reaches the loss through four ops, so whichever runs first
    /// writes and the other three add; and x + x makes one op's two gradients meet.
    @Test func aTensorUsedByManyOpsGetsTheSumOfTheirGradients() {
        let x = randomTensor([2, 4, 4], random, awayFromZero: true), w = randomTensor([4, 4], random)
        expectGradientsMatch([x, w]) {
            add(add(relu(x), softmax(x, causal: true)), add(linear(x, weight: w, bias: nil), add(x, x)))
        }
    }

    /// A fresh gradient buffer comes from the pool with whatever its last user left in it, and must be
    /// written, never added to. Fill the pool with NaN buffers of every size this graph uses, then check
    /// that backward still gives the gradients of a run with a clean pool.
    @Test func freshGradientBuffersAreWrittenNotAddedTo() {
        let x = randomTensor([2, 4, 4], random, awayFromZero: true), w = randomTensor([4, 4], random)
        func gradients() -> [Float] {
            x.clearGrad()
            w.clearGrad()
            let out = add(add(relu(x), softmax(x, causal: true)), add(linear(x, weight: w, bias: nil), add(x, x)))
            sum(softmaxOfProducts(out, out, causal: true)).backward()
            return x.gradValues! + w.gradValues!
        }
        let clean = gradients()
        var poisoned: [Storage] = []
        for count in [x.count, w.count] { for _ in 0..<40 { let s = Storage(count: count); s.fill(.nan); poisoned.append(s) } }
        poisoned.removeAll()   // back into this thread's pool, NaN inside
        let after = gradients()
        #expect(after.allSatisfy { $0.isFinite })
        #expect(after == clean)
    }

    @Test func splitHeadsTakesEachHeadsColumns() {
        let packed = randomTensor([2, 3, 12], random)   // B 2, T 3, 3 parts of C 4 = 2 heads of 2
        expectGradientsMatch([packed]) { concatenate(splitHeads(packed, parts: 3, heads: 2).map { reshape($0, [2, 2, 6]) }) }
        // part p, head h, position t, element j = packed[b, t, p*C + h*hs + j]
        for (p, part) in splitHeads(packed, parts: 3, heads: 2).enumerated() {
            #expect(part.shape == [2, 2, 3, 2])
            for b in 0..<2 { for h in 0..<2 { for t in 0..<3 { for j in 0..<2 {
                #expect(part[b, h, t, j] == packed[b, t, p * 4 + h * 2 + j])
            } } } }
        }
    }

    @Test func layerNorm() {
        let x = randomTensor([3, 19], random), gain = randomTensor([19], random), bias = randomTensor([19], random)
        expectGradientsMatch([x, gain, bias]) { TensorCore.layerNorm(x, gain: gain, bias: bias) }
    }

    @Test func embeddingWithRepeatedIds() {
        let table = randomTensor([5, 3], random)
        expectGradientsMatch([table]) { embedding(table, ids: [1, 4, 1, 0, 2, 1], shape: [2, 3]) }
    }

    @Test func reshapeAndSwapAxes() {
        let x = randomTensor([2, 3, 4], random)
        expectGradientsMatch([x]) { reshape(x, [6, 4]) }
        expectGradientsMatch([x]) { swapAxes(reshape(x, [2, 3, 2, 2]), 1, 2) }
        expectGradientsMatch([x]) { swapAxes(x, 0, 2) }
    }

    @Test func concatenateSideBySide() {
        let a = randomTensor([2, 3, 2], random), b = randomTensor([2, 3, 5], random)
        expectGradientsMatch([a, b]) { concatenate([a, b, a]) }
    }

    @Test func crossEntropySumAndMean() {
        let logits = randomTensor([2, 3, 13], random)
        expectGradientsMatch([logits]) { crossEntropy(logits, targets: [0, 12, 2, 9, 1, 3]) }
        let x = randomTensor([3, 4], random)
        expectGradientsMatch([x]) { sum(x) }
        expectGradientsMatch([x]) { mean(x) }
    }

    /// All the ops of one attention head chained, the way chapter 02 uses them.
    @Test func aSmallAttentionHeadEndToEnd() {
        let x = randomTensor([2, 4, 6], random), query = randomTensor([3, 6], random), key = randomTensor([3, 6], random)
        let value = randomTensor([3, 6], random)
        expectGradientsMatch([x, query, key, value]) {
            let q = linear(x, weight: query, bias: nil), k = linear(x, weight: key, bias: nil)
            let weights = softmax(scale(matmul(q, k, transposeB: true), by: 1 / Float(3).squareRoot()), causal: true)
            return matmul(weights, linear(x, weight: value, bias: nil))
        }
    }

    @Test func aGradientCheckCatchesAWrongGradient() {
        // Guard against a checker that always passes: a function whose recorded backward is wrong
        // (scale by 2 forward, but the values are changed behind autograd's back) must fail.
        let x = randomTensor([3], random)
        let result = gradientCheck([x]) {
            let y = scale(x, by: 1)
            y.storage[0] *= 3   // forward now computes 3x for element 0; backward still says 1
            return y
        }
        #expect(!result.passed)
    }
}

@Suite("Autograd invariants")
struct AutogradInvariantTests {
    /// In debug builds (the tests) a fresh buffer is all NaN, so an op that reads what it should have
    /// written poisons its result and fails.
    @Test func freshBuffersAreNaNInDebugBuilds() {
        #if DEBUG
        let fresh = Storage(count: 7)
        #expect(fresh.toHost().allSatisfy { $0.isNaN })
        #expect(Storage.zeros(count: 7).toHost().allSatisfy { $0 == 0 })
        #endif
    }

    @Test func clearGradZeroesAnArenaGradientInPlace() {
        let weight = Tensor(shape: [2, 2], values: [1, 2, 3, 4], requiresGrad: true)
        let parameters = Parameters([("w", weight)])
        let loss = sum(matmul(weight, weight))
        loss.backward()
        #expect(parameters.grads.toHost().contains { $0 != 0 })
        weight.clearGrad()
        #expect(weight.grad != nil && weight.grad!.isView(into: parameters.grads))   // still the optimizer's gradient
        #expect(parameters.grads.toHost().allSatisfy { $0 == 0 })
        // Not in an arena: the gradient is simply forgotten.
        let loose = Tensor(shape: [1, 2], values: [1, 2], requiresGrad: true)
        sum(matmul(loose, loose, transposeB: true)).backward()
        loose.clearGrad()
        #expect(loose.grad == nil)
    }

    @Test func retainingTheGraphAllowsASecondBackward() {
        let x = Tensor(shape: [1, 3], values: [1, 2, 3], requiresGrad: true)
        let loss = sum(matmul(x, x, transposeB: true))   // x · x, whose gradient is 2x
        loss.backward(retainingGraph: true)
        loss.backward()   // gradients add up, as in PyTorch: 2 * 2x
        #expect(x.gradValues == [4, 8, 12])
    }

    /// A second backward() through a released graph would silently lose the gradients below it; it stops.
    @Test func aSecondBackwardThroughAReleasedGraphStops() async throws {
        let twice = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor(shape: [1, 3], values: [1, 2, 3], requiresGrad: true)
            let loss = sum(matmul(x, x, transposeB: true))
            loss.backward()
            loss.backward()
        }
        let twiceMessage = String(decoding: twice?.standardErrorContent ?? [], as: UTF8.self)
        #expect(twiceMessage.contains("already backpropagated"))
        // Another loss built on an intermediate result of the first.
        let shared = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor(shape: [1, 3], values: [1, 2, 3], requiresGrad: true)
            let hidden = relu(x)
            sum(matmul(hidden, hidden, transposeB: true)).backward()
            sum(scale(hidden, by: 2)).backward()
        }
        let sharedMessage = String(decoding: shared?.standardErrorContent ?? [], as: UTF8.self)
        #expect(sharedMessage.contains("another loss that used it"))
    }
}
