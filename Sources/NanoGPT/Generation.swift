// Chapter 05: streaming generation with a key/value cache. The sampling loop is chapter 01's TokenStream
// (Training/Sampling.swift); NanoGPT only supplies a faster way to get the logits after the context.
import Attention
import TensorCore
import Training

/// How `generateStream` computes each new token's logits.
public enum GenerationMode: Sendable {
    /// Run the whole context (the last blockSize tokens) through the model for every token: gpt.py's method.
    case recompute
    /// Keep every layer's keys and values and compute only the new position, through the model's Tensor
    /// ops (`logits(_:batchSize:length:cache:)`), one op at a time.
    case keyValueCache
    /// The same cache, and each new token through `decode`: the same kernels on buffers made once, with no
    /// Tensor per op. Prompts and refills stay one batched pass through the Tensor ops. The default.
    case decode
}

extension KeyValueCache {
    /// An empty cache for a model of this shape: blockSize positions, B × nh rows per layer.
    public convenience init(_ config: GPTConfig, batchSize: Int = 1) {
        self.init(layers: config.layers, rows: batchSize * config.heads, capacity: config.blockSize,
                  headSize: config.embeddingSize / config.heads)
    }
}

extension NanoGPT {
    /// Samples `maxNewTokens` tokens after `prompt`, one per iteration of the returned sequence. Every mode
    /// gives the same tokens for the same seed while the text fits in the block size; past it they slide
    /// differently: `.recompute` moves its window on by one token every token, the cache refills from the
    /// last half block whenever it is full (`logitsAfter(_:cache:)`). `.keyValueCache` and `.decode` give
    /// the same tokens throughout: the same cache and the same numbers, the second without a Tensor per op
    /// (with int8 weights, see `decode`).
    public func generateStream(prompt: [Int], maxNewTokens: Int, options: SamplingOptions = SamplingOptions(),
                               random: SeededRandom, mode: GenerationMode = .decode) -> TokenStream {
        let nextLogits: ([Int]) -> [Float]   // the logits of the token after a context
        switch mode {
        case .recompute:
            nextLogits = { self.logitsAfter($0) }                  // the whole context, every token
        case .keyValueCache:
            let cache = KeyValueCache(config)
            nextLogits = { self.logitsAfter($0, cache: cache) }    // the newest token, through the cache
        case .decode:
            nextLogits = decodingLogitsAfter()                     // the same cache, without a Tensor per op (chapter 08)
        }
        return TokenStream(prompt: prompt, maxNewTokens: maxNewTokens, options: options, random: random, logitsAfter: nextLogits)
    }

    /// `.decode`'s logits after the context, with a cache of its own: the newest token alone through
    /// `decode` (chapter 08); the prompt and every refill through `logitsAfter(_:cache:)`, as `.keyValueCache`.
    func decodingLogitsAfter() -> ([Int]) -> [Float] {
        let cache = KeyValueCache(config), buffers = DecodeBuffers(config)
        return { context in
            if cache.count > 0 && !cache.isFull { return self.decode(context.last!, cache: cache, buffers: buffers).toHost() }
            return self.logitsAfter(context, cache: cache)
        }
    }

    /// ids (B, T) -> logits (B, T, V) for the T positions that follow the cached ones: they take the next T
    /// positions, and every layer stores their keys and values. Generation only, so no dropout.
    public func logits(_ ids: [Int], batchSize: Int, length: Int, cache: KeyValueCache) -> Tensor {
        let first = cache.count
        precondition(first + length <= config.blockSize, "context of \(first + length) tokens exceeds the block size \(config.blockSize)")
        var x = embedding(ids, batchSize: batchSize, length: length, firstPosition: first)   // (B, T, C)
        for (layer, block) in blocks.enumerated() {
            x = block(x, cache: cache, layer: layer)                                       // (B, T, C)
        }
        cache.advance(by: length)                                                          // every layer stored T positions
        return languageModelHead(finalNorm(x))                                             // (B, T, V)
    }

    /// The logits of the token after `context`, through the cache. The first call fills it with the context
    /// (cropped to the block) in one forward pass; each later call runs only the newest token. Position
    /// embeddings stop at the block size, so a full cache cannot take another position: it is cleared and
    /// refilled from the last blockSize/2 tokens (their positions restart at 0; why half a block: chapter 05,
    /// section 4).
    public func logitsAfter(_ context: [Int], cache: KeyValueCache) -> [Float] {
        let tokens: [Int]
        if cache.count == 0 {
            tokens = Array(context.suffix(blockSize))                     // first call: the whole (cropped) context
        } else if cache.isFull {
            cache.clear()
            tokens = Array(context.suffix(Swift.max(1, blockSize / 2)))   // slide: refill from the last T/2 tokens
        } else {
            tokens = [context.last!]                                      // the newest token only
        }
        let logits = logits(tokens, batchSize: 1, length: tokens.count, cache: cache)   // (1, n, V)
        return logits.storage.toHost((logits.count - vocabularySize)..<logits.count)                    // the last row
    }
}
