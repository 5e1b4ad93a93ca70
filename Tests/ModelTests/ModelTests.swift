// The concepts of chapters 02-05 checked against each other and against their definitions.
import Attention
@testable import NanoGPT
import Foundation
import Layers
import TensorCore
import Testing
import Training
import Transformer

func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    // A NaN anywhere is an infinite difference (max() would skip it, and a broken kernel would pass).
    let differences = zip(a, b).map { abs($0 - $1) }
    return differences.contains { $0.isNaN } ? .infinity : differences.max() ?? 0
}

@Suite("Attention, Block and NanoGPT")
struct ModelTests {
    let random = SeededRandom(seed: 11)

    @Test func theThreeWaysOfAveragingThePastAgree() {
        let x = Tensor.normal([3, 7, 5], std: 1, random: random)
        let loop = AveragingThePast.byLoop(x).values
        #expect(largestDifference(loop, AveragingThePast.byMatmul(x).values) < 1e-6)
        #expect(largestDifference(loop, AveragingThePast.bySoftmax(x).values) < 1e-6)
        // And the loop really is a running mean: position 2 of sequence 0, channel 4.
        let expected = (x[0, 0, 4] + x[0, 1, 4] + x[0, 2, 4]) / 3
        #expect(abs(AveragingThePast.byLoop(x)[0, 2, 4] - expected) < 1e-6)
    }

    @Test func attentionRowsSumToOneAndIgnoreTheFuture() {
        let head = Head(embeddingSize: 8, headSize: 4, random: random)
        _ = head(Tensor.normal([2, 6, 8], std: 1, random: random), training: false)
        let weights = head.lastAttention!
        #expect(weights.shape == [2, 6, 6])
        for b in 0..<2 {
            for t in 0..<6 {
                let row = (0..<6).map { weights[b, t, $0] }
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                #expect(row[(t + 1)...].allSatisfy { $0 == 0 })
                #expect(row[...t].allSatisfy { $0 > 0 })
            }
        }
    }

    @Test func theAttentionScaleIsOneOverTheSquareRootOfTheHeadSize() {
        // C = 16 and head size 2: scaling by 1/sqrt(C) instead would give visibly different weights.
        let (width, headSize, time) = (16, 2, 5)
        let head = Head(embeddingSize: width, headSize: headSize, random: random)
        let x = Tensor.normal([1, time, width], std: 3, random: random)
        _ = head(x, training: false)
        let q = linear(x, weight: head.query.weight, bias: nil), k = linear(x, weight: head.key.weight, bias: nil)
        func expectedWeights(scale: Float) -> [Float] {
            var rows: [Float] = []
            for t in 0..<time {
                let scores = (0...t).map { s in (0..<headSize).reduce(Float(0)) { $0 + q[0, t, $1] * k[0, s, $1] } * scale }
                rows += NaiveKernels.softmax(scores) + [Float](repeating: 0, count: time - t - 1)
            }
            return rows
        }
        let actual = head.lastAttention!.values
        #expect(largestDifference(actual, expectedWeights(scale: 1 / Float(headSize).squareRoot())) < 1e-5)
        #expect(largestDifference(actual, expectedWeights(scale: 1 / Float(width).squareRoot())) > 1e-3)
        // Built with `scaled: false` (chapter 02's experiment), the same weights give softmax(q k^T) unscaled.
        let unscaled = Head(embeddingSize: width, headSize: headSize, scaled: false, random: random)
        for (to, from) in [(unscaled.key, head.key), (unscaled.query, head.query), (unscaled.value, head.value)] {
            to.weight.storage.copy(fromHost: from.weight.values)
        }
        _ = unscaled(x, training: false)
        #expect(unscaled.scoreScale == 1)
        #expect(largestDifference(unscaled.lastAttention!.values, expectedWeights(scale: 1)) < 1e-5)
        #expect(largestDifference(unscaled.lastAttention!.values, actual) > 1e-3)
    }

    /// gpt.py's MultiHead: n Heads side by side, concatenated, then the projection (chapter 03 writes it
    /// out). Drawn from the generator in the packed MultiHead's order: head by head, key, query, value.
    struct PerHeadMultiHead {
        let heads: [Head], projection: Linear
        init(headCount: Int, embeddingSize: Int, random: SeededRandom) {
            heads = (0..<headCount).map { _ in Head(embeddingSize: embeddingSize, headSize: embeddingSize / headCount, random: random) }
            projection = Linear(embeddingSize, embeddingSize, random: random)
        }
        func callAsFunction(_ x: Tensor) -> Tensor { projection(concatenate(heads.map { $0(x, training: false) })) }
        /// The per-head weights in PyTorch's order: every key, then every query, then every value.
        var headWeights: [Tensor] { heads.map(\.key.weight) + heads.map(\.query.weight) + heads.map(\.value.weight) }
    }

    /// The packed layout computes the per-head function: per-head weights copied into the packed rows
    /// (keys, then queries, then values) give the same outputs, attention weights and gradients (the packed
    /// gradient's rows are the per-head gradients), forward and backward. Chapter 03 shows the same copy.
    @Test(arguments: [1, 4])
    func multiHeadLayoutsComputeTheSameFunction(headCount: Int) {
        let slow = PerHeadMultiHead(headCount: headCount, embeddingSize: 16, random: random)
        let fast = MultiHead(headCount: headCount, embeddingSize: 16, random: SeededRandom(seed: 99))
        fast.keyQueryValue.weight.storage.copy(fromHost: slow.headWeights.flatMap(\.values))
        fast.projection.weight.storage.copy(fromHost: slow.projection.weight.values)
        fast.projection.bias!.storage.copy(fromHost: slow.projection.bias!.values)
        let x = Tensor.normal([3, 5, 16], std: 1, random: random, requiresGrad: true)
        let targets = (0..<15).map { $0 % 16 }

        let slowOutput = slow(x)
        crossEntropy(slowOutput, targets: targets).backward()
        let slowGrads = (slow.headWeights + [slow.projection.weight, slow.projection.bias!]).map { $0.gradValues! }
        let slowInputGrad = x.gradValues!
        let slowAttention = slow.heads.map { $0.lastAttention!.values }

        x.clearGrad()
        let fastOutput = fast(x, training: false)
        crossEntropy(fastOutput, targets: targets).backward()
        #expect(largestDifference(slowOutput.values, fastOutput.values) < 1e-5)
        #expect(largestDifference(slowInputGrad, x.gradValues!) < 1e-5)
        let fastGrads = MultiHead.perHeadViews(of: fast.keyQueryValue.weight, headCount: headCount).map { $0.1.gradValues! }
            + [fast.projection.weight.gradValues!, fast.projection.bias!.gradValues!]
        #expect(zip(slowGrads, fastGrads).allSatisfy { largestDifference($0, $1) < 1e-5 })
        #expect(zip(slowAttention, fast.lastAttention.map(\.values)).allSatisfy { largestDifference($0, $1) < 1e-6 })
        #expect(fast.namedParameters.map(\.0) == ["key_query_value.weight", "proj.weight", "proj.bias"])
    }

    /// For the same generator, the packed MultiHead starts from the weights n Heads would draw, and its
    /// per-head views carry PyTorch's names in PyTorch's order.
    @Test func thePackedMultiHeadDrawsThePerHeadWeights() {
        let perHead = PerHeadMultiHead(headCount: 3, embeddingSize: 6, random: SeededRandom(seed: 4))
        let packed = MultiHead(headCount: 3, embeddingSize: 6, random: SeededRandom(seed: 4))
        let views = MultiHead.perHeadViews(of: packed.keyQueryValue.weight, headCount: 3)
        #expect(views.map(\.0) == [
            "heads.0.key.weight", "heads.1.key.weight", "heads.2.key.weight",
            "heads.0.query.weight", "heads.1.query.weight", "heads.2.query.weight",
            "heads.0.value.weight", "heads.1.value.weight", "heads.2.value.weight"])
        #expect(zip(views, perHead.headWeights).allSatisfy { $0.1.values == $1.values })
        #expect(packed.projection.weight.values == perHead.projection.weight.values)
    }

    /// The packed (3C, C) key/query/value weight's gradient is checked by finite differences through the
    /// whole model (two layers, the batched path).
    @Test func theFusedKeyQueryValueWeightPassesAGradientCheckInsideAWholeModel() throws {
        let model = NanoGPT(GPTConfig(vocabularySize: 7, blockSize: 6, embeddingSize: 8, heads: 2, layers: 2), seed: 5)
        // Weights larger than GPT's 0.02, so attention is far from uniform and the gradient carries signal.
        let weights = SeededRandom(seed: 6)
        for (_, parameter) in model.namedParameters where parameter.shape.count >= 2 {
            for i in 0..<parameter.count { parameter.storage[i] = 0.4 * weights.normal() }
        }
        let fused = model.blocks[0].attention.keyQueryValue.weight
        #expect(fused.shape == [24, 8])
        let ids = (0..<12).map { $0 % 7 }, targets = (0..<12).map { ($0 * 3 + 1) % 7 }
        // epsilon 1e-3: with weights this large the loss curves enough that 1e-2 misjudges the slope.
        let result = gradientCheck([fused], epsilon: 1e-3, absoluteTolerance: 1e-3, relativeTolerance: 2e-2) {
            crossEntropy(model.logits(ids, batchSize: 2, length: 6, training: false), targets: targets)
        }
        #expect(result.passed, "\(result)")
        // A gradient of zeros would pass a loose check: this one is far above the tolerance.
        let largest = try #require(fused.gradValues).map(abs).max() ?? 0
        #expect(largest > 0.02, "largest |gradient| \(largest)")
    }

    @Test func aBlockIsPreNormResidual() {
        let block = Block(embeddingSize: 8, headCount: 2, random: random)
        // Give LayerNorm non-trivial gains so a wrong order would show.
        for i in 0..<8 { block.norm1.weight.storage[i] = 0.5 + Float(i) / 8; block.norm2.bias.storage[i] = 0.1 * Float(i) }
        let x = Tensor.normal([2, 3, 8], std: 1, random: random)
        let first = x + block.attention(block.norm1(x), training: false)
        let expected = first + block.feedForward(block.norm2(first), training: false)
        #expect(largestDifference(block(x, training: false).values, expected.values) < 1e-6)
    }

    @Test func gradientsThroughAWholeTinyNanoGPTMatchFiniteDifferences() {
        let model = NanoGPT(GPTConfig(vocabularySize: 7, blockSize: 4, embeddingSize: 8, heads: 2, layers: 2), seed: 3)
        // Larger weights than the 0.02 init, so every path carries a gradient worth checking.
        for (_, tensor) in model.namedParameters where tensor.shape.count == 2 {
            for i in 0..<tensor.count { tensor.storage[i] *= 15 }
        }
        let ids = [1, 4, 2, 6, 0, 3, 3, 5], targets = [4, 2, 6, 0, 3, 3, 5, 1]
        let checked = model.stateDictionary.filter { ["blocks.1.sa.heads.0.query.weight", "blocks.0.ffwd.net.0.bias",
                                                      "blocks.0.ln1.weight", "position_embedding_table.weight",
                                                      "lm_head.weight"].contains($0.0) }.map(\.1)
        #expect(checked.count == 5)
        // A small epsilon: a ReLU kink inside the finite-difference step would otherwise spoil a few elements.
        let result = gradientCheck(checked, epsilon: 1e-3, absoluteTolerance: 2e-3, relativeTolerance: 2e-2) {
            crossEntropy(model.logits(ids, batchSize: 2, length: 4, training: false), targets: targets)
        }
        #expect(result.passed, "\(result)")
    }

    @Test func nanoGPTHasThePyTorchStateDictNames() {
        let model = NanoGPT(GPTConfig(vocabularySize: 5, blockSize: 4, embeddingSize: 8, heads: 2, layers: 1), seed: 1)
        let shapes = Dictionary(uniqueKeysWithValues: model.stateDictionary.map { ($0.0, $0.1.shape) })
        #expect(shapes["token_embedding_table.weight"] == [5, 8])
        #expect(shapes["position_embedding_table.weight"] == [4, 8])
        #expect(shapes["blocks.0.sa.heads.1.key.weight"] == [4, 8])
        #expect(shapes["blocks.0.sa.proj.weight"] == [8, 8] && shapes["blocks.0.sa.proj.bias"] == [8])
        #expect(shapes["blocks.0.ffwd.net.0.weight"] == [32, 8] && shapes["blocks.0.ffwd.net.2.weight"] == [8, 32])
        #expect(shapes["blocks.0.ln1.weight"] == [8] && shapes["blocks.0.ln2.bias"] == [8])
        #expect(shapes["ln_f.weight"] == [8] && shapes["lm_head.weight"] == [5, 8] && shapes["lm_head.bias"] == [5])
        #expect(shapes.count == 2 + 2 * 3 + 2 + 4 + 4 + 2 + 2)
        #expect(Double(model.parameterCount) == model.config.parameterCount)
        #expect(model.stateDictionary.map(\.0) == model.config.parameterShapes.map(\.0))
        #expect(model.stateDictionary.map(\.1.shape) == model.config.parameterShapes.map(\.1))
        // What trains: the same numbers, with each layer's key/query/value weights as one packed matrix.
        #expect(model.namedParameters.map(\.0).contains("blocks.0.sa.key_query_value.weight"))
        #expect(model.stateDictionary.reduce(0) { $0 + $1.1.count } == model.parameterCount)
    }

    @Test func theSameSeedBuildsTheSameModel() {
        let config = GPTConfig(vocabularySize: 9, blockSize: 8, embeddingSize: 16, heads: 4, layers: 2, dropout: 0.1)
        let a = NanoGPT(config, seed: 5), b = NanoGPT(config, seed: 5)
        for ((_, x), (_, y)) in zip(a.namedParameters, b.namedParameters) { #expect(x.values == y.values) }
        var other = config
        other.dropout = 0.3   // dropout draws its masks elsewhere: the weights must not change
        for ((_, x), (_, y)) in zip(a.namedParameters, NanoGPT(other, seed: 5).namedParameters) { #expect(x.values == y.values) }
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func theKeyValueCacheGivesTheTokensOfFullRecomputationWithinTheBlock(seed: UInt64) {
        let model = NanoGPT(GPTConfig(vocabularySize: 13, blockSize: 24, embeddingSize: 16, heads: 4, layers: 2), seed: seed)
        // Weights larger than at initialization, so the logits are far from uniform and errors would show.
        for (_, tensor) in model.namedParameters where tensor.shape.count == 2 {
            for i in 0..<tensor.count { tensor.storage[i] *= 20 }
        }
        let recomputed = Array(model.generateStream(prompt: [5, 2, 7], maxNewTokens: 21, random: SeededRandom(seed: seed),
                                                    mode: .recompute))
        let cached = Array(model.generateStream(prompt: [5, 2, 7], maxNewTokens: 21, random: SeededRandom(seed: seed),
                                                mode: .keyValueCache))
        #expect(cached == recomputed)
        #expect(Set(cached).count > 2)
    }

    @Test func theCachedLogitsMatchTheFullForwardPass() {
        let model = NanoGPT(GPTConfig(vocabularySize: 9, blockSize: 8, embeddingSize: 12, heads: 3, layers: 2), seed: 8)
        let tokens = [1, 4, 4, 0, 8, 2, 3, 7]
        let full = model.logits(tokens, batchSize: 1, length: 8, training: false).values   // (1, 8, 9)
        let cache = KeyValueCache(model.config)
        withoutGradients {
            for (position, token) in tokens.enumerated() {
                let next = model.logits([token], batchSize: 1, length: 1, cache: cache).values
                #expect(largestDifference(next, Array(full[(position * 9)..<((position + 1) * 9)])) < 1e-5)
            }
        }
        #expect(cache.isFull)
    }

    /// A prompt or a window refill goes through the model as one batched pass (the causal mask shifted by
    /// what is already cached). It must leave the cache and the logits exactly as feeding the same tokens
    /// one at a time would, also when the batch starts after cached positions.
    @Test(arguments: [0, 3])
    func aBatchedFillMatchesFillingTokenByToken(alreadyCached: Int) {
        let model = NanoGPT(GPTConfig(vocabularySize: 11, blockSize: 80, embeddingSize: 16, heads: 4, layers: 2), seed: 5)
        for (_, tensor) in model.namedParameters where tensor.shape.count == 2 {
            for i in 0..<tensor.count { tensor.storage[i] *= 10 }
        }
        let random = SeededRandom(seed: 3)
        let tokens = (0..<77).map { _ in random.integer(below: 11) }   // 77 - 3 > 64: several causal row blocks
        let batched = KeyValueCache(model.config), oneByOne = KeyValueCache(model.config)
        withoutGradients {
            let head = Array(tokens.prefix(alreadyCached)), rest = Array(tokens.dropFirst(alreadyCached))
            if !head.isEmpty { _ = model.logits(head, batchSize: 1, length: head.count, cache: batched) }
            let together = model.logits(rest, batchSize: 1, length: rest.count, cache: batched).values
            var separate: [Float] = []
            for token in tokens {
                let logits = model.logits([token], batchSize: 1, length: 1, cache: oneByOne).values
                separate += logits
            }
            #expect(largestDifference(together, Array(separate.suffix(together.count))) < 1e-4)
            #expect(batched.count == 77 && oneByOne.count == 77)
            func used(_ rows: Storage) -> [Float] {   // the 77 filled positions of every head (the rest is undefined)
                let (capacity, size) = (batched.capacity, batched.headSize)
                return (0..<batched.rows).flatMap { h in rows.toHost((h * capacity * size)..<((h * capacity + 77) * size)) }
            }
            for layer in 0..<2 {
                #expect(largestDifference(used(batched.keys[layer]), used(oneByOne.keys[layer])) < 1e-4)
                #expect(largestDifference(used(batched.values[layer]), used(oneByOne.values[layer])) < 1e-4)
            }
        }
        // And the batched fill is what recomputation gives for the whole text.
        let full = model.logits(tokens, batchSize: 1, length: 77, training: false).values
        withoutGradients {
            let again = KeyValueCache(model.config)
            let filled = model.logits(tokens, batchSize: 1, length: 77, cache: again).values
            #expect(largestDifference(filled, full) < 1e-4)
        }
    }

    /// Past the block size the cache follows its documented rule: when full, it restarts from the last
    /// blockSize/2 tokens. A plain full forward pass over exactly the tokens the cache should hold must pick
    /// the same (greedy) tokens.
    @Test(arguments: [2 as UInt64, 4])   // seeds whose greedy text is not one repeated token
    func theCacheSlidesPastTheBlockSizeByItsDocumentedRule(seed: UInt64) {
        let model = NanoGPT(GPTConfig(vocabularySize: 7, blockSize: 4, embeddingSize: 8, heads: 2, layers: 1), seed: seed)
        for (_, tensor) in model.namedParameters where tensor.shape.count == 2 {
            for i in 0..<tensor.count { tensor.storage[i] *= 10 }
        }
        let greedy = SamplingOptions(topK: 1)
        let streamed = Array(model.generateStream(prompt: [1, 5], maxNewTokens: 30, options: greedy, random: SeededRandom(seed: 1)))

        var context = [1, 5], window: [Int] = [], expected: [Int] = []
        for _ in 0..<30 {
            if window.isEmpty { window = Array(context.suffix(4)) }              // first fill
            else if window.count == 4 { window = Array(context.suffix(2)) }      // full: keep the last block/2
            else { window.append(context.last!) }                                // otherwise: one more position
            let logits = model.logits(window, batchSize: 1, length: window.count, training: false).values.suffix(7)
            let next = Array(logits).indices.max { logits[logits.startIndex + $0] < logits[logits.startIndex + $1] }!
            expected.append(next)
            context.append(next)
        }
        #expect(streamed == expected)
        #expect(Set(streamed).count > 1)
    }

    @Test func topKNeverSamplesOutsideTheTopK() {
        let logits: [Float] = [0.1, 3, 2.5, -1, 2.9, 0]
        let random = SeededRandom(seed: 4)
        let draws = (0..<500).map { _ in
            sampleToken(logits: logits, options: SamplingOptions(topK: 2), random: random)
        }
        #expect(Set(draws) == [1, 4])
        let cold = (0..<200).map { _ in
            sampleToken(logits: logits, options: SamplingOptions(temperature: 0.01), random: random)
        }
        #expect(Set(cold) == [1])
    }

    @Test func dropoutIsActiveOnlyWhileTraining() {
        let model = NanoGPT(GPTConfig(vocabularySize: 5, blockSize: 4, embeddingSize: 8, heads: 2, layers: 1,
                                      dropout: 0.5), seed: 2)
        let ids = [1, 2, 3, 4]
        let evaluation1 = model.logits(ids, batchSize: 1, length: 4, training: false).values
        let evaluation2 = model.logits(ids, batchSize: 1, length: 4, training: false).values
        let training = model.logits(ids, batchSize: 1, length: 4, training: true).values
        #expect(evaluation1 == evaluation2)
        #expect(largestDifference(evaluation1, training) > 1e-6)
    }
}
