// Generation with a key/value cache: each new token costs one position's worth of work instead of a
// whole forward pass over the context.
//
// In a causal model, the keys and values of earlier positions never change when a token is appended.
// So keep them: every layer stores, per head, the keys and values of the positions so far, and a new token
// only computes its own query, key and value and attends over the stored ones. Within the block size
// this gives the same logits as recomputing everything (a test checks that the sampled tokens match).
//
// Position embeddings stop at the block size. When the cache is full, the window slides: the cache is
// refilled from the last blockSize/2 tokens (their positions restart at 0), and generation goes on.
// Full recomputation slides by one token instead; `GenerationMode.recompute` keeps that exact method.
import TensorCore
import Transformer

/// How `generateStream` computes each new token's logits.
public enum GenerationMode: Sendable {
    /// Run the whole context (the last blockSize tokens) through the model for every token: the original method.
    case recompute
    /// Keep every layer's keys and values and compute only the new position.
    case keyValueCache
}

/// Per layer and head, the keys and values of the positions processed so far: (nh, blockSize, hs) each.
final class KeyValueCache {
    let keys: [Storage], values: [Storage]
    let headCount: Int, headSize: Int, capacity: Int
    private(set) var count = 0

    init(_ config: GPTConfig) {
        headCount = config.headCount
        headSize = config.embeddingSize / config.headCount
        capacity = config.blockSize
        keys = (0..<config.layerCount).map { _ in Storage(count: config.embeddingSize * config.blockSize) }
        values = (0..<config.layerCount).map { _ in Storage(count: config.embeddingSize * config.blockSize) }
    }

    var isFull: Bool { count == capacity }
    func clear() { count = 0 }
    func advance() { count += 1 }

    /// Stores one position's keys and values, (1, C) each, as the entry at `count` for every head.
    func store(keys newKeys: Tensor, values newValues: Tensor, layer: Int) {
        for head in 0..<headCount {
            let offset = (head * capacity + count) * headSize
            Kernels.copyColumns(from: newKeys.storage, sourceWidth: headCount * headSize, sourceOffset: head * headSize,
                                to: Storage(viewing: keys[layer], offset: offset, count: headSize),
                                destinationWidth: headSize, destinationOffset: 0, width: headSize, rows: 1, accumulate: false)
            Kernels.copyColumns(from: newValues.storage, sourceWidth: headCount * headSize, sourceOffset: head * headSize,
                                to: Storage(viewing: values[layer], offset: offset, count: headSize),
                                destinationWidth: headSize, destinationOffset: 0, width: headSize, rows: 1, accumulate: false)
        }
    }

    /// Every head's attention for this position's queries (1, C), over the stored positions 0...count (this
    /// one included, so call it after `store`): for head h, softmax(K_h q_h / sqrt(hs)) V_h, heads side by
    /// side in the (1, C) result. The same products and softmax that Head computes, but one op for all heads
    /// instead of five per head: generation needs no gradients, and at one token the ops' bookkeeping costs
    /// as much as their arithmetic.
    func attend(queries: Tensor, layer: Int) -> Tensor {
        let positions = count + 1
        let out = Tensor.zeros([1, headCount * headSize])
        let scores = Storage(count: positions)
        for head in 0..<headCount {
            let stored = head * capacity * headSize
            BLAS.gemm(transposeB: true, m: 1, n: positions, k: headSize, a: queries.storage.pointer + head * headSize,
                      b: keys[layer].pointer + stored, beta: 0, c: scores.pointer)                   // (1, t+1)
            Kernels.softmax(scores, out: scores, rows: 1, columns: positions, causal: false,
                            scale: 1 / Float(headSize).squareRoot())
            BLAS.gemm(m: 1, n: headSize, k: positions, a: scores.pointer, b: values[layer].pointer + stored, beta: 0,
                      c: out.storage.pointer + head * headSize)                                       // (1, hs)
        }
        return out
    }
}

extension NanoGPT {
    /// The logits (1, V) that follow `token` at position `cache.count`, given everything already cached;
    /// stores this position's keys and values on the way.
    func nextLogits(after token: Int, cache: KeyValueCache) -> Tensor {
        precondition(!cache.isFull, "the key/value cache is full")
        let position = cache.count, channels = config.embeddingSize
        var x = embedding.token([token], shape: [1]) + embedding.position([position], shape: [1])   // (1, C)
        for (layer, block) in blocks.enumerated() {
            let attention = block.attention
            let normed = block.norm1(x)                                                             // (1, C)
            // This position's keys, queries and values for every head: 3 x (1, C).
            let kqv: [Tensor]
            if let weights = attention.joinedProjectionWeights() {
                kqv = split(linear(normed, weight: weights, bias: nil), widths: [channels, channels, channels])
            } else {
                kqv = [concatenate(attention.heads.map { $0.key(normed) }), concatenate(attention.heads.map { $0.query(normed) }),
                       concatenate(attention.heads.map { $0.value(normed) })]
            }
            cache.store(keys: kqv[0], values: kqv[2], layer: layer)
            x = x + attention.projection(cache.attend(queries: kqv[1], layer: layer))                 // (1, C)
            x = x + block.feedForward(block.norm2(x), training: false)
        }
        cache.advance()
        return languageModelHead(finalNorm(x))                                                      // (1, V)
    }
}
