// Generation with a key/value cache: each new token costs one position's worth of work instead of a
// whole forward pass over the context.
//
// In a causal model, the keys and values of earlier positions never change when a token is appended.
// So keep them: every layer's MultiHead stores the keys and values of the positions so far
// (Attention/MultiHead.swift, `AttentionCache`), and a forward pass given the cache computes only the new
// positions, whose queries attend to every stored key up to their own. It is the model's own forward
// pass (`NanoGPT.logits(..., cache:)`), so there is one implementation of attention; within the block
// size it gives the same logits as recomputing everything (a test checks that the sampled tokens match).
//
// Position embeddings stop at the block size. When the cache is full, the window slides: the cache is
// refilled from the last blockSize/2 tokens (their positions restart at 0) in one batched forward pass,
// and generation goes on. Full recomputation slides by one token instead; `GenerationMode.recompute`
// keeps that exact method.
import Attention
import TensorCore

/// How `generateStream` computes each new token's logits.
public enum GenerationMode: Sendable {
    /// Run the whole context (the last blockSize tokens) through the model for every token: the original method.
    case recompute
    /// Keep every layer's keys and values and compute only the new positions.
    case keyValueCache
}

/// Per layer, the keys and values of the positions processed so far: (B * nh, blockSize, hs) each.
public final class KeyValueCache {
    public let layers: [AttentionCache]
    public let capacity: Int

    public init(_ config: GPTConfig, batchSize: Int = 1) {
        capacity = config.blockSize
        layers = (0..<config.layerCount).map { _ in
            AttentionCache(heads: batchSize * config.headCount, capacity: config.blockSize,
                           headSize: config.embeddingSize / config.headCount)
        }
    }

    /// Positions cached so far (the next token's position).
    public var count: Int { layers.first?.count ?? 0 }
    public var isFull: Bool { count == capacity }
    public func clear() { layers.forEach { $0.clear() } }
}
