// Fast kernels against the naive reference kernels, and behaviour at extreme values.
import Foundation
import Testing
@testable import TensorCore

@Suite("BLAS and kernels against the naive references")
struct KernelTests {
    let random = SeededRandom(seed: 3)

    /// Every transpose combination, for a full matrix (sgemm) and for a single row (sgemv).
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)], [7, 1])
    func blasMatchesTheLoop(transposes: (Bool, Bool), m: Int) {
        let (transposeA, transposeB) = transposes
        let (n, k) = (5, 9)
        let a = randomTensor(transposeA ? [k, m] : [m, k], random, requiresGrad: false)
        let b = randomTensor(transposeB ? [n, k] : [k, n], random, requiresGrad: false)
        let fast = matmul(a, b, transposeA: transposeA, transposeB: transposeB)
        let slow = NaiveKernels.matmul(a.values, b.values, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        #expect(fast.shape == [m, n])
        #expect(maxAbsoluteDifference(fast.values, slow) < 1e-5)
    }

    /// The cache's attention: queries at positions offset ..< offset + m against keys 0 ..< offset + m that
    /// sit `capacity` rows apart per head, with the causal mask shifted by the offset, against the plain
    /// definition (masked products, softmax of each row, weighted sum of the values) and the plain loops over
    /// the cache's layout that chapter 05 shows. m = 70 > 64, so the backend's causal row blocks are exercised too.
    @Test(arguments: [(1, 0), (1, 40), (70, 3), (5, 80)])
    func cachedAttentionMatchesTheDefinition(queries m: Int, offset: Int) {
        let (heads, d, capacity) = (2, 3, 160), n = offset + m, scale: Float = 0.7
        let q = randomTensor([heads, m, d], random, requiresGrad: false)
        let k = randomTensor([heads, n, d], random, requiresGrad: false), v = randomTensor([heads, n, d], random, requiresGrad: false)
        func stored(_ x: Tensor) -> Storage {   // (heads, capacity, d): each head's n positions, then unused rows
            let values = x.values, unused = [Float](repeating: .nan, count: (capacity - n) * d)
            var rows: [Float] = []
            for h in 0..<heads { rows += values[(h * n * d)..<((h + 1) * n * d)]; rows += unused }
            return Storage(host: rows)
        }
        let fast = withoutGradients {
            cachedAttention(queries: q, keys: stored(k), values: stored(v), rows: heads, capacity: capacity, total: n, scale: scale)
        }.values
        let slow = NaiveKernels.cachedAttention(queries: q.values, keys: stored(k).toHost(), values: stored(v).toHost(),
                                                heads: heads, newPositions: m, total: n, capacity: capacity, headSize: d,
                                                scale: scale)
        var textbook: [Float] = []   // and the definition, written out once more without the cache's layout
        for h in 0..<heads {
            for i in 0..<m {
                let visible = offset + i + 1
                let scores = (0..<visible).map { j in scale * (0..<d).reduce(Float(0)) { $0 + q[h, i, $1] * k[h, j, $1] } }
                let weights = NaiveKernels.softmax(scores)
                textbook += (0..<d).map { c in (0..<visible).reduce(Float(0)) { $0 + weights[$1] * v[h, $1, c] } }
            }
        }
        #expect(maxAbsoluteDifference(slow, textbook) < 1e-5)
        #expect(maxAbsoluteDifference(fast, slow) < 1e-5)
    }

    /// Config S's attention: 48 products of 64 x 64 x 32 per layer, each too small for OpenBLAS to thread,
    /// so the CPU backend gives each BLAS thread a share of the batch. Every batched product kernel must
    /// then give each item bit for bit what the item gives alone (a batch of 1 is never split).
    @Test func splitBatchesGiveEachItemWhatItGivesAlone() {
        let (batch, m, n, d) = (48, 64, 64, 32), backend = CPUBackend.shared
        #expect(BLAS.shareCount(batch: batch, size: m * n * d, threads: 2) == 2)
        #expect(BLAS.shareCount(batch: batch, size: m * n * d, threads: 1) == 1)
        #expect(BLAS.shareCount(batch: 2, size: 8 * 8 * 32, threads: 2) == 1)                 // too little work
        #expect(BLAS.shareCount(batch: batch, size: 256 * 256 * 64, threads: 2) == 1)         // OpenBLAS threads these
        func randomStorage(_ count: Int) -> Storage { Storage(host: (0..<count).map { _ in random.normal() }) }
        func item(_ s: Storage, _ i: Int, _ size: Int) -> Storage { Storage(viewing: s, offset: i * size, count: size) }
        func expectItemsMatch(_ whole: Storage, _ size: Int, _ alone: (Int) -> Storage, _ what: String) {
            let mismatches = (0..<batch).filter { whole.toHost((($0 * size)..<(($0 + 1) * size))) != alone($0).toHost() }
            #expect(mismatches.isEmpty, "\(what): items \(mismatches) differ")
        }
        let q = randomStorage(batch * m * d), k = randomStorage(batch * n * d), v = randomStorage(batch * n * d),
            g = randomStorage(batch * m * d)
        let mask = CausalMask(queries: m), scale: Float = 0.2

        let p = Storage(count: batch * m * n)
        backend.attentionWeights(queries: q, keys: k, keysBatchStride: n * d, out: p, batch: batch, m: m, n: n, d: d,
                                 causal: mask, scale: scale)
        expectItemsMatch(p, m * n, { i in
            let out = Storage(count: m * n)
            backend.attentionWeights(queries: item(q, i, m * d), keys: item(k, i, n * d), keysBatchStride: n * d, out: out,
                                     batch: 1, m: m, n: n, d: d, causal: mask, scale: scale)
            return out
        }, "attentionWeights")

        let mixed = Storage(count: batch * m * d)
        backend.weightedSum(weights: p, values: v, valuesBatchStride: n * d, out: mixed, batch: batch, m: m, n: n, d: d, causal: mask)
        expectItemsMatch(mixed, m * d, { i in
            let out = Storage(count: m * d)
            backend.weightedSum(weights: item(p, i, m * n), values: item(v, i, n * d), valuesBatchStride: n * d, out: out,
                                batch: 1, m: m, n: n, d: d, causal: mask)
            return out
        }, "weightedSum")

        let dP = Storage(count: batch * m * n), dV = Storage(count: batch * n * d)
        backend.weightedSumBackward(g, weights: p, values: v, weightsGrad: dP, valuesGrad: dV, batch: batch, m: m, n: n, d: d,
                                    causal: mask)
        let dQ = Storage(count: batch * m * d), dK = Storage(count: batch * n * d), scratch = Storage(count: batch * m * n)
        backend.attentionWeightsBackward(probabilities: p, dP, queries: q, keys: k, queriesGrad: dQ, keysGrad: dK,
                                         scratch: scratch, batch: batch, m: m, n: n, d: d, causal: mask, scale: scale)
        var alone: [Int: (dP: Storage, dV: Storage, dQ: Storage, dK: Storage)] = [:]
        for i in 0..<batch {
            let itemP = Storage(count: m * n), itemV = Storage(count: n * d), itemQ = Storage(count: m * d), itemK = Storage(count: n * d)
            backend.weightedSumBackward(item(g, i, m * d), weights: item(p, i, m * n), values: item(v, i, n * d),
                                        weightsGrad: itemP, valuesGrad: itemV, batch: 1, m: m, n: n, d: d, causal: mask)
            backend.attentionWeightsBackward(probabilities: item(p, i, m * n), item(dP, i, m * n), queries: item(q, i, m * d),
                                             keys: item(k, i, n * d), queriesGrad: itemQ, keysGrad: itemK,
                                             scratch: Storage(count: m * n), batch: 1, m: m, n: n, d: d, causal: mask, scale: scale)
            alone[i] = (itemP, itemV, itemQ, itemK)
        }
        expectItemsMatch(dV, n * d, { alone[$0]!.dV }, "weightedSumBackward dV")
        expectItemsMatch(dQ, m * d, { alone[$0]!.dQ }, "attentionWeightsBackward dQ")
        expectItemsMatch(dK, n * d, { alone[$0]!.dK }, "attentionWeightsBackward dK")
        // dP is defined where the mask keeps weights (the rest is never read): compare those entries.
        let kept = (0..<m).flatMap { r in (0...r).map { r * n + $0 } }
        let dPMismatches = (0..<batch).filter { i in
            let whole = dP.toHost((i * m * n)..<((i + 1) * m * n)), one = alone[i]!.dP.toHost()
            return kept.contains { whole[$0] != one[$0] }
        }
        #expect(dPMismatches.isEmpty, "weightedSumBackward dP: items \(dPMismatches) differ")

        let c = Storage(count: batch * m * n)
        backend.gemm(transposeA: false, transposeB: true, m: m, n: n, k: d, alpha: 1, a: MatrixOperand(q, batchStride: m * d),
                     b: MatrixOperand(k, batchStride: n * d), beta: 0, c: MatrixOperand(c, batchStride: m * n), batch: batch)
        expectItemsMatch(c, m * n, { i in
            let out = Storage(count: m * n)
            backend.gemm(transposeB: true, m: m, n: n, k: d, a: MatrixOperand(item(q, i, m * d)), b: MatrixOperand(item(k, i, n * d)),
                         beta: 0, c: MatrixOperand(out))
            return out
        }, "gemm")
    }

    @Test(arguments: [[3], [2, 3]])
    func batchedMatmulMatchesTheLoopPerBatchElement(batch: [Int]) {
        let (m, n, k) = (4, 6, 5), count = batch.reduce(1, *)
        let a = randomTensor(batch + [m, k], random, requiresGrad: false)
        let b = randomTensor(batch + [n, k], random, requiresGrad: false)
        let fast = matmul(a, b, transposeB: true).values
        #expect(fast.count == count * m * n)
        for i in 0..<count {
            let slow = NaiveKernels.matmul(Array(a.values[(i * m * k)..<((i + 1) * m * k)]),
                                           Array(b.values[(i * n * k)..<((i + 1) * n * k)]),
                                           m: m, n: n, k: k, transposeB: true)
            #expect(maxAbsoluteDifference(Array(fast[(i * m * n)..<((i + 1) * m * n)]), slow) < 1e-5)
        }
    }

    /// The op's backward (transpose flags handed to gemm) against the plain dA = dC B^T, dB = A^T dC.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func matmulBackwardMatchesTheReadableVersion(transposes: (Bool, Bool)) {
        let (m, n, k) = (4, 6, 5), (transposeA, transposeB) = transposes
        let a = randomTensor(transposeA ? [k, m] : [m, k], random, requiresGrad: true)
        let b = randomTensor(transposeB ? [n, k] : [k, n], random, requiresGrad: true)
        let outputGradient = (0..<(m * n)).map { _ in random.normal() }
        matmul(a, b, transposeA: transposeA, transposeB: transposeB).backward(seed: outputGradient)
        // The plain version takes A (M, K) and B (K, N) as stored untransposed.
        func untransposed(_ x: [Float], rows: Int, columns: Int) -> [Float] {   // x stored (columns, rows)
            (0..<(rows * columns)).map { x[($0 % columns) * rows + $0 / columns] }
        }
        let plainA = transposeA ? untransposed(a.values, rows: m, columns: k) : a.values
        let plainB = transposeB ? untransposed(b.values, rows: k, columns: n) : b.values
        let (da, db) = NaiveKernels.matmulBackward(plainA, plainB, outputGradient: outputGradient, m: m, n: n, k: k)
        let gradA = a.grad!.toHost(), gradB = b.grad!.toHost()
        #expect(maxAbsoluteDifference(transposeA ? untransposed(gradA, rows: m, columns: k) : gradA, da) < 1e-5)
        #expect(maxAbsoluteDifference(transposeB ? untransposed(gradB, rows: k, columns: n) : gradB, db) < 1e-5)
    }

    @Test func linearIsMatmulWithTheTransposedWeightPlusBias() {
        let x = randomTensor([6, 4], random, requiresGrad: false), weight = randomTensor([3, 4], random, requiresGrad: false)
        let bias = randomTensor([3], random, requiresGrad: false)
        let expected = NaiveKernels.matmul(x.values, weight.values, m: 6, n: 3, k: 4, transposeB: true)
            .enumerated().map { $0.element + bias.values[$0.offset % 3] }
        #expect(maxAbsoluteDifference(linear(x, weight: weight, bias: bias).values, expected) < 1e-5)
    }

    /// Widths below, at and above the 8 lanes of the fast kernels, so their SIMD body and their tail both run.
    @Test(arguments: [1, 7, 8, 9, 17, 65])
    func softmaxLayerNormAndCrossEntropyMatchTheReferences(width: Int) {
        let x = randomTensor([3, width], random, requiresGrad: false)
        let gain = randomTensor([width], random, requiresGrad: false), bias = randomTensor([width], random, requiresGrad: false)
        let rows = (0..<3).map { Array(x.values[($0 * width)..<($0 * width + width)]) }
        #expect(maxAbsoluteDifference(softmax(x).values, rows.flatMap(NaiveKernels.softmax)) < 1e-6)
        if width > 1 {   // a single value normalizes to 0 whatever it is, which says nothing
            #expect(maxAbsoluteDifference(layerNorm(x, gain: gain, bias: bias).values,
                                          rows.flatMap { NaiveKernels.layerNorm($0, gain: gain.values, bias: bias.values) }) < 1e-5)
        }
        let targets = [0, width - 1, width / 2]
        let expected = zip(rows, targets).map { NaiveKernels.crossEntropy($0, target: $1) }.reduce(0, +) / 3
        #expect(abs(crossEntropy(x, targets: targets).scalar - expected) < 1e-5)
    }

    @Test func theBlockedSumOfSquaresMatchesADoubleLoop() {
        for count in [0, 5, 8, 1023, 1024, 3001] {
            let values = (0..<count).map { _ in random.normal() }
            let exact = values.reduce(0.0) { $0 + Double($1) * Double($1) }
            let fast = CPUBackend.shared.sumOfSquares(Tensor(shape: [max(count, 1)], values: count == 0 ? [0] : values).storage)
            #expect(abs(fast - exact) <= 1e-6 * max(exact, 1), "\(count) values: \(fast) against \(exact)")
        }
    }

    @Test func theVectorExpMatchesExpf() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let fast = VectorMath.exp(SIMD8(repeating: x) + SIMD8(0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07))
            for lane in 0..<8 {
                let exact = expf(x + Float(lane) * 0.01)
                worst = max(worst, abs(fast[lane] - exact) / exact)
            }
            x += 0.173
        }
        #expect(worst < 5e-7, "largest relative error \(worst)")
        let edges = VectorMath.exp(SIMD8(-1e4, -88, -87.4, 0, -0, 1, 88, .nan))
        #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 0 && edges[3] == 1 && edges[4] == 1)
        #expect(abs(edges[5] - Float(M_E)) < 1e-6 && edges[6].isFinite && edges[7].isNaN)
    }

    /// The fast kernels of chapter 01's embedding and cross-entropy and chapter 02's causal softmax give
    /// what the readable references the pages show give (forward and backward).
    @Test(arguments: [1, 7, 9, 33])
    func embeddingCrossEntropyAndCausalSoftmaxMatchTheReadableVersions(width: Int) {
        let table = randomTensor([5, width], random), ids = [3, 0, 3, 4, 1, 3]
        let rows = embedding(table, ids: ids, shape: [2, 3])
        let tableRows = (0..<5).map { Array(table.values[($0 * width)..<(($0 + 1) * width)]) }
        #expect(rows.values == NaiveKernels.embedding(tableRows, ids: ids).flatMap { $0 })
        // Backward through a cross-entropy, so each looked-up row gets its own gradient (softmax - onehot) / 6.
        let rowTargets = ids.map { $0 % width }
        crossEntropy(rows, targets: rowTargets).backward()
        let upstreamRows = zip(NaiveKernels.embedding(tableRows, ids: ids), rowTargets).map { row, target in
            NaiveKernels.crossEntropyBackward(row, target: target).map { $0 / 6 }
        }
        #expect(maxAbsoluteDifference(table.gradValues!,
                                      NaiveKernels.embeddingBackward(upstreamRows, ids: ids, vocabularySize: 5).flatMap { $0 }) < 1e-6)

        let logits = randomTensor([3, width], random), targets = [0, width - 1, width / 2]
        crossEntropy(logits, targets: targets).backward()
        let logitRows = (0..<3).map { Array(logits.values[($0 * width)..<(($0 + 1) * width)]) }
        let expected = zip(logitRows, targets).flatMap { NaiveKernels.crossEntropyBackward($0, target: $1).map { $0 / 3 } }
        #expect(maxAbsoluteDifference(logits.gradValues!, expected) < 1e-6)

        let scores = randomTensor([width, width], random, requiresGrad: false)
        let scoreRows = (0..<width).map { Array(scores.values[($0 * width)..<(($0 + 1) * width)]) }
        #expect(maxAbsoluteDifference(softmax(scores, causal: true).values, NaiveKernels.causalSoftmax(scoreRows).flatMap { $0 }) < 1e-6)

        // The causal softmax's backward, through a cross-entropy on its rows (so dy is that of the loss).
        let x = randomTensor([width, width], random)
        let y = softmax(x, causal: true)
        let queryTargets = (0..<width).map { $0 }
        crossEntropy(y, targets: queryTargets).backward()
        let yRows = NaiveKernels.causalSoftmax((0..<width).map { Array(x.values[($0 * width)..<(($0 + 1) * width)]) })
        let dyRows = zip(yRows, queryTargets).map { row, target in
            NaiveKernels.crossEntropyBackward(row, target: target).map { $0 / Float(width) }
        }
        #expect(maxAbsoluteDifference(x.gradValues!, NaiveKernels.causalSoftmaxBackward(output: yRows, gradient: dyRows).flatMap { $0 }) < 1e-5)
    }

    @Test func causalSoftmaxRowsSumToOneAndAreZeroAboveTheDiagonal() {
        let t = 5
        let probabilities = softmax(randomTensor([2, t, t], random, requiresGrad: false), causal: true)
        for batch in 0..<2 {
            for i in 0..<t {
                var total: Float = 0
                for j in 0..<t {
                    if j > i { #expect(probabilities[batch, i, j] == 0) }
                    total += probabilities[batch, i, j]
                }
                #expect(abs(total - 1) < 1e-6)
            }
        }
    }

    @Test func extremeLogitsStayFinite() {
        let huge = Tensor(shape: [2, 4], values: [1e4, -1e4, 0, 1e4, -1e4, -1e4, -1e4, -1e4], requiresGrad: true)
        let probabilities = softmax(huge)
        #expect(probabilities.values.allSatisfy { $0.isFinite })
        #expect(abs(probabilities[0, 0] - 0.5) < 1e-6 && abs(probabilities[1, 2] - 0.25) < 1e-6)

        let loss = crossEntropy(huge, targets: [1, 0])
        // Row 0: logsumexp = 1e4 + ln 2, target logit -1e4; row 1: uniform over 4, so ln 4.
        #expect(loss.scalar.isFinite)
        #expect(abs(loss.scalar - (2e4 + Float(0.693147) + Float(1.386294)) / 2) < 2)
        loss.backward()
        #expect(huge.gradValues!.allSatisfy { $0.isFinite })

        let normalized = layerNorm(huge, gain: .filled([4], with: 1), bias: .zeros([4]))
        #expect(normalized.values.allSatisfy { $0.isFinite })
        #expect(normalized.values[4...].allSatisfy { $0 == 0 })   // a constant row normalizes to zeros
    }

    @Test func swapAxesMovesEachElementWhereItBelongs() {
        let x = Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        let y = swapAxes(x, 0, 2)
        #expect(y.shape == [4, 3, 2])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { #expect(y[k, j, i] == x[i, j, k]) } } }
    }

    @Test func concatenatePutsThePiecesSideBySide() {
        let a = randomTensor([2, 3], random, requiresGrad: false), b = randomTensor([2, 2], random, requiresGrad: false)
        let joined = concatenate([a, b])
        #expect(joined.shape == [2, 5])
        for row in 0..<2 {
            for j in 0..<3 { #expect(joined[row, j] == a[row, j]) }
            for j in 0..<2 { #expect(joined[row, 3 + j] == b[row, j]) }
        }
    }
}
