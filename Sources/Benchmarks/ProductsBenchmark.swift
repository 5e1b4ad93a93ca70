// bench: sgemm at a small GPT's shapes, and one Linear layer of the tensor core against its sgemm calls.
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

extension Bench {
    /// Waits until `storage` holds its result: a host copy waits for everything queued before it (on the CPU
    /// the product is done when the call returns; a device may still be running it).
    func waitFor(_ storage: Storage) { _ = storage[0] }

    /// The best sgemm GFLOP/s among the model's feed-forward products (rows x 4C x C and rows x C x 4C), now.
    func sgemmPeak(rows: Int, width: Int) -> Double {
        let random = SeededRandom(seed: 5)
        let a = Tensor.normal([rows * 4 * width], std: 1, random: random), b = Tensor.normal([4 * width * width], std: 1, random: random)
        let c = Storage(count: rows * 4 * width)
        var best = 0.0
        for (n, k) in [(4 * width, width), (width, 4 * width)] {
            let flops = 2 * Double(rows * n * k), inner = max(1, Int(1e8 / flops))
            for _ in 0..<5 {
                let time = seconds { for _ in 0..<inner {
                    c.backend.gemm(m: rows, n: n, k: k, a: MatrixOperand(a.storage), b: MatrixOperand(b.storage), beta: 0,
                                   c: MatrixOperand(c))
                }; waitFor(c) } / Double(inner)
                best = max(best, flops / time / 1e9)
            }
        }
        return best
    }

    func sgemmTable() {
        print("\(Backends.current is CPUBackend ? "cblas_sgemm" : "CLBlast sgemm"), GFLOP/s (median of \(repeats))")
        print("     M      N      K       NN       NT       TN")
        let random = SeededRandom(seed: 1)
        for (m, n, k) in [(768, 384, 128), (768, 128, 384), (768, 128, 128), (768, 512, 128), (768, 65, 128),
                          (4096, 384, 384), (1024, 1024, 1024)] {
            let a = Tensor.normal([m * k], std: 1, random: random), b = Tensor.normal([k * n], std: 1, random: random)
            let c = Storage(count: m * n)
            var row = String(format: "%6d %6d %6d", m, n, k)
            for (ta, tb) in [(false, false), (false, true), (true, false)] {
                let flops = 2 * Double(m * n * k)
                let inner = max(1, Int(2e8 / flops))
                let times = (0..<repeats).map { _ in
                    seconds { for _ in 0..<inner {
                        c.backend.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: MatrixOperand(a.storage),
                                       b: MatrixOperand(b.storage), beta: 0, c: MatrixOperand(c))
                    }; waitFor(c) } / Double(inner)
                }
                row += String(format: " %8.1f", flops / median(times) / 1e9)
            }
            print(row)
        }
        print()
    }

    func linearLayerOverhead() {
        let (rows, inputs, outputs) = (768, 128, 512)
        let random = SeededRandom(seed: 2)
        let x = Tensor.normal([rows, inputs], std: 1, random: random, requiresGrad: true)
        let weight = Tensor.normal([outputs, inputs], std: 0.02, random: random, requiresGrad: true)
        let bias = Tensor.zeros([outputs], requiresGrad: true)
        let upstream = Tensor.normal([rows, outputs], std: 1, random: random)
        let dx = Storage(count: rows * inputs), dw = Storage(count: outputs * inputs), y = Storage(count: rows * outputs)

        // The tensor core: forward, then backward from a given upstream gradient (as inside a network).
        let seed = upstream.values
        func core() {
            [x, weight, bias].forEach { $0.clearGrad() }   // as a training step starts: no gradient yet
            let out = linear(x, weight: weight, bias: bias)
            out.backward(seed: seed)
        }
        // Only the three matrix products that layer needs, on preallocated buffers.
        func rawSgemm() {
            let backend = x.backend
            backend.gemm(transposeB: true, m: rows, n: outputs, k: inputs, a: MatrixOperand(x.storage),
                         b: MatrixOperand(weight.storage), beta: 0, c: MatrixOperand(y))
            backend.gemm(m: rows, n: inputs, k: outputs, a: MatrixOperand(upstream.storage), b: MatrixOperand(weight.storage),
                         beta: 0, c: MatrixOperand(dx))
            backend.gemm(transposeA: true, m: outputs, n: inputs, k: rows, a: MatrixOperand(upstream.storage),
                         b: MatrixOperand(x.storage), beta: 0, c: MatrixOperand(dw))
        }
        for _ in 0..<5 { core(); rawSgemm() }
        let inner = 10
        var coreTimes: [Double] = [], sgemmTimes: [Double] = []
        for _ in 0..<repeats {   // interleaved, so both see the same machine
            coreTimes.append(seconds { for _ in 0..<inner { core() }; waitFor(weight.grad!) } / Double(inner))
            sgemmTimes.append(seconds { for _ in 0..<inner { rawSgemm() }; waitFor(dw) } / Double(inner))
        }
        let coreTime = median(coreTimes), sgemmTime = median(sgemmTimes)
        print("Linear layer \(rows)x\(inputs) -> \(outputs), forward + backward (median of \(repeats) x \(inner))")
        print(String(format: "  tensor core      %8.3f ms", coreTime * 1e3))
        print(String(format: "  its 3 sgemm      %8.3f ms  (%.1f GFLOP/s)", sgemmTime * 1e3,
                     6 * Double(rows * inputs * outputs) / sgemmTime / 1e9))
        print(String(format: "  overhead ratio   %8.2f    (target <= 1.30)", coreTime / sgemmTime))
    }
}
