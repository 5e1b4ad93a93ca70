// bench: NanoGPT training steps at three sizes, and the steady-state timing --compare-pytorch runs.
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

extension Bench {
    /// `--time-steps N --configs X`: 5 warm-up steps, then N consecutive steps timed as one block. Then, on
    /// the CPU, a few more steps with every product timed (as many whatever N is, so that they cancel in
    /// --compare-pytorch's wall method), for the shares of a step that the products and the Linear layers'
    /// products take; after the timed block, so that their timing does not touch it.
    func timeSteadySteps() {
        guard let (config, batch) = Self.trainingConfigs[configs] else { print("unknown config \(configs)"); return }
        let trainer = Self.benchTrainer(config, batch: batch)
        for _ in 0..<5 { trainer.trainStep() }
        let time = seconds { for _ in 0..<timeSteps { trainer.trainStep() } }
        var shares = ""
        if Backends.current is CPUBackend {
            let steps = ["T": 200, "S": 20, "M": 3, "L": 2][configs]!
            var step = 0.0
            let measured = ProductTimer.measure { step = seconds { for _ in 0..<steps { trainer.trainStep() } } }
            shares = ", \"product_share\": \(measured.seconds / step), "
                + "\"linear_share\": \(ProductTimer.linearSeconds(measured, rows: batch * config.blockSize) / step)"
        }
        print("{\"config\": \"\(configs)\", \"steps\": \(timeSteps), \"mean_ms_per_step\": \(time / Double(timeSteps) * 1e3), "
              + "\"peak_rss_mb\": \(Memory.peakMegabytes)\(shares)}")
    }

    /// A Trainer on random tokens, dropout 0: what every training measurement here runs.
    static func benchTrainer(_ config: GPTConfig, batch: Int, processes: ProcessGroup? = nil, accumulationSteps: Int = 1) -> Trainer {
        let random = SeededRandom(seed: 3)
        let tokens = (0..<200_000).map { _ in random.integer(below: 65) }
        let settings = Hyperparameters(steps: 1_000_000, batchSize: batch, blockSize: config.blockSize,
                                       embeddingSize: config.embeddingSize, heads: config.heads,
                                       layers: config.layers, learningRate: 1e-3, evalInterval: 1_000_000, evalIters: 1)
        let dataset = try! TokenDataset(tokens: tokens, blockSize: config.blockSize)
        let model = NanoGPT(config, seed: 1)
        guard processes != nil || accumulationSteps > 1 else { return Trainer(model: model, dataset: dataset, hyperparameters: settings) }
        return DataParallelTrainer(model: model, dataset: dataset, hyperparameters: settings, processes: processes,
                                   accumulationSteps: accumulationSteps)
    }

    /// The model sizes of the speed comparison with PyTorch (T, S, M), and M's model at T 1024 (L).
    static let trainingConfigs: [String: (config: GPTConfig, batch: Int)] = [
        "T": (GPTConfig(vocabularySize: 65, blockSize: 8, embeddingSize: 32, heads: 1, layers: 1), 32),
        "S": (GPTConfig(vocabularySize: 65, blockSize: 64, embeddingSize: 128, heads: 4, layers: 4), 12),
        "M": (GPTConfig(vocabularySize: 65, blockSize: 256, embeddingSize: 384, heads: 6, layers: 6), 16),
        "L": (GPTConfig(vocabularySize: 65, blockSize: 1024, embeddingSize: 384, heads: 6, layers: 6), 4),   // M at long context
    ]

    /// Returns the median seconds per step of each config.
    func trainingSteps() -> [String: Double] {
        var results: [String: Double] = [:]
        print("\nNanoGPT training step (random tokens, dropout 0, AdamW), median of \(repeats) after 5 warm-up steps")
        print("GFLOP/s counts the FLOPs of the step's own sgemm calls; peak is sgemm at the model's largest shape, now;")
        print("MFU = GFLOP/s / peak; peak RSS is this process's high-water mark while training that config")
        print("config   ms/step    tokens/s   sgemm ms   step/sgemm   GFLOP/s   peak   MFU   peak RSS")
        for name in configs.split(separator: ",").map(String.init) {
            guard let (config, batch) = Self.trainingConfigs[name] else { print("unknown config \(name)"); continue }
            BufferPool.drain()   // give back what earlier measurements left in the pool
            Memory.resetPeak()
            let trainer = Self.benchTrainer(config, batch: batch)
            for _ in 0..<5 { trainer.trainStep() }
            var stepTimes: [Double] = [], gemmTimes: [Double] = [], flops = 0.0
            for _ in 0..<repeats {
                var step = 0.0
                let products = ProductTimer.measure { step = seconds { trainer.trainStep() } }
                stepTimes.append(step)
                gemmTimes.append(products.seconds)
                flops = products.flops
            }
            let step = median(stepTimes), gemm = median(gemmTimes)
            let peak = sgemmPeak(rows: batch * config.blockSize, width: config.embeddingSize)
            results[name] = step
            if Backends.current is CPUBackend {
                print(String(format: "%-6@ %9.2f %11.0f %10.2f %12.2f %9.1f %6.1f %4.0f%% %7.0f MB", name, step * 1e3,
                             Double(batch * config.blockSize) / step, gemm * 1e3, step / gemm, flops / step / 1e9, peak,
                             100 * flops / step / 1e9 / peak, Memory.peakMegabytes))
            } else {   // products on a device are queued, not timed one by one: no sgemm columns
                func dash(_ width: Int) -> String { String(repeating: " ", count: width - 1) + "-" }
                print(String(format: "%-6@ %9.2f %11.0f", name, step * 1e3, Double(batch * config.blockSize) / step)
                      + dash(11) + dash(13) + dash(10) + String(format: " %6.1f", peak) + dash(6)
                      + String(format: " %7.0f MB", Memory.peakMegabytes))
            }
            if memorySteps > 0 {
                var at100 = 0.0
                for done in trainer.step..<memorySteps {
                    trainer.trainStep()
                    if done == 100 { at100 = Memory.currentMegabytes }
                }
                print(String(format: "       resident memory after step 100: %.0f MB, after step %d: %.0f MB", at100,
                             memorySteps, Memory.currentMegabytes))
            }
        }
        return results
    }
}

extension Bench {
    /// `--products --configs M`: where a training step's product time goes, one row per product shape
    /// (m x k times k x n, with which operand OpenBLAS reads transposed), summed over `repeats` steps and
    /// divided by them. A shape's time is each of its calls' own time, so products that run side by side
    /// on several threads (small attention products: BLAS.forEachProduct) add up to more than the wall time.
    func productBreakdown() {
        for name in configs.split(separator: ",").map(String.init) {
            guard let (config, batch) = Self.trainingConfigs[name] else { print("unknown config \(name)"); continue }
            let (step, measured) = timedProducts(config, batch: batch, steps: repeats)
            print(String(format: "config %@ (B %d, T %d, C %d, %d heads, %d layers): %.1f ms a step, %.1f ms of it in products "
                         + "(wall time), %.1f GFLOP/s in them", name, batch, config.blockSize, config.embeddingSize, config.heads,
                         config.layers, step * 1e3, measured.seconds / Double(repeats) * 1e3, measured.flops / measured.seconds / 1e9))
            let perStep = 1 / Double(repeats)
            print("     m      n      k  op(A)  op(B)   calls/step   ms/step   GFLOP/s   share of product time")
            let total = measured.byShape.values.reduce(0) { $0 + $1.seconds }
            for (shape, totals) in measured.byShape.sorted(by: { $0.value.seconds > $1.value.seconds }) {
                let flops = 2 * Double(shape.m) * Double(shape.n) * Double(shape.k) * Double(totals.calls)
                print(String(format: "%6d %6d %6d  %5@  %5@ %12.1f %9.2f %9.1f   %5.1f%%", shape.m, shape.n, shape.k,
                             shape.transposeA ? "A^T" : "A", shape.transposeB ? "B^T" : "B", Double(totals.calls) * perStep,
                             totals.seconds * perStep * 1e3, flops / totals.seconds / 1e9, 100 * totals.seconds / total))
            }
            print(String(format: "the Linear layers' products (every one with B x T = %d rows as m or k) take %.1f ms a step: "
                         + "the step's floor if everything else, attention included, were free", batch * config.blockSize,
                         ProductTimer.linearSeconds(measured, rows: batch * config.blockSize) * perStep * 1e3))
            print()
        }
    }

    /// A fresh bench model's mean training step in seconds over `steps` steps after 3 warm-up steps, and
    /// every product inside them.
    func timedProducts(_ config: GPTConfig, batch: Int, steps: Int) -> (step: Double, products: ProductTimer.Measurement) {
        let trainer = Self.benchTrainer(config, batch: batch)
        for _ in 0..<3 { trainer.trainStep() }
        var step = 0.0
        let measured = ProductTimer.measure { step = seconds { for _ in 0..<steps { trainer.trainStep() } } }
        return (step / Double(steps), measured)
    }
}
