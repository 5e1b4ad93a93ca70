// bench --int8: streaming generation at batch 1 with float32 and with int8 weights, interleaved.
import Attention
import Foundation
import NanoGPT
import Quantization
import TensorCore
import Training

extension Bench {
    /// For each config: 4,000 streamed tokens through the key/value cache, float32 through the Tensor ops
    /// (`.keyValueCache`) and through the decode path (`.decode`, buffers made once), then int8 weights
    /// through the decode path: with int8 activations, each product's rows shared by two threads (the
    /// default) and on one thread, and with float32 activations; in `compareRounds` rounds (each round runs
    /// the five once, in turn), medians reported. Beside them the ceilings (every multiplying matrix once per
    /// token: through sgemv in float32, through the int8 kernel as the row runs it) and the first token
    /// after a full prompt.
    func int8Streaming() {
        let tokens = 4_000
        print("Streaming at batch 1 (weights at initialization): \(tokens) tokens through the key/value cache, float32 against")
        print("int8 weights (Q8_0 blocks of 32; kernel path: \(Int8Kernels.current)), \(compareRounds) interleaved rounds, medians;")
        print("ceilings: every multiplying matrix once per token, through sgemv (float32) or the int8 kernel")
        print("config  weights             MB read/token   tokens/s   ceiling tokens/s   first token after the prompt")
        for name in configs.split(separator: ",").map(String.init) {
            guard let (config, _) = Self.trainingConfigs[name] else { continue }
            let model = NanoGPT(config, seed: 1)
            let int8 = NanoGPT(config, seed: 1)
            int8.useInt8Weights()
            typealias Variant = (label: String, model: NanoGPT, mode: GenerationMode, activations: Int8Matrix.Activations,
                                 shared: Bool)
            let variants: [Variant] = [("float32, Tensor ops", model, .keyValueCache, .int8, true), ("float32", model, .decode, .int8, true),
                                       ("int8", int8, .decode, .int8, true), ("int8, one thread", int8, .decode, .int8, false),
                                       ("int8, f32 x", int8, .decode, .float32, true)]
            func use(_ variant: Variant) {
                Int8Matrix.activations = variant.activations
                Int8Matrix.sharesRows = variant.shared
            }
            func stream(_ variant: Variant, _ count: Int) -> Double {
                use(variant)
                return seconds {
                    _ = Array(variant.model.generateStream(prompt: [0], maxNewTokens: count, random: SeededRandom(seed: 2), mode: variant.mode))
                }
            }
            for variant in variants { _ = stream(variant, 50) }   // warm-up
            var times = [[Double]](repeating: [], count: variants.count)
            var forwards = times, refills = times   // each round, right after its stream: where a token's time goes
            for _ in 0..<compareRounds {
                for (index, variant) in variants.enumerated() {
                    times[index].append(stream(variant, tokens))
                    use(variant)
                    let (forward, refill) = oneTokenAndRefillSeconds(variant.model, tensorOps: variant.mode == .keyValueCache)
                    forwards[index].append(forward); refills[index].append(refill)
                }
            }
            let prompt = (0..<config.blockSize).map { $0 % config.vocabularySize }
            let float32Ceiling = 1 / weightReadingTime(model)
            let ceilings = [float32Ceiling, float32Ceiling, 1 / int8ReadingTime(int8, activations: .int8, shared: true),
                            1 / int8ReadingTime(int8, activations: .int8, shared: false),
                            1 / int8ReadingTime(int8, activations: .float32, shared: true)]
            for (index, variant) in variants.enumerated() {
                use(variant)
                let first = median((0..<5).map { _ in
                    seconds {
                        _ = Array(variant.model.generateStream(prompt: prompt, maxNewTokens: 1, random: SeededRandom(seed: 3), mode: variant.mode))
                    }
                })
                let bytes = Double(variant.model.weightBytesPerToken(int8: variant.model === int8)) / 1e6
                print(String(format: "%@  %@ %9.2f %12.0f %16.0f %17.1f ms (%d tokens)", pad(name, 6), pad(variant.label, 19), bytes,
                             Double(tokens) / median(times[index]), ceilings[index], first * 1e3, config.blockSize))
            }
            // Where a streamed token's time goes, per form: the forward of one new token alone (positions T/2 ..< T,
            // the steady state's mix of cache lengths), and the window refill (one batched pass of T/2 tokens,
            // every T/2 + 1 tokens), shared out per token; the rest is sampling and the stream's bookkeeping.
            print(String(format: "%@  per token, µs: one-token forward + refill share (a %d-token pass every %d tokens) + sampling and the rest",
                         name, config.blockSize / 2, config.blockSize / 2 + 1))
            for (index, variant) in variants.enumerated() {
                let forward = median(forwards[index]), refill = median(refills[index])
                let total = median(times[index]) / Double(tokens), refillShare = refill / Double(config.blockSize / 2 + 1)
                print(String(format: "%@  %@ %8.1f = %6.1f + %6.1f + %6.1f", name, pad(variant.label, 19), total * 1e6, forward * 1e6,
                             refillShare * 1e6, (total - forward - refillShare) * 1e6))
            }
            for (label, faster, slower) in [("float32 decode ÷ float32 Tensor ops", 1, 0), ("int8 ÷ float32 Tensor ops", 2, 0),
                                             ("int8 ÷ float32 decode", 2, 1), ("int8 ÷ int8 on one thread", 2, 3)] {
                let ratios = zip(times[slower], times[faster]).map { $0 / $1 }
                print(String(format: "%@  %@ per round: %@ (median %.2fx)", pad(name, 6), label,
                             ratios.map { String(format: "%.2f", $0) }.joined(separator: " "), median(ratios)))
            }
            if comparePytorch { compareStreamingWithPyTorch(name, ours: [Double(tokens) / median(times[1]), Double(tokens) / median(times[2])]) }
        }
        Int8Matrix.activations = .int8
        Int8Matrix.sharesRows = true
    }

    /// The PyTorch reference streaming through its key/value cache, float32 and with quantize_dynamic's int8
    /// Linear layers, `compareRounds` rounds of one process each (tokens/s as the process timed it, after 20
    /// tokens of warm-up), against our medians measured just before.
    func compareStreamingWithPyTorch(_ name: String, ours: [Double]) {
        let tokens = name == "M" ? 1_000 : 2_000
        for (index, weights) in ["float32", "int8"].enumerated() {
            var rates: [Double] = []
            for _ in 0..<compareRounds {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["python3", "Tests/Reference/nanogpt_reference.py", "--stream", name, "--tokens", String(tokens),
                                     "--weights", weights, "--threads", String(BLAS.threadCount)]
                let output = Pipe()
                process.standardOutput = output
                guard (try? process.run()) != nil else { print("  cannot run python3"); return }
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                    if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                       let rate = object["tokens_per_second"] as? Double { rates.append(rate) }
                }
            }
            guard !rates.isEmpty else { print("  \(name): the PyTorch run failed (is torch installed?)"); return }
            print(String(format: "%-6@  PyTorch %@ (key/value cache, %d tokens, %d rounds): %.0f tokens/s (median); ours %.0f: %.1fx",
                         name, weights == "int8" ? "int8 (quantize_dynamic)" : "float32", tokens, rates.count, median(rates),
                         ours[index], ours[index] / median(rates)))
        }
    }

    /// Seconds for one new token's forward through the cache at positions T/2 ..< T (per token, the mean of
    /// one sweep), through `decode` or through the Tensor ops; and for the batched pass of T/2 tokens that
    /// refills the window.
    func oneTokenAndRefillSeconds(_ model: NanoGPT, tensorOps: Bool) -> (forward: Double, refill: Double) {
        let config = model.config, half = config.blockSize / 2
        let cache = KeyValueCache(config), buffers = NanoGPT.DecodeBuffers(config)
        let window = (0..<half).map { $0 % config.vocabularySize }
        func refill() { cache.clear(); _ = model.logits(window, batchSize: 1, length: half, cache: cache) }
        return withoutGradients {
            let refillTime = seconds(refill)
            let forwardTime = seconds {
                for position in half..<config.blockSize {
                    let token = position % config.vocabularySize
                    if tensorOps { _ = model.logits([token], batchSize: 1, length: 1, cache: cache).storage.toHost() }
                    else { _ = model.decode(token, cache: cache, buffers: buffers).toHost() }
                }
            }
            return (forwardTime / Double(config.blockSize - half), refillTime)
        }
    }

    /// Seconds to multiply one vector by every int8 matrix of `model` (median of 21 sweeps), on one thread
    /// or, `shared`, with the cores lent as the decode path lends them.
    func int8ReadingTime(_ model: NanoGPT, activations: Int8Matrix.Activations, shared: Bool) -> Double {
        Int8Matrix.activations = activations
        Int8Matrix.sharesRows = shared
        defer { Int8Matrix.sharesRows = true }
        let matrices = model.multiplyingMatrices.map { Int8Matrix(quantizing: $0.weight) }
        let inputs = matrices.map { Tensor.zeros([1, $0.columns]) }
        func sweep() { for (matrix, x) in zip(matrices, inputs) { _ = withoutGradients { matrix.product(x, bias: nil) } } }
        for _ in 0..<5 { sweep() }
        return BLAS.lendingCores(if: shared) { median((0..<21).map { _ in seconds(sweep) }) }
    }
}

/// `text` followed by spaces up to `width` characters (String(format:)'s %-20@ does not pad).
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
