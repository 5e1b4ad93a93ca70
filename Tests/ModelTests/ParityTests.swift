// Parity with PyTorch, the way llm.c checks itself: golden values written by the PyTorch reference
// (Tests/Reference/nanogpt_reference.py) for a tiny NanoGPT, checked here without PyTorch.
// Tolerances: logits max |difference| <= 1e-4; loss <= 1e-5; each gradient max |difference| <= 1e-3 of that
// gradient's largest magnitude; the 10 AdamW losses <= 1e-4, and every weight after them <= 1e-4.
// Two fixture sets: T = 8, and T = 150 ("long-"), long enough that the causal products run in row blocks.
import Checkpoints
import DeviceTesting
import FileFormats
import Foundation
@testable import NanoGPT
import TensorCore
import Testing

@Suite("Parity with the PyTorch reference", .onEveryDevice)
struct ParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func load(_ name: String) throws -> (tensors: [String: SafeTensors.Entry], metadata: [String: String]) {
        try SafeTensors.decode(Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    /// The fixture sets: "" (T = 8) and "long-" (T = 150, three causal row blocks of up to 64).
    static let sets = ["", "long-"]

    func model(_ set: String) throws -> NanoGPT {
        let (weights, metadata) = try load(set + "weights.safetensors")
        let config = try JSONDecoder().decode(GPTConfig.self, from: Data(metadata["config"]!.utf8))
        let model = NanoGPT(config, seed: 0)
        try Checkpoint.loadWeights(weights, into: model)
        return model
    }

    func ids(_ entry: SafeTensors.Entry) -> [Int] { entry.values.map { Int($0) } }

    @Test(arguments: sets)
    func logitsLossAndGradientsMatchPyTorch(set: String) throws {
        let model = try model(set)
        let expected = try load(set + "expected.safetensors").tensors
        let (batch, time) = (expected["idx"]!.shape[0], expected["idx"]!.shape[1])
        let logits = model.logits(ids(expected["idx"]!), batchSize: batch, length: time, training: false)
        let logitsDifference = largestDifference(logits.values, expected["logits"]!.values)
        print("logits: max |difference| = \(logitsDifference)")
        #expect(logitsDifference <= 1e-4)

        let loss = crossEntropy(logits, targets: ids(expected["targets"]!))
        print("loss: \(loss.scalar) vs PyTorch \(expected["loss"]!.values[0])")
        #expect(abs(loss.scalar - expected["loss"]!.values[0]) <= 1e-5)

        loss.backward()
        for (name, parameter) in model.stateDictionary {
            let reference = try #require(expected["grad." + name], "no PyTorch gradient for \(name)")
            let scale = max(reference.values.map(abs).max() ?? 0, 1e-6)
            let relative = largestDifference(parameter.gradValues!, reference.values) / scale
            print("grad \(name): max |difference| / max |grad| = \(relative)")
            #expect(relative <= 1e-3, "\(name)")
        }
    }

    @Test func theLongFixtureReachesTheCausalRowBlocks() throws {
        let time = try load("long-expected.safetensors").tensors["idx"]!.shape[1]
        #expect(causalRowBlocks(time).count >= 3, "T = \(time) gives blocks \(causalRowBlocks(time))")
        #expect(causalRowBlocks(try load("expected.safetensors").tensors["idx"]!.shape[1]).count == 1)
    }

    @Test(arguments: sets)
    func tenAdamWStepsMatchPyTorch(set: String) throws {
        let model = try model(set)
        let expected = try load(set + "expected.safetensors").tensors
        let parameters = model.parameterArena!   // the model's own arena, as a Trainer adopts it
        let optimizer = AdamW(for: parameters, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let inputs = ids(expected["train.idx"]!), targets = ids(expected["train.targets"]!)
        let shape = expected["train.idx"]!.shape   // (steps, B, T)
        let size = shape[1] * shape[2]
        for step in 0..<shape[0] {
            parameters.zeroGrad()
            let loss = crossEntropy(model.logits(Array(inputs[(step * size)..<((step + 1) * size)]), batchSize: shape[1],
                                                 length: shape[2], training: false),
                                    targets: Array(targets[(step * size)..<((step + 1) * size)]))
            loss.backward()
            optimizer.update(parameters, learningRate: 1e-2)
            let reference = expected["train.losses"]!.values[step]
            print("AdamW step \(step): loss \(loss.scalar) vs PyTorch \(reference)")
            #expect(abs(loss.scalar - reference) <= 1e-4, "step \(step)")
        }
        // Not only the losses: every weight after the ten steps.
        for (name, parameter) in model.stateDictionary {
            let reference = try #require(expected["trained." + name], "no trained PyTorch weight for \(name)")
            let difference = largestDifference(parameter.values, reference.values)
            print("trained \(name): max |difference| = \(difference)")
            #expect(difference <= 1e-4, "\(name)")
        }
    }
}
