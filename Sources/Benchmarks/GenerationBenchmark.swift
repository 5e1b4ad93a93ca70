// bench: generation at batch 1, with recomputation and with the key/value cache, and its ceiling.
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

extension Bench {
    /// Returns tokens/s (recompute, key/value cache) of each config.
    ///
    /// Recomputation: 500 new tokens after a 1-token prompt. The cache: 4,000 new tokens, so the window
    /// slides many times (a refill of blockSize/2 tokens every blockSize/2 tokens), as in a long stream.
    /// Then the wait for the first token after a full prompt (blockSize tokens, 256 at M): one batched pass.
    func generation() -> [String: (Double, Double)] {
        var results: [String: (Double, Double)] = [:]
        print("\nGeneration at batch 1 (weights at initialization): recompute 500 new tokens after a 1-token prompt;")
        print("the key/value cache streams 4,000 through the Tensor ops (the window slides every blockSize/2 tokens;")
        print("`bench --int8` times the decode path, what generation uses by default); first token after a")
        print("blockSize-token prompt (median of 5)")
        print("and the ceiling: every weight matrix of the model through one matrix-vector product per token (sgemv),")
        print("which batch-1 generation cannot beat: it reads all the weights for every token")
        print("config   recompute tok/s   key/value cache tok/s   first token after the prompt   sgemv ceiling tok/s")
        for name in configs.split(separator: ",").map(String.init) {
            guard let (config, _) = Self.trainingConfigs[name] else { continue }
            let model = NanoGPT(config, seed: 1)
            let rates = [(GenerationMode.recompute, 500), (.keyValueCache, 4_000)].map { mode, count -> Double in
                _ = Array(model.generateStream(prompt: [0], maxNewTokens: 20, random: SeededRandom(seed: 1), mode: mode))
                let time = seconds { _ = Array(model.generateStream(prompt: [0], maxNewTokens: count, random: SeededRandom(seed: 2), mode: mode)) }
                return Double(count) / time
            }
            let prompt = (0..<config.blockSize).map { $0 % config.vocabularySize }
            let firstToken = median((0..<5).map { _ in
                seconds { _ = Array(model.generateStream(prompt: prompt, maxNewTokens: 1, random: SeededRandom(seed: 3))) }
            })
            let ceiling = 1 / weightReadingTime(model)
            print(String(format: "%-6@ %17.0f %23.0f %17.1f ms (%d tokens) %15.0f", name, rates[0], rates[1], firstToken * 1e3,
                         config.blockSize, ceiling))
            results[name] = (rates[0], rates[1])
        }
        return results
    }

    /// Seconds to multiply one vector by every weight matrix of `model` (median of 21 sweeps): the memory
    /// traffic of one generated token, without anything else.
    func weightReadingTime(_ model: NanoGPT) -> Double {
        let matrices = model.namedParameters.filter { $0.1.shape.count == 2 && !$0.0.contains("embedding_table") }.map(\.1)   // looked up, not multiplied
        let inputs = matrices.map { Storage.zeros(count: $0.shape[1]) }, outputs = matrices.map { Storage(count: $0.shape[0]) }
        func sweep() {
            for ((weight, x), y) in zip(zip(matrices, inputs), outputs) {
                weight.backend.gemm(transposeB: true, m: 1, n: weight.shape[0], k: weight.shape[1], a: MatrixOperand(x),
                                    b: MatrixOperand(weight.storage), beta: 0, c: MatrixOperand(y))
            }
            waitFor(outputs.last!)
        }
        for _ in 0..<5 { sweep() }
        return median((0..<21).map { _ in seconds(sweep) })
    }
}
