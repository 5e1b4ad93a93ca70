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

    /// The stored keys or values of one head, positions 0...count-1 (after `store`, count + 1): (positions, hs).
    func stored(_ storages: [Storage], layer: Int, head: Int, positions: Int) -> Tensor {
        Tensor(shape: [positions, headSize],
               sharing: Storage(viewing: storages[layer], offset: head * capacity * headSize, count: positions * headSize))
    }
}

extension NanoGPT {
    /// The logits (1, V) that follow `token` at position `cache.count`, given everything already cached;
    /// stores this position's keys and values on the way.
    func nextLogits(after token: Int, cache: KeyValueCache) -> Tensor {
        precondition(!cache.isFull, "the key/value cache is full")
        let position = cache.count, channels = config.embeddingSize, headSize = cache.headSize
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
            let queries = split(kqv[1], widths: Array(repeating: headSize, count: attention.heads.count))
            let outputs = queries.enumerated().map { head, query -> Tensor in
                let keys = cache.stored(cache.keys, layer: layer, head: head, positions: position + 1)     // (t+1, hs)
                let values = cache.stored(cache.values, layer: layer, head: head, positions: position + 1) // (t+1, hs)
                let scores = matmul(query, keys, transposeB: true)                                  // (1, t+1)
                return matmul(softmax(scores, scale: 1 / Float(headSize).squareRoot()), values)     // (1, hs)
            }
            x = x + attention.projection(concatenate(outputs))                                      // (1, C)
            x = x + block.feedForward(block.norm2(x), training: false)
        }
        cache.advance()
        return languageModelHead(finalNorm(x))                                                      // (1, V)
    }
}
