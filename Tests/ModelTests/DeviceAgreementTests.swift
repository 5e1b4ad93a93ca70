// A whole model on the OpenCL device against the same model on the CPU: training, generation, and a
// checkpoint crossing from one to the other. Runs where OpenCL is installed (PoCL in the README's test
// command). Tolerances: the device sums in other orders (CLBlast's blocking, one work item per row), so
// numbers drift apart by float rounding; 50 steps of AdamW keep every loss within 1e-3 of the CPU's.
import DeviceTesting
import Foundation
import Checkpoints
import NanoGPT
import TensorCore
import TensorCoreOpenCL
import Testing
import TextData
import Training

@Suite("The OpenCL device against the CPU, whole models", .enabled(if: openCLBackend != nil, Comment(rawValue: openCLSkipped)))
struct DeviceAgreementTests {
    let device = openCLBackend!
    let config = GPTConfig(vocabularySize: 11, blockSize: 70, embeddingSize: 24, heads: 3, layers: 2, dropout: 0.1)

    /// The losses of `steps` training steps of a NanoGPT made from the same seed, with dropout and gradient
    /// clipping (dropout masks are Philox, so both draw the same ones), on `backend`.
    func losses(on backend: any Backend, steps: Int) throws -> [Float] {
        try Backends.using(backend) {
            let dataset = try TokenDataset(tokens: (0..<2_000).map { ($0 * 7 + $0 / 13) % 11 }, blockSize: 70)
            let settings = Hyperparameters(steps: steps, batchSize: 3, blockSize: 70, embeddingSize: 24, heads: 3, layers: 2,
                                           learningRate: 3e-3, warmupSteps: 5, weightDecay: 0.1, gradientClip: 1, dropout: 0.1,
                                           seed: 9, evalInterval: steps, evalIters: 1)
            let trainer = Trainer(model: NanoGPT(config, seed: 9), dataset: dataset, hyperparameters: settings)
            return (0..<steps).map { _ in trainer.trainStep() }
        }
    }

    @Test func fiftyTrainingStepsAgreeWithTheCPU() throws {
        let onCPU = try losses(on: CPUBackend.shared, steps: 50), onDevice = try losses(on: device, steps: 50)
        let worst = zip(onCPU, onDevice).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-3, "largest loss difference over 50 steps: \(worst)")
        #expect(onCPU.last! < onCPU.first! - 0.3)   // it learned something, on both
    }

    /// Greedy tokens (top-k 1) through the key/value cache, past the block size so the window slides.
    @Test func greedyGenerationWithTheCacheGivesTheCPUsTokens() {
        func tokens(on backend: any Backend) -> [Int] {
            Backends.using(backend) {
                let model = NanoGPT(config, seed: 5)
                return Array(model.generateStream(prompt: [1, 2, 3], maxNewTokens: 150, options: SamplingOptions(topK: 1),
                                                  random: SeededRandom(seed: 1)))
            }
        }
        let onCPU = tokens(on: CPUBackend.shared), onDevice = tokens(on: device)
        #expect(onDevice == onCPU)
        #expect(Set(onCPU).count > 1)
    }

    /// A checkpoint written from the device loads on the CPU with the same weights, and back.
    @Test func aCheckpointCrossesBetweenDevices() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("device-checkpoint-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenizer = Tokenizer.characters(CharacterTokenizer(training: "abcdefghij\n"))
        let small = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 8, embeddingSize: 8, heads: 2, layers: 1)
        let written = try Backends.using(device) { () throws -> [[Float]] in
            let model = NanoGPT(small, seed: 4)
            try Checkpoint.save(model, tokenizer: tokenizer, step: 7, to: folder)
            return model.namedParameters.map { $0.1.values }
        }
        let onCPU = try Backends.using(CPUBackend.shared) { try Checkpoint.load(from: folder) }
        #expect(onCPU.model.namedParameters.map { $0.1.values } == written)
        #expect(onCPU.model.namedParameters.allSatisfy { $0.1.storage.backend is CPUBackend })
        let backOnDevice = try Backends.using(device) { try Checkpoint.load(from: folder) }
        #expect(backOnDevice.model.namedParameters.map { $0.1.values } == written)
        #expect(backOnDevice.model.namedParameters.allSatisfy { $0.1.storage.backend is OpenCLBackend })
    }
}
