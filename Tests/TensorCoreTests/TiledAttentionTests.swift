// Chapter 05b's claim: attention computed a tile of keys at a time, with the online softmax, is the same
// function as the weights path, forward and backward, at sizes that are awkward for tiles of 64.
import DeviceTesting
import Foundation
import Testing
import TensorCore

@Suite("Tiled attention: the online softmax against the weights path", .onEveryDevice)
struct TiledAttentionTests {
    let random = SeededRandom(seed: 7)

    /// The readable one-pass form gives the textbook's output, even where a plain e^s would overflow
    /// (scores of 100 and more: e^100 is beyond Float), and its log-sum-exp is log(sum of e^s).
    @Test func theOnlineSoftmaxIsTheTextbookSoftmax() {
        for spread: Float in [1, 40] {
            let q = (0..<6).map { _ in spread * random.normal() }
            let keys = (0..<23).map { _ in (0..<6).map { _ in random.normal() } }
            let values = (0..<23).map { _ in (0..<6).map { _ in random.normal() } }
            let (online, logSumExp) = NaiveKernels.onlineAttention(query: q, keys: keys, values: values, scale: 0.5)
            let textbook = NaiveKernels.attention(query: q, keys: keys, values: values, scale: 0.5)
            #expect(maxAbsoluteDifference(online, textbook) < 1e-5)
            let scores = keys.map { k in 0.5 * zip(q, k).reduce(0) { $0 + Double($1.0 * $1.1) } }
            let largest = scores.max()!
            #expect(abs(Double(logSumExp) - (largest + log(scores.reduce(0) { $0 + exp($1 - largest) }))) < 1e-3)
            if spread == 40 { #expect(scores.contains { $0 > 100 }) }   // e^s alone would be infinite
        }
    }

    @Test func gradientsMatchFiniteDifferences() {
        let q = randomTensor([2, 2, 9, 5], random), k = randomTensor([2, 2, 9, 5], random), v = randomTensor([2, 2, 9, 5], random)
        let result = gradientCheck([q, k, v], epsilon: 1e-2, absoluteTolerance: 2e-3, relativeTolerance: 1e-2) {
            causalAttention(q, k, v, scale: 0.45)
        }
        #expect(result.passed, "\(result)")
        #expect(result.checkedElements == 3 * 180)
    }

    /// T = 1, one tile (63, 64), a partial second tile (65) and three tiles with a ragged last one (150):
    /// output and every gradient equal the weights path's (softmax of the products, then the weighted sum).
    @Test(arguments: [1, 63, 64, 65, 150])
    func theTiledKernelIsTheWeightsPath(t: Int) {
        let shape = [2, 3, t, 7], count = 42 * t
        let seed = randomTensor(shape, random, requiresGrad: false).values   // d loss / d output
        let start = [randomTensor(shape, random, requiresGrad: false).values, randomTensor(shape, random, requiresGrad: false).values,
                     randomTensor(shape, random, requiresGrad: false).values]
        func run(tiled: Bool) -> [[Float]] {
            let (q, k, v) = (Tensor(shape: shape, values: start[0].map { 2 * $0 }, requiresGrad: true),
                             Tensor(shape: shape, values: start[1], requiresGrad: true),
                             Tensor(shape: shape, values: start[2], requiresGrad: true))
            let out = tiled ? causalAttention(q, k, v, scale: 0.4)
                            : causalMatmul(softmaxOfProducts(q, k, causal: true, scale: 0.4), v)
            out.backward(seed: seed)
            return [out.values, q.gradValues!, k.gradValues!, v.gradValues!]
        }
        let (tiled, weights) = (run(tiled: true), run(tiled: false))
        #expect(tiled[0].count == count)
        for (name, (a, b)) in zip(["output", "dQ", "dK", "dV"], zip(tiled, weights)) {
            #expect(maxAbsoluteDifference(a, b) < 2e-5, "\(name) at T = \(t)")
        }
    }

    /// The op every model trains with, against the plain causal loop (query t over keys 0 ... t), head by
    /// head, at lengths of one tile, of one tile and a bit, and of one position.
    @Test(arguments: [9, 70, 1])
    func causalAttentionIsThePlainCausalLoop(positions: Int) {
        let (heads, size) = (3, 5)
        let (q, k, v) = (randomTensor([1, heads, positions, size], random, requiresGrad: false),
                         randomTensor([1, heads, positions, size], random, requiresGrad: false),
                         randomTensor([1, heads, positions, size], random, requiresGrad: false))
        let out = causalAttention(q, k, v, scale: 0.4).values
        func head(_ x: [Float], _ h: Int) -> [[Float]] {   // (T, hs) rows of head h
            (0..<positions).map { t in Array(x[((h * positions + t) * size)..<((h * positions + t + 1) * size)]) }
        }
        for h in 0..<heads {
            let expected = NaiveKernels.causalAttention(queries: head(q.values, h), keys: head(k.values, h),
                                                        values: head(v.values, h), scale: 0.4)
            #expect(maxAbsoluteDifference(head(out, h).flatMap { $0 }, expected.flatMap { $0 }) < 1e-5, "head \(h)")
        }
    }

    /// With a cache's offset and rows `capacity` apart, query i sees keys 0 ... offset + i: each row equals
    /// the textbook attention over exactly those keys. 5 queries are one tile; 70 are two, over 135 keys.
    @Test(arguments: [5, 70])
    func aCacheOffsetShiftsTheMask(queries: Int) {
        let (heads, total, capacity, size) = (2, queries + 65, queries + 80, 7)
        let backend = Backends.current
        let q = randomTensor([heads, queries, size], random, requiresGrad: false).values
        let k = randomTensor([heads, capacity, size], random, requiresGrad: false).values
        let v = randomTensor([heads, capacity, size], random, requiresGrad: false).values
        let out = Storage(count: heads * queries * size, on: backend)
        let saved = Storage(count: backend.tiledAttentionSavedCount(batch: heads, m: queries, n: total, d: size), on: backend)
        backend.tiledAttention(queries: Storage(host: q, on: backend), keys: Storage(host: k, on: backend),
                               values: Storage(host: v, on: backend), keysBatchStride: capacity * size, out: out,
                               saved: saved, batch: heads, m: queries, n: total, d: size,
                               causal: CausalMask(queries: queries, offset: total - queries), scale: 0.3)
        let result = out.toHost()
        func rows(_ x: [Float], _ h: Int, _ r: Range<Int>, stride: Int) -> [[Float]] {
            r.map { Array(x[(h * stride + $0 * size)..<(h * stride + ($0 + 1) * size)]) }
        }
        for h in 0..<heads {
            for i in 0..<queries {
                let visible = 0..<(total - queries + i + 1)
                let expected = NaiveKernels.attention(query: rows(q, h, i..<(i + 1), stride: queries * size)[0],
                                                      keys: rows(k, h, visible, stride: capacity * size),
                                                      values: rows(v, h, visible, stride: capacity * size), scale: 0.3)
                let got = Array(result[((h * queries + i) * size)..<((h * queries + i + 1) * size)])
                #expect(maxAbsoluteDifference(got, expected) < 1e-5, "head \(h), query \(i)")
            }
        }
    }
}
