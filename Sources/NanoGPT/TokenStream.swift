// Chapter 05: streaming generation. The model hands over each token the moment it is sampled; the
// caller decides what to do with it (print it, collect it, stop early).
import TensorCore
import Training

/// A lazy, pull-based sequence of sampled tokens: each `next()` runs the model once and samples one token.
/// Nothing is computed until someone iterates, and iteration can stop at any point.
///
///     var printable = tokenizer.streamingDecoder()
///     for token in model.generateStream(prompt: ids, maxNewTokens: 500, random: random) {
///         print(printable.text(after: token), terminator: "")
///     }
public struct TokenStream: Sequence, IteratorProtocol {
    let model: NanoGPT
    var context: [Int]
    var remaining: Int
    let options: SamplingOptions
    let random: SeededRandom
    let mode: GenerationMode
    /// With the cache: the logits that follow the last token of `context`, once computed.
    private var cache: KeyValueCache?
    private var pendingLogits: Tensor?

    init(model: NanoGPT, context: [Int], remaining: Int, options: SamplingOptions, random: SeededRandom, mode: GenerationMode) {
        self.model = model; self.context = context; self.remaining = remaining; self.options = options
        self.random = random; self.mode = mode
    }

    public mutating func next() -> Int? {
        guard remaining > 0 else { return nil }
        return withoutGradients { nextToken() }
    }

    private mutating func nextToken() -> Int {
        remaining -= 1
        let vocabulary = model.vocabularySize
        let logits: UnsafeBufferPointer<Float>
        switch mode {
        case .recompute:
            let window = Array(context.suffix(model.blockSize))                                       // at most T tokens
            let all = model.logits(window, batchSize: 1, length: window.count, training: false)      // (1, T, V)
            logits = UnsafeBufferPointer(start: all.storage.pointer + (window.count - 1) * vocabulary, count: vocabulary)
        case .keyValueCache:
            let next = logitsWithCache()                                                              // (1, V)
            logits = UnsafeBufferPointer(start: next.storage.pointer, count: vocabulary)
        }
        let token = sampleToken(logits: logits, options: options, random: random)
        context.append(token)
        return token
    }

    /// The logits after the whole context, from the cache: fill it on first use, extend it by the newest
    /// token after that, and slide the window (refill from the last blockSize/2 tokens) when it is full.
    private mutating func logitsWithCache() -> Tensor {
        let cache = self.cache ?? KeyValueCache(model.config)
        var logits: Tensor? = nil
        if self.cache == nil || cache.isFull {
            cache.clear()
            let refill = self.cache == nil ? model.blockSize : Swift.max(1, model.blockSize / 2)
            for token in context.suffix(refill) { logits = model.nextLogits(after: token, cache: cache) }
        } else {
            logits = model.nextLogits(after: context.last!, cache: cache)
        }
        self.cache = cache
        return logits!
    }
}

extension NanoGPT {
    /// Samples `maxNewTokens` tokens after `prompt`, one per iteration of the returned sequence.
    /// With `.recompute` it yields exactly the new tokens that `generate` returns for the same seed; the
    /// key/value cache (the default, many times faster) gives the same tokens while the text fits in the
    /// block size, and slides its window differently after that (see KeyValueCache.swift).
    public func generateStream(prompt: [Int], maxNewTokens: Int, options: SamplingOptions = SamplingOptions(),
                               random: SeededRandom, mode: GenerationMode = .keyValueCache) -> TokenStream {
        TokenStream(model: self, context: prompt.isEmpty ? [0] : prompt, remaining: maxNewTokens, options: options,
                    random: random, mode: mode)
    }
}
