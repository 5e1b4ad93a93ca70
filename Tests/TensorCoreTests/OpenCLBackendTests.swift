// The OpenCL backend's kernels against the CPU backend's, requirement by requirement, at awkward sizes:
// odd widths, row counts that are not a multiple of anything, T = 70 (two causal row blocks of 64 and 6),
// views at an offset. Runs where OpenCL and CLBlast are installed (.ci/run installs PoCL, OpenCL on the
// CPU); elsewhere the suite is skipped and says why.
import DeviceTesting
import Foundation
import Testing
@testable import TensorCore
@testable import TensorCoreOpenCL

/// Without the libraries (here: names that do not exist), asking for the device fails in one line that
/// names the Debian packages. Runs everywhere.
@Test func aMissingOpenCLLibraryIsOneLineNamingThePackages() {
    for (openCL, clblast, missing) in [("libOpenCL-absent.so.1", "libclblast.so.1", "libOpenCL-absent.so.1"),
                                       ("libc.so.6", "libclblast-absent.so.1", "libclblast-absent.so.1")] {
        do {
            _ = try OpenCLLibrary.load(openCL: openCL, clblast: clblast)
            Issue.record("loading \(openCL) and \(clblast) should fail")
        } catch {
            let line = String(describing: error)
            #expect(line == "--device opencl: \(missing) not found (\(OpenCLError.packages))")
            #expect(!line.contains("\n") && line.contains("pocl-opencl-icd") && line.contains("libclblast1"))
        }
    }
}

@Suite("OpenCL kernels against the CPU ones", .enabled(if: openCLBackend != nil, Comment(rawValue: openCLSkipped)))
struct OpenCLBackendTests {
    let random = SeededRandom(seed: 11)
    let cpu = CPUBackend.shared, device = openCLBackend!

    func values(_ count: Int) -> [Float] { (0..<count).map { _ in random.normal() } }

    /// Runs `kernel` on both backends, each given storages holding the same `buffers` (inputs, and outputs
    /// with their starting contents), and compares every buffer afterwards. Each storage is a view 3 floats
    /// into a larger buffer, so the kernels' offsets are exercised too.
    func expectBothAgree(_ what: String, _ buffers: [[Float]], tolerance: Float = 1e-5,
                         _ kernel: (any Backend, [Storage]) -> Void) {
        func run(_ backend: any Backend) -> [[Float]] {
            let storages = buffers.map { host -> Storage in
                let arena = Storage(host: [1, 2, 3] + host + [4], on: backend)
                return Storage(viewing: arena, offset: 3, count: host.count)
            }
            kernel(backend, storages)
            return storages.map { $0.toHost() }
        }
        let onCPU = run(cpu), onDevice = run(device)
        for (index, (a, b)) in zip(onCPU, onDevice).enumerated() {
            let difference = maxAbsoluteDifference(a, b)
            #expect(difference <= tolerance, "\(what): buffer \(index) differs by \(difference)")
        }
    }

    @Test func theDeviceIsNamed() {
        #expect(device.name.hasPrefix("OpenCL ("))
    }

    @Test func hostCopiesFillsAndCopiesRoundTrip() {
        let host = values(1_001)
        let s = Storage(host: host, on: device)
        #expect(s.toHost() == host)
        #expect(s.toHost(10..<20) == Array(host[10..<20]))
        s.copy(fromHost: [7, 8], at: 999)
        #expect(s[999] == 7 && s[1000] == 8)
        let t = Storage(count: 1_001, on: device)
        device.copy(s, to: t)
        #expect(t.toHost() == s.toHost())
        t.fill(0.5)
        #expect(t.toHost().allSatisfy { $0 == 0.5 })
    }

    @Test func elementwiseKernels() {
        let n = 1_001, x = values(n), y = values(n)
        expectBothAgree("accumulate", [x, y]) { $0.accumulate($1[0], into: $1[1]) }
        expectBothAgree("addBroadcast", [values(5 * 37), values(37), values(5 * 37)]) { $0.addBroadcast($1[0], $1[1], out: $1[2]) }
        expectBothAgree("sumRepetitions", [values(5 * 37), values(37)]) { $0.sumRepetitions($1[0], out: $1[1]) }
        expectBothAgree("repeatRows", [values(37), values(5 * 37)]) { $0.repeatRows($1[0], into: $1[1]) }
        expectBothAgree("scale", [x, y]) { $0.scale($1[0], by: -0.7, out: $1[1]) }
        expectBothAgree("relu", [x, y]) { $0.relu($1[0], out: $1[1]) }
        expectBothAgree("reluBackward", [x, y, values(n)]) { $0.reluBackward(output: $1[0], $1[1], xGrad: $1[2]) }
        expectBothAgree("multiply", [x, y, values(n)]) { $0.multiply($1[0], $1[1], out: $1[2]) }
        expectBothAgree("broadcastScalar", [[2.5], y]) { $0.broadcastScalar($1[0], scaledBy: 0.1, out: $1[1]) }
        expectBothAgree("sum", [values(100_003), [0]], tolerance: 1e-3) { $0.sum($1[0], out: $1[1]) }
        let big = values(100_003)
        let squares = (cpu.sumOfSquares(Storage(host: big, on: cpu)), device.sumOfSquares(Storage(host: big, on: device)))
        #expect(abs(squares.0 - squares.1) <= 1e-6 * squares.0)
    }

    /// The same seed, stream and element give the same mask on both: Philox needs no state.
    @Test func dropoutMasksAreTheSameBitForBit() {
        expectBothAgree("dropoutMask", [values(1_001)], tolerance: 0) {
            $0.dropoutMask(probability: 0.3, seed: 0x1234_5678_9ABC, stream: 5 << 32 | 7, mask: $1[0])
        }
    }

    @Test(arguments: [nil, CausalMask(queries: 7), CausalMask(queries: 7, offset: 4)])
    func softmaxForwardAndBackward(causal: CausalMask?) {
        let rows = 3 * 7, columns = 7 + (causal?.offset ?? 0)
        expectBothAgree("softmax", [values(rows * columns), values(rows * columns)]) {
            $0.softmax($1[0], out: $1[1], rows: rows, columns: columns, causal: causal, scale: 0.6)
        }
        let y = Storage(count: rows * columns, on: cpu)
        cpu.softmax(Storage(host: values(rows * columns), on: cpu), out: y, rows: rows, columns: columns, causal: causal, scale: 1)
        expectBothAgree("softmaxBackward", [y.toHost(), values(rows * columns), values(rows * columns)]) {
            $0.softmaxBackward(output: $1[0], $1[1], xGrad: $1[2], rows: rows, columns: columns, causal: causal, scale: 0.6)
        }
    }

    @Test func layerNormForwardAndBackward() {
        let rows = 13, columns = 37
        let x = values(rows * columns), gain = values(columns), bias = values(columns)
        expectBothAgree("layerNorm", [x, gain, bias, values(rows * columns), values(rows), values(rows)]) {
            $0.layerNorm($1[0], gain: $1[1], bias: $1[2], out: $1[3], mean: $1[4], rstd: $1[5], rows: rows, columns: columns, epsilon: 1e-5)
        }
        let mean = Storage(count: rows, on: cpu), rstd = Storage(count: rows, on: cpu)
        cpu.layerNorm(Storage(host: x, on: cpu), gain: Storage(host: gain, on: cpu), bias: Storage(host: bias, on: cpu),
                      out: Storage(count: rows * columns, on: cpu), mean: mean, rstd: rstd, rows: rows, columns: columns, epsilon: 1e-5)
        let g = values(rows * columns)
        expectBothAgree("layerNormBackward", [g, x, gain, mean.toHost(), rstd.toHost(), values(rows * columns), values(columns), values(columns)],
                        tolerance: 1e-4) {
            $0.layerNormBackward($1[0], x: $1[1], gain: $1[2], mean: $1[3], rstd: $1[4], xGrad: $1[5], gainGrad: $1[6], biasGrad: $1[7],
                                 rows: rows, columns: columns)
        }
        expectBothAgree("layerNormBackward, gain only", [g, x, gain, mean.toHost(), rstd.toHost(), values(columns)], tolerance: 1e-4) {
            $0.layerNormBackward($1[0], x: $1[1], gain: $1[2], mean: $1[3], rstd: $1[4], xGrad: nil, gainGrad: $1[5], biasGrad: nil,
                                 rows: rows, columns: columns)
        }
    }

    @Test func crossEntropyForwardAndBackward() {
        let rows = 13, classes = 65, targets = (0..<rows).map { ($0 * 17) % classes }
        let logits = values(rows * classes).map { 3 * $0 }
        expectBothAgree("crossEntropy", [logits, values(rows * classes), [0]]) {
            $0.crossEntropy(logits: $1[0], targets: targets, probabilities: $1[1], loss: $1[2], rows: rows, classes: classes)
        }
        let p = Storage(count: rows * classes, on: cpu)
        cpu.crossEntropy(logits: Storage(host: logits, on: cpu), targets: targets, probabilities: p, loss: Storage(count: 1, on: cpu),
                         rows: rows, classes: classes)
        expectBothAgree("crossEntropyBackward", [p.toHost(), [1.5], values(rows * classes)]) {
            $0.crossEntropyBackward(probabilities: $1[0], targets: targets, upstream: $1[1], logitsGrad: $1[2], rows: rows, classes: classes)
        }
    }

    @Test func layoutKernels() {
        let ids = [3, 0, 3, 9, 1, 3], width = 7
        expectBothAgree("embedding", [values(10 * width), values(ids.count * width)]) { $0.embedding(table: $1[0], ids: ids, out: $1[1], width: width) }
        expectBothAgree("embeddingBackward (token 3 three times)", [values(ids.count * width), values(10 * width)]) {
            $0.embeddingBackward($1[0], ids: ids, tableGrad: $1[1], width: width)
        }
        for (first, second) in [(1, 3), (3, 1), (0, 2), (2, 3), (1, 1)] {
            expectBothAgree("swapAxes \(first), \(second)", [values(2 * 3 * 4 * 5), values(2 * 3 * 4 * 5)]) {
                $0.swapAxes($1[0], shape: [2, 3, 4, 5], first, second, out: $1[1])
            }
        }
        let (batch, time, heads, headSize) = (2, 5, 3, 4), width3 = 3 * heads * headSize
        for toHeads in [true, false] {
            expectBothAgree("moveHeads toHeads: \(toHeads)", [values(batch * time * width3), values(batch * heads * time * headSize)]) {
                $0.moveHeads(packed: $1[0], heads: $1[1], batch: batch, time: time, width: width3, offset: heads * headSize,
                             headCount: heads, headSize: headSize, toHeads: toHeads)
            }
        }
        expectBothAgree("copyColumns", [values(5 * 11), values(5 * 9)]) {
            $0.copyColumns(from: $1[0], sourceWidth: 11, sourceOffset: 2, to: $1[1], destinationWidth: 9, destinationOffset: 3, width: 6, rows: 5)
        }
    }

    @Test func adamWOnARangeOfTheArena() {
        let n = 1_001, range = 17..<900
        expectBothAgree("adamW", [values(n), values(n), values(n), values(n).map { $0 * $0 }]) {
            $0.adamW(values: $1[0], grads: $1[1], firstMoment: $1[2], secondMoment: $1[3], range: range, decay: 0.999, beta1: 0.9,
                     beta2: 0.95, stepSize: 1e-3, correction2Root: 0.3, epsilon: 1e-8)
        }
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func stridedBatchedGemm(transposes: (Bool, Bool)) {
        let (ta, tb) = transposes, (m, n, k, batch) = (7, 5, 9, 3)
        // A inside a wider matrix (leading dimension 11), B and C packed, batch items apart by their strides.
        let lda = (ta ? m : k) + 2, aRows = ta ? k : m, ldb = tb ? k : n, bRows = tb ? n : k
        expectBothAgree("gemm \(transposes)", [values(batch * aRows * lda), values(batch * bRows * ldb), values(batch * m * n)], tolerance: 1e-4) {
            $0.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5,
                    a: MatrixOperand($1[0], offset: 1, leadingDimension: lda, batchStride: aRows * lda),
                    b: MatrixOperand($1[1], batchStride: bRows * ldb), beta: 0.25, c: MatrixOperand($1[2], batchStride: m * n), batch: batch)
        }
    }

    /// Training's attention (offset 0) and a cache's (offset 40, keys `capacity` rows apart), at T = 70.
    @Test(arguments: [0, 40])
    func attentionProducts(offset: Int) {
        let (batch, m, d) = (3, 70, 5), n = offset + m, capacity = offset == 0 ? n : 128, mask = CausalMask(queries: m, offset: offset)
        let q = values(batch * m * d), k = values(batch * capacity * d), v = values(batch * capacity * d)
        expectBothAgree("attentionWeights offset \(offset)", [q, k, values(batch * m * n)], tolerance: 1e-4) {
            $0.attentionWeights(queries: $1[0], keys: $1[1], keysBatchStride: capacity * d, out: $1[2], batch: batch, m: m, n: n, d: d,
                                causal: mask, scale: 0.4)
        }
        let p = Storage(count: batch * m * n, on: cpu)
        cpu.attentionWeights(queries: Storage(host: q, on: cpu), keys: Storage(host: k, on: cpu), keysBatchStride: capacity * d, out: p,
                             batch: batch, m: m, n: n, d: d, causal: mask, scale: 0.4)
        expectBothAgree("weightedSum offset \(offset)", [p.toHost(), v, values(batch * m * d)], tolerance: 1e-4) {
            $0.weightedSum(weights: $1[0], values: $1[1], valuesBatchStride: capacity * d, out: $1[2], batch: batch, m: m, n: n, d: d,
                           causal: mask)
        }
        guard offset == 0 else { return }   // the backward runs in training only: keys contiguous, offset 0
        let g = values(batch * m * d)
        expectBothAgree("weightedSumBackward", [g, p.toHost(), v, values(batch * m * n), values(batch * n * d)], tolerance: 1e-4) {
            $0.weightedSumBackward($1[0], weights: $1[1], values: $1[2], weightsGrad: $1[3], valuesGrad: $1[4], batch: batch, m: m, n: n,
                                   d: d, causal: mask)
        }
        let dP = values(batch * m * n)
        expectBothAgree("attentionWeightsBackward", [p.toHost(), dP, q, k, values(batch * m * d), values(batch * n * d),
                                                     values(batch * m * n)], tolerance: 1e-4) {
            $0.attentionWeightsBackward(probabilities: $1[0], $1[1], queries: $1[2], keys: $1[3], queriesGrad: $1[4], keysGrad: $1[5],
                                        scratch: $1[6], batch: batch, m: m, n: n, d: d, causal: mask, scale: 0.4)
        }
    }
}
