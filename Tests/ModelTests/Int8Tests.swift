// Chapter 08's int8 weights: the quantization, every kernel path against the plain loop, and a model that
// runs its forward pass in int8.
import CInt8Kernels
import Foundation
import NanoGPT
import Quantization
import TensorCore
import Testing
import Training

@Suite("Int8 weights (Q8_0 blocks)", .serialized)
struct Int8Tests {
    let random = SeededRandom(seed: 8)

    /// Each weight comes back within half a step of its block's scale, the scale is the block's largest
    /// magnitude over 127, and the largest weight of each block is stored as +-127 (or 0 for a zero block).
    @Test(arguments: [(1, 1), (3, 31), (2, 33), (5, 70)])
    func quantizationRoundsEachWeightToItsBlocksGrid(rows: Int, columns: Int) {
        let w = Tensor.normal([rows, columns], std: 0.02, random: random)
        let matrix = Int8Matrix(quantizing: w)
        #expect(matrix.blocks == (columns + 31) / 32 && matrix.weights.count == rows * matrix.blocks * 32)
        let original = w.values, restored = matrix.dequantized()
        for r in 0..<rows {
            for b in 0..<matrix.blocks {
                let range = (r * columns + b * 32)..<min(r * columns + (b + 1) * 32, (r + 1) * columns)
                let largest = original[range].map(abs).max()!
                let scale = Float(matrix.scales[r * matrix.blocks + b])
                #expect(abs(scale - largest / 127) <= largest / 127 * 1e-3)                   // half precision
                for i in range { #expect(abs(restored[i] - original[i]) <= scale / 2 * 1.01) }
                let stored = matrix.weights[((r * matrix.blocks + b) * 32)..<((r * matrix.blocks + b) * 32 + range.count)]
                #expect(stored.map { abs(Int($0)) }.max() == 127)
                #expect(matrix.weights[((r * matrix.blocks + b) * 32 + range.count)..<((r * matrix.blocks + b + 1) * 32)]
                            .allSatisfy { $0 == 0 })                                          // the padding
            }
        }
        let zeros = Int8Matrix(quantizing: Tensor.zeros([2, 40]))
        #expect(zeros.weights.allSatisfy { $0 == 0 } && zeros.dequantized().allSatisfy { $0 == 0 })
    }

    /// Every path this CPU has (plain, AVX2, VNNI), with float32 and with int8 activations, against the plain
    /// loop, at awkward sizes: one row, columns not a multiple of 32, one column, rows not a multiple of the
    /// kernels' 4 rows at a time.
    @Test(arguments: [(1, 384), (17, 33), (4, 1), (65, 70), (3, 31), (130, 1270)])
    func everyKernelPathMatchesThePlainLoop(rows: Int, columns: Int) {
        let matrix = Int8Matrix(quantizing: Tensor.normal([rows, columns], std: 0.05, random: random))
        let x = Tensor.normal([1, columns], std: 1, random: random)
        let expected = matrix.plainProduct(x.values)
        // With int8 activations the kernels multiply x as quantized: the plain loop on that x is the reference.
        let (xq, xScales) = x.values.withUnsafeBufferPointer { matrix.quantizeActivations($0) }
        let quantizedX = (0..<columns).map { Float(xq[$0]) * xScales[$0 / 32] }
        let expectedInt8 = matrix.plainInt8Product(xq, scales: xScales)   // integer sums, as the kernels compute
        #expect(largestDifference(expectedInt8, matrix.plainProduct(quantizedX)) <= 1e-5 * (expected.map(abs).max() ?? 1) + 1e-6)
        let saved = (Int8Kernels.current, Int8Matrix.activations)
        defer { Int8Kernels.current = saved.0; Int8Matrix.activations = saved.1 }
        for path in Int8Kernels.Path.allCases where path.rawValue <= Int8Kernels.best.rawValue {
            Int8Kernels.current = path
            #expect(Int8Kernels.current == path)
            for (activations, reference) in [(Int8Matrix.Activations.float32, expected), (.int8, expectedInt8)] {
                Int8Matrix.activations = activations
                let y = withoutGradients { matrix.product(x, bias: nil) }.values
                let tolerance = 1e-4 * (reference.map(abs).max() ?? 1) + 1e-6
                #expect(largestDifference(y, reference) <= tolerance, "\(path), \(activations) activations")
            }
        }
        // And int8 activations stay close to the float32 product: a relative error of about 1/254 per block.
        #expect(largestDifference(expectedInt8, expected) <= 0.02 * (expected.map(abs).max() ?? 1) + 1e-4)
    }

    /// The kernels quantize x in C; it must be exactly the readable `quantizeActivations` the page shows.
    @Test func theActivationsAreQuantizedAsThePageShows() {
        let matrix = Int8Matrix(quantizing: Tensor.normal([2, 100], std: 0.05, random: random))
        var x = Tensor.normal([100], std: 3, random: random).values
        x[5] = 0.5; x[40...71] = ArraySlice(repeating: 0, count: 32)   // a zero block
        let (swiftValues, swiftScales) = x.withUnsafeBufferPointer { matrix.quantizeActivations($0) }
        var padded = x + [Float](repeating: 0, count: 128 - 100)
        let saved = Int8Kernels.current
        defer { Int8Kernels.current = saved }
        for path in Int8Kernels.Path.allCases where path.rawValue <= Int8Kernels.best.rawValue {
            Int8Kernels.current = path   // the plain loop, or the same loop compiled for AVX2
            var values = [Int8](repeating: 0, count: 128), scales = [Float](repeating: 0, count: 4)
            int8_quantize_activations(&padded, 4, &values, &scales)
            #expect(values == swiftValues && scales == swiftScales, "\(path)")
            // Halves round away from zero, as Swift's rounded(): a block whose largest value is 127 is scaled by 1.
            var halves: [Float] = [127, 0.5, 1.5, -2.5, 126.5, -0.5, 0.49999997, -126.5] + [Float](repeating: 3.25, count: 24)
            var halfValues = [Int8](repeating: 0, count: 32), halfScale = [Float](repeating: 0, count: 1)
            int8_quantize_activations(&halves, 1, &halfValues, &halfScale)
            #expect(Array(halfValues.prefix(8)) == [127, 1, 2, -3, 127, -1, 0, -127] && halfValues[8] == 3, "\(path)")
            let oneBlock = Int8Matrix(quantizing: Tensor.zeros([1, 32]))
            #expect(halfValues == halves.withUnsafeBufferPointer { oneBlock.quantizeActivations($0) }.values)
        }
    }

    /// A product shared with the helper thread (each row computed whole by one thread) is the unshared
    /// product bit for bit, on every path and both kinds of activations: rows not a multiple of the kernels'
    /// four, and sizes on both sides of the 128 KB below which a product is not shared.
    @Test(arguments: [(1027, 67), (130, 1270), (261, 500), (16, 64)])
    func aSharedProductIsTheUnsharedOneBitForBit(rows: Int, columns: Int) {
        let blocks = (columns + 31) / 32
        let weights = (0..<(rows * blocks * 32)).map { Int8(truncatingIfNeeded: ($0 * 37 + 11) % 255 - 127) }
        let scales = (0..<(rows * blocks)).map { Float16(0.001 * Float($0 % 13 + 1)).bitPattern }
        let x = (0..<(blocks * 32)).map { Float(($0 * 7) % 19) - 9 }
        var xq = [Int8](repeating: 0, count: blocks * 32), xScales = [Float](repeating: 0, count: blocks)
        int8_quantize_activations(x, Int32(blocks), &xq, &xScales)
        let saved = Int8Kernels.current
        defer { Int8Kernels.current = saved }
        let shareable = rows * blocks * 32 >= 128 * 1024
        for path in Int8Kernels.Path.allCases where path.rawValue <= Int8Kernels.best.rawValue {
            Int8Kernels.current = path
            for threads: Int32 in [1, 2] {
                var float = [Float](repeating: .nan, count: rows), int8 = float
                // Another test may be sharing a product just now (then this one runs alone): try a few times.
                var tries = 0, sharedBefore = int8_shared_products()
                repeat {
                    sharedBefore = int8_shared_products()
                    int8_matvec_float(weights, scales, Int32(rows), Int32(blocks), x, &float, threads)
                    int8_matvec_int8(weights, scales, Int32(rows), Int32(blocks), xq, xScales, &int8, threads)
                    tries += 1
                } while threads == 2 && shareable && int8_shared_products() < sharedBefore + 2 && tries < 50
                // Two threads and a large product: the helper took half of both products; else neither.
                if threads == 2 && shareable { #expect(int8_shared_products() >= sharedBefore + 2, "\(path): not shared") }
                var aloneFloat = [Float](repeating: .nan, count: rows), aloneInt8 = aloneFloat
                int8_matvec_float(weights, scales, Int32(rows), Int32(blocks), x, &aloneFloat, 1)
                int8_matvec_int8(weights, scales, Int32(rows), Int32(blocks), xq, xScales, &aloneInt8, 1)
                #expect(float == aloneFloat && int8 == aloneInt8, "\(path), \(threads) threads")
                #expect(!float.contains { $0.isNaN } && !int8.contains { $0.isNaN })
            }
        }
    }

    /// Many rows (a prompt) go through sgemm on the dequantized matrix; the bias is added either way.
    @Test func aPromptAndATokenGiveTheSameRows() {
        let matrix = Int8Matrix(quantizing: Tensor.normal([9, 40], std: 0.05, random: random))
        let bias = Tensor.normal([9], std: 1, random: random)
        let x = Tensor.normal([2, 5, 40], std: 1, random: random)
        let saved = Int8Matrix.activations
        defer { Int8Matrix.activations = saved }
        Int8Matrix.activations = .float32
        let whole = withoutGradients { matrix.product(x, bias: bias) }
        #expect(whole.shape == [2, 5, 9])
        for t in 0..<10 {
            let row = Tensor(shape: [1, 40], values: Array(x.values[(t * 40)..<((t + 1) * 40)]))
            let one = withoutGradients { matrix.product(row, bias: bias) }.values
            #expect(largestDifference(one, Array(whole.values[(t * 9)..<((t + 1) * 9)])) < 1e-4)
        }
    }

    /// Stored blocks are checked: counts that match the shape, scales finite and not negative.
    @Test func storedBlocksThatCannotBeAMatrixAreRefused() {
        #expect(throws: Int8MatrixError.self) { try Int8Matrix(rows: 2, columns: 33, weights: [Int8](repeating: 1, count: 64), scales: [1, 1, 1, 1]) }
        #expect(throws: Int8MatrixError.self) { try Int8Matrix(rows: 1, columns: 32, weights: [Int8](repeating: 1, count: 32), scales: [1, 1]) }
        #expect(throws: Int8MatrixError.self) { try Int8Matrix(rows: 1, columns: 32, weights: [Int8](repeating: 1, count: 32), scales: [.nan]) }
        #expect(throws: Int8MatrixError.self) { try Int8Matrix(rows: 1, columns: 32, weights: [Int8](repeating: 1, count: 32), scales: [-1]) }
        #expect(throws: Int8MatrixError.self) { try Int8Matrix(rows: 0, columns: 32, weights: [], scales: []) }
        #expect(throws: Never.self) { try Int8Matrix(rows: 1, columns: 32, weights: [Int8](repeating: 1, count: 32), scales: [0.5]) }
    }

    /// A model in int8 runs its own forward pass: logits close to float32's, generation through the same
    /// cache; back in float32, exactly today's tokens. Training ignores the int8 weights.
    @Test func aModelInInt8StaysCloseToFloat32() {
        let config = GPTConfig(vocabularySize: 23, blockSize: 16, embeddingSize: 64, heads: 4, layers: 2)
        let model = NanoGPT(config, seed: 5)
        let ids = (0..<16).map { $0 * 7 % 23 }
        let float32 = withoutGradients { model.logits(ids, batchSize: 1, length: 16, training: false) }.values
        let tokens = Array(model.generateStream(prompt: [1], maxNewTokens: 30, random: SeededRandom(seed: 2)))
        model.useInt8Weights()
        let int8 = withoutGradients { model.logits(ids, batchSize: 1, length: 16, training: false) }.values
        #expect(largestDifference(int8, float32) > 0)                                   // it did run in int8
        #expect(largestDifference(int8, float32) < 0.02 * (float32.map(abs).max() ?? 1))
        let int8Tokens = Array(model.generateStream(prompt: [1], maxNewTokens: 30, random: SeededRandom(seed: 2)))
        #expect(int8Tokens.count == 30)
        // A forward pass that records gradients (training) uses the float32 weights.
        let training = model.logits(ids, batchSize: 1, length: 16, training: true).values
        #expect(training == float32)
        model.useFloat32Weights()
        #expect(Array(model.generateStream(prompt: [1], maxNewTokens: 30, random: SeededRandom(seed: 2))) == tokens)
    }
}
