// Chapter 05: streaming generation. The model hands over each token the moment it is sampled; the
// caller decides what to do with it (print it, collect it, stop early).
import TensorCore
import Training

/// A lazy, pull-based sequence of sampled tokens: each `next()` runs the model once and samples one token.
/// Nothing is computed until someone iterates, and iteration can stop at any point. A class: the stream is
/// one pass over one context and one key/value cache, so copies of it must not diverge (it is its own
/// iterator, and a second loop over it goes on where the first stopped).
///
///     var printable = tokenizer.streamingDecoder()
///     for token in model.generateStream(prompt: ids, maxNewTokens: 500, random: random) {
///         print(printable.text(after: token), terminator: "")
///     }
public final class TokenStream: Sequence, IteratorProtocol {
    let model: NanoGPT
    var context: [Int]
    var remaining: Int
    let options: SamplingOptions
    let random: SeededRandom
    let mode: GenerationMode
    /// With the cache: the keys and values of the context so far.
    private var cache: KeyValueCache?

    init(model: NanoGPT, context: [Int], remaining: Int, options: SamplingOptions, random: SeededRandom, mode: GenerationMode) {
        self.model = model; self.context = context; self.remaining = remaining; self.options = options
        self.random = random; self.mode = mode
    }

    public func next() -> Int? {
        guard remaining > 0 else { return nil }
        return withoutGradients { nextToken() }
    }

    private func nextToken() -> Int {
        remaining -= 1
        let logits: [Float]
        switch mode {
        case .recompute:
            let window = Array(context.suffix(model.blockSize))                                       // at most T tokens
            logits = lastRow(of: model.logits(window, batchSize: 1, length: window.count, training: false))  // (1, T, V)
        case .keyValueCache:
            logits = logitsWithCache()                                                                // (V)
        }
        let token = sampleToken(logits: logits, options: options, random: random)
        context.append(token)
        return token
    }

    /// The logits after the whole context, from the cache: fill it with the context on first use, extend it
    /// by the newest token after that, and slide the window (refill from the last blockSize/2 tokens) when
    /// it is full. A fill is one forward pass over all its tokens.
    private func logitsWithCache() -> [Float] {
        let cache = self.cache ?? KeyValueCache(model.config)
        let tokens: [Int]
        if self.cache == nil || cache.isFull {
            cache.clear()
            tokens = Array(context.suffix(self.cache == nil ? model.blockSize : Swift.max(1, model.blockSize / 2)))
        } else {
            tokens = [context.last!]
        }
        self.cache = cache
        return lastRow(of: model.logits(tokens, batchSize: 1, length: tokens.count, training: false, cache: cache))
    }

    /// The last position's logits of (1, T, V): one host copy of V numbers.
    private func lastRow(of logits: Tensor) -> [Float] {
        let vocabulary = model.vocabularySize
        return logits.storage.toHost((logits.count - vocabulary)..<logits.count)
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
