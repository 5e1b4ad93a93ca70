// bench: NanoGPT training steps at three sizes, and the steady-state timing --compare-pytorch runs.
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

extension Bench {
    /// `--time-steps N --configs X`: 5 warm-up steps, then N consecutive steps timed as one block.
    func timeSteadySteps() {
        guard let (config, batch) = Self.trainingConfigs[configs] else { print("unknown config \(configs)"); return }
        let trainer = Self.benchTrainer(config, batch: batch)
        for _ in 0..<5 { trainer.trainStep() }
        let time = seconds { for _ in 0..<timeSteps { trainer.trainStep() } }
        print("{\"config\": \"\(configs)\", \"steps\": \(timeSteps), \"mean_ms_per_step\": \(time / Double(timeSteps) * 1e3)}")
    }

    /// A Trainer on random tokens, dropout 0: what every training measurement here runs.
    static func benchTrainer(_ config: GPTConfig, batch: Int, processes: ProcessGroup? = nil, accumulationSteps: Int = 1) -> Trainer {
        let random = SeededRandom(seed: 3)
        let tokens = (0..<200_000).map { _ in random.integer(below: 65) }
        let settings = Hyperparameters(steps: 1_000_000, batchSize: batch, blockSize: config.blockSize,
                                       embeddingSize: config.embeddingSize, heads: config.headCount,
                                       layers: config.layerCount, learningRate: 1e-3, evalInterval: 1_000_000, evalIters: 1)
        let dataset = try! TokenDataset(tokens: tokens, blockSize: config.blockSize)
        return Trainer(model: NanoGPT(config, seed: 1), dataset: dataset, hyperparameters: settings, processes: processes,
                       accumulationSteps: accumulationSteps)
    }

    /// The three model sizes of the speed comparison with PyTorch.
    static let trainingConfigs: [String: (config: GPTConfig, batch: Int)] = [
        "T": (GPTConfig(vocabularySize: 65, blockSize: 8, embeddingSize: 32, headCount: 1, layerCount: 1), 32),
        "S": (GPTConfig(vocabularySize: 65, blockSize: 64, embeddingSize: 128, headCount: 4, layerCount: 4), 12),
        "M": (GPTConfig(vocabularySize: 65, blockSize: 256, embeddingSize: 384, headCount: 6, layerCount: 6), 16),
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
                BLAS.timedSeconds = 0
                BLAS.timedFlops = 0
                BLAS.isTiming = true
                stepTimes.append(seconds { trainer.trainStep() })
                BLAS.isTiming = false
                gemmTimes.append(BLAS.timedSeconds)
                flops = BLAS.timedFlops
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
