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
/// nucleus: the weights, then one draw from them.
public func sampleToken(logits: [Float], options: SamplingOptions, random: SeededRandom) -> Int {
    let (weights, total) = samplingWeights(logits, options: options)    // e^(logit / temperature), or 0 where cut
    return drawIndex(weights, total: total, random: random)
}

/// Inverse-CDF sampling with one uniform draw: a number in [0, total) picks the index whose slice of the
/// running sum of `weights` it falls in, so index i comes out with probability weights[i] / total.
public func drawIndex(_ weights: [Double], total: Double, random: SeededRandom) -> Int {
    let target = Double(random.uniform()) * total
    var running = 0.0
    for (i, weight) in weights.enumerated() where weight > 0 {
        running += weight
        if running > target { return i }
    }
    return weights.lastIndex { $0 > 0 } ?? 0
}

/// softmax(logits / temperature) before its division by the total: e^((logit - max) / temperature) for
/// each token, 0 for the tokens outside the top k (chapter 05's `--top-k`) and outside the top-p nucleus
/// (`nanogpt generate --top-p`), and the weights' total. Ties at a cut are all kept, so the result does not
/// depend on sort stability.
public func samplingWeights(_ logits: [Float], options: SamplingOptions) -> (weights: [Double], total: Double) {
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
    return (weights, total)
}

/// gpt.py's generation loop as a sequence: each `next()` asks for the logits of the token after the
/// context, samples one token from them and appends it. Nothing runs until someone iterates, iteration can
/// stop at any point, and the caller decides what to do with each token (collect it, print it). A class, so
/// that every copy advances the same context.
public final class TokenStream: Sequence, IteratorProtocol {
    /// The prompt and every token sampled so far.
    public private(set) var context: [Int]
    var remaining: Int
    let options: SamplingOptions
    let random: SeededRandom
    /// The logits (V) of the token that follows a context.
    let logitsAfter: ([Int]) -> [Float]

    /// An empty prompt starts from token 0.
    public init(prompt: [Int], maxNewTokens: Int, options: SamplingOptions, random: SeededRandom,
                logitsAfter: @escaping ([Int]) -> [Float]) {
        context = prompt.isEmpty ? [0] : prompt
        remaining = maxNewTokens
        self.options = options; self.random = random; self.logitsAfter = logitsAfter
    }

    public func next() -> Int? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let token = withoutGradients { sampleToken(logits: logitsAfter(context), options: options, random: random) }
        context.append(token)
        return token
    }
}

extension LanguageModel {
    /// The logits of the token after `context`, the simplest way: the context, cropped to the last
    /// blockSize tokens (the positions the model has), through the whole model; the last position's row.
    public func logitsAfter(_ context: [Int]) -> [Float] {
        let window = Array(context.suffix(blockSize))                                     // at most T tokens
        let logits = logits(window, batchSize: 1, length: window.count, training: false)  // (1, T, V)
        return logits.storage.toHost((logits.count - vocabularySize)..<logits.count)      // the last row: V numbers
    }

    /// Samples `maxNewTokens` tokens after `prompt`, one per iteration, recomputing the whole (cropped)
    /// context for each.
    public func generateStream(prompt: [Int], maxNewTokens: Int, options: SamplingOptions = SamplingOptions(),
                               random: SeededRandom) -> TokenStream {
        TokenStream(prompt: prompt, maxNewTokens: maxNewTokens, options: options, random: random, logitsAfter: logitsAfter)
    }

    /// gpt.py's generate(), for every model: prompt + `maxNewTokens` new tokens, each sampled after the whole
    /// (cropped) context, returned together at the end. `onToken` sees each token as it is chosen.
    public func generate(prompt: [Int], maxNewTokens: Int, options: SamplingOptions = SamplingOptions(),
                         random: SeededRandom, onToken: (Int) -> Void = { _ in }) -> [Int] {
        let stream = TokenStream(prompt: prompt, maxNewTokens: maxNewTokens, options: options, random: random,
                                 logitsAfter: { self.logitsAfter($0) })   // the whole context, every token
        for token in stream { onToken(token) }
        return stream.context
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
