// Choosing the next token from the model's logits, and the plain generation loop.
import Foundation
import TensorCore

public struct SamplingOptions: Sendable, Codable {
    /// Divides the logits before the softmax: below 1 sharpens (more predictable), above 1 flattens.
    public var temperature: Float = 1
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int? = nil
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probabilities add up to at
    /// least p (nil or 1: all).
    public var topP: Float? = nil
    public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil) {
        self.temperature = temperature; self.topK = topK; self.topP = topP
    }
}

/// Draws one token id from softmax(logits / temperature), restricted to the top k and to the top-p
/// nucleus. Ties at a cut are all kept, so the result does not depend on sort stability.
public func sampleToken(logits: [Float], options: SamplingOptions, random: SeededRandom) -> Int {
    precondition(options.temperature > 0, "temperature must be positive")
    var cutoff = -Float.infinity
    if let k = options.topK, k < logits.count, k > 0 { cutoff = logits.sorted(by: >)[k - 1] }
    let maximum = logits.max() ?? 0
    var weights = [Double](repeating: 0, count: logits.count)
    var total = 0.0
    for (i, logit) in logits.enumerated() where logit >= cutoff {
        weights[i] = exp(Double((logit - maximum) / options.temperature))
        total += weights[i]
    }
    if let p = options.topP, p < 1 {
        // Walk down from the most likely token until the kept mass reaches p; drop everything less likely.
        let order = weights.indices.sorted { weights[$0] > weights[$1] }
        var kept = 0.0, floor = 0.0
        for index in order where weights[index] > 0 {
            kept += weights[index]
            floor = weights[index]
            if kept >= Double(p) * total { break }
        }
        for i in weights.indices where weights[i] < floor { total -= weights[i]; weights[i] = 0 }
    }
    // Inverse-CDF sampling with one uniform draw.
    let target = Double(random.uniform()) * total
    var running = 0.0
    for (i, weight) in weights.enumerated() where weight > 0 {
        running += weight
        if running > target { return i }
    }
    return weights.lastIndex { $0 > 0 } ?? 0
}

extension LanguageModel {
    /// Autoregressive sampling, the simplest way: run the whole (cropped) context through the model for
    /// every new token and sample from the last position's logits. Returns prompt + new tokens.
    /// `onToken` sees each token as soon as it is chosen. No gradients are recorded.
    public func generate(prompt: [Int], maxNewTokens: Int, options: SamplingOptions = SamplingOptions(),
                         random: SeededRandom, onToken: (Int) -> Void = { _ in }) -> [Int] {
        var tokens = prompt.isEmpty ? [0] : prompt
        for _ in 0..<maxNewTokens { withoutGradients {
            let context = Array(tokens.suffix(blockSize))
            let logits = logits(context, batchSize: 1, length: context.count, training: false)   // (1, T, V)
            let last = logits.storage.toHost((context.count - 1) * vocabularySize ..< context.count * vocabularySize)
            let next = sampleToken(logits: last, options: options, random: random)
            tokens.append(next)
            onToken(next)
        } }
        return tokens
    }
}

/// Runs `body`, which produces `count` tokens, and returns what it returned with its speed in tokens per
/// second (the figure every chapter's summary.json records).
public func measureTokensPerSecond<Result>(count: Int, _ body: () -> Result) -> (result: Result, tokensPerSecond: Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = body()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    return (result, Double(count) / max(seconds, 1e-9))
}
