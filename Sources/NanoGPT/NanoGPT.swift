// Chapter 05: the whole model.
import Attention
import Foundation
import Layers
import TensorCore
import Training
import Transformer

/// The shape of a NanoGPT: everything needed to rebuild it, saved with every checkpoint.
public struct GPTConfig: Codable, Equatable, Sendable {
    public var vocabularySize: Int   // V
    public var blockSize: Int        // T at most
    public var embeddingSize: Int    // C
    public var heads: Int            // attention heads per block; head size = C / heads
    public var layers: Int           // Blocks
    public var dropout: Float

    public init(vocabularySize: Int, blockSize: Int, embeddingSize: Int, heads: Int, layers: Int, dropout: Float = 0) {
        self.vocabularySize = vocabularySize; self.blockSize = blockSize; self.embeddingSize = embeddingSize
        self.heads = heads; self.layers = layers; self.dropout = dropout
    }

    /// The model a run's settings describe: its sizes from the settings, its vocabulary from the tokenizer.
    /// The one place where a chapter's knobs become the model's shape (they share their names).
    public init(_ settings: Hyperparameters, vocabularySize: Int) {
        self.init(vocabularySize: vocabularySize, blockSize: settings.blockSize, embeddingSize: settings.embeddingSize,
                  heads: settings.heads, layers: settings.layers, dropout: settings.dropout)
    }

    /// A size that cannot describe a model, named by its field (`heads`).
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let field: String, problem: String
        public var description: String { "\(field) \(problem)" }
    }

    /// The largest vocabulary a config may ask for; the other sizes share the limits of the settings
    /// (`Hyperparameters.limits`), so that no product of them (4·C·C, layers × tensors per layer) can overflow.
    public static let vocabularyLimit = 1 << 20

    /// Sizes that cannot describe a model are refused before anything is allocated (a checkpoint's config
    /// is read through this).
    public func validate() throws {
        func limit(_ field: String) -> Int { Hyperparameters.limits.first { $0.field == field }!.limit }
        let sizes = [("vocabularySize", vocabularySize, Self.vocabularyLimit), ("blockSize", blockSize, limit("blockSize")),
                     ("embeddingSize", embeddingSize, limit("embeddingSize")), ("heads", heads, limit("heads")),
                     ("layers", layers, limit("layers"))]
        for (name, value, limit) in sizes {
            guard value > 0 else { throw Invalid(field: name, problem: "must be positive, got \(value)") }
            guard value <= limit else { throw Invalid(field: name, problem: "is \(value), above the limit of \(limit)") }
        }
        guard embeddingSize % heads == 0 else {
            throw Invalid(field: "embeddingSize", problem: "\(embeddingSize) is not divisible by heads \(heads)")
        }
        guard dropout >= 0, dropout < 1 else { throw Invalid(field: "dropout", problem: "must be in [0, 1), got \(dropout)") }
    }

    /// Saved as {"vocabularySize", "blockSize", "embeddingSize", "heads", "layers", "dropout"}. Files written
    /// before the knobs and the config shared their names say "headCount" and "layerCount"; both spellings load.
    enum CodingKeys: String, CodingKey { case vocabularySize, blockSize, embeddingSize, heads, layers, dropout, headCount, layerCount }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func either(_ key: CodingKeys, _ older: CodingKeys) throws -> Int {
            try c.decodeIfPresent(Int.self, forKey: key) ?? c.decode(Int.self, forKey: c.contains(older) ? older : key)
        }
        self.init(vocabularySize: try c.decode(Int.self, forKey: .vocabularySize), blockSize: try c.decode(Int.self, forKey: .blockSize),
                  embeddingSize: try c.decode(Int.self, forKey: .embeddingSize),
                  heads: try either(.heads, .headCount), layers: try either(.layers, .layerCount),
                  dropout: try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0)   // optional: 0 at inference anyway
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabularySize, forKey: .vocabularySize); try c.encode(blockSize, forKey: .blockSize)
        try c.encode(embeddingSize, forKey: .embeddingSize); try c.encode(heads, forKey: .heads)
        try c.encode(layers, forKey: .layers); try c.encode(dropout, forKey: .dropout)
    }

    /// The name and shape of every parameter of a model with this config, in the order of
    /// `NanoGPT.stateDictionary` (PyTorch's per-head names), produced lazily (a corrupt config with a billion layers costs nothing
    /// until someone iterates that far).
    public var parameterShapes: some Sequence<(String, [Int])> {
        let (v, t, c, hs) = (vocabularySize, blockSize, embeddingSize, embeddingSize / max(1, heads))
        let head: [(String, [Int])] = [("token_embedding_table.weight", [v, c]), ("position_embedding_table.weight", [t, c])]
        let tail: [(String, [Int])] = [("ln_f.weight", [c]), ("ln_f.bias", [c]), ("lm_head.weight", [v, c]), ("lm_head.bias", [v])]
        let blocks = (0..<layers).lazy.flatMap { layer -> [(String, [Int])] in
            let prefix = "blocks.\(layer)"
            // All heads' keys, then queries, then values: the rows of MultiHead's packed matrix.
            let attention = ["key", "query", "value"].flatMap { projection in
                (0..<heads).map { h in ("\(prefix).sa.heads.\(h).\(projection).weight", [hs, c]) }
            }
            return attention + [("\(prefix).sa.proj.weight", [c, c]), ("\(prefix).sa.proj.bias", [c]),
                            ("\(prefix).ffwd.net.0.weight", [4 * c, c]), ("\(prefix).ffwd.net.0.bias", [4 * c]),
                            ("\(prefix).ffwd.net.2.weight", [c, 4 * c]), ("\(prefix).ffwd.net.2.bias", [c]),
                            ("\(prefix).ln1.weight", [c]), ("\(prefix).ln1.bias", [c]),
                            ("\(prefix).ln2.weight", [c]), ("\(prefix).ln2.bias", [c])]
        }
        return [AnySequence(head), AnySequence(blocks), AnySequence(tail)].joined()
    }

    /// How many numbers a model of this shape holds (in Double, so absurd sizes cannot overflow).
    public var parameterCount: Double {
        parameterShapes.reduce(0) { $0 + $1.1.reduce(1.0) { $0 * Double($1) } }
    }
}

/// A GPT language model: token + position embedding, dropout, N Blocks, a final LayerNorm, and a Linear
/// layer to vocabulary logits.
public final class NanoGPT: LanguageModel, Module {
    public let config: GPTConfig
    public let embedding: TokenAndPositionEmbedding
    public let blocks: [Block]
    public let finalNorm: LayerNorm
    public let languageModelHead: Linear
    /// The model's dropout: its probability, and the generator of its masks.
    public let dropout: Dropout
    /// The parameters, packed into one arena from the start; a Trainer adopts it as it is.
    public private(set) var parameterArena: Parameters?

    /// Weights from N(0, 0.02^2) drawn with `seed`; dropout masks from a generator derived from it.
    public init(_ config: GPTConfig, seed: UInt64) {
        self.config = config
        let random = SeededRandom(seed: seed)
        let dropout = Dropout(probability: config.dropout, seed: RandomStream.dropout.seed(from: seed))
        self.dropout = dropout
        embedding = TokenAndPositionEmbedding(vocabularySize: config.vocabularySize, blockSize: config.blockSize,
                                              embeddingSize: config.embeddingSize, random: random)
        blocks = (0..<config.layers).map { _ in
            Block(embeddingSize: config.embeddingSize, headCount: config.heads, dropout: dropout, random: random)
        }
        finalNorm = LayerNorm(config.embeddingSize)
        languageModelHead = Linear(config.embeddingSize, config.vocabularySize, random: random)
        parameterArena = Parameters(namedParameters)
    }

    public var blockSize: Int { config.blockSize }
    public var vocabularySize: Int { config.vocabularySize }

    /// ids (B, T) -> logits (B, T, V): training, evaluation, and generation without a cache.
    public func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        precondition(length <= config.blockSize, "context of \(length) tokens exceeds the block size \(config.blockSize)")
        var x = embedding(ids, batchSize: batchSize, length: length)   // (B, T, C)
        x = dropout(x, training: training)
        for block in blocks {
            x = block(x, training: training)                           // (B, T, C)
        }
        return languageModelHead(finalNorm(x))                         // (B, T, V)
    }

    public var namedParameters: [(String, Tensor)] {
        embedding.namedParameters
            + blocks.enumerated().flatMap { $1.parameters(prefixedWith: "blocks.\($0)") }
            + finalNorm.parameters(prefixedWith: "ln_f") + languageModelHead.parameters(prefixedWith: "lm_head")
    }
}

// For plots and checkpoints.
extension NanoGPT {
    /// Every block's attention weights from the latest forward pass: [layer][head] -> (B, T, T).
    public var lastAttention: [[Tensor]] { blocks.map(\.attention.lastAttention) }

    /// Every tensor under the name and shape the reference PyTorch model gives it, for checkpoints:
    /// `namedParameters`, with each MultiHead's packed (3C, C) matrix as PyTorch's per-head (hs, C) weights
    /// (views into it). The order of `config.parameterShapes`.
    public var stateDictionary: [(String, Tensor)] {
        embedding.namedParameters
            + blocks.enumerated().flatMap { layer, block in
                let packed = MultiHead.perHeadViews(of: block.attention.keyQueryValue.weight, headCount: config.heads)
                return packed.map { ("blocks.\(layer).sa.\($0.0)", $0.1) }
                    + block.parameters(prefixedWith: "blocks.\(layer)").filter { !$0.0.hasSuffix(".sa.key_query_value.weight") }
            }
            + finalNorm.parameters(prefixedWith: "ln_f") + languageModelHead.parameters(prefixedWith: "lm_head")
    }
}

// Generation's decode path (chapter 08).
extension NanoGPT {
    /// The logits (V) after one new token at batch 1, through the cache: the forward pass with a cache
    /// (`logits(_:batchSize:length:cache:)`, chapter 05) for one position, module by module (each module's
    /// `decode` is in an extension right below it), on buffers made once per generation. No Tensor, no
    /// autograd record and no buffer is made per op: at config S those cost as much as the products. The same
    /// kernels in the same order as that forward pass at length 1, so the same numbers. The returned storage is `buffers.logits`, overwritten by the next call. (With int8
    /// weights OpenBLAS runs on one thread meanwhile; where it would thread the attention's products over a
    /// long cache, it may sum them in another order, and the last bits can differ from the Tensor path's.)
    public func decode(_ token: Int, cache: KeyValueCache, buffers b: DecodeBuffers) -> Storage {
        precondition(cache.count < config.blockSize, "the cache is full: \(cache.count) of \(config.blockSize) positions")
        // Int8 weights (every matrix has them, the head included) split each large product between two
        // threads of their own: OpenBLAS steps down to one meanwhile (chapter 08).
        return BLAS.lendingCores(if: languageModelHead.inferenceWeight?.wantsCores ?? false) {
            let backend = b.x.backend, width = config.embeddingSize
            backend.embedding(table: embedding.token.weight.storage, ids: [token], out: b.x, width: width)
            backend.embedding(table: embedding.position.weight.storage, ids: [cache.count], out: b.position, width: width)
            backend.accumulate(b.position, into: b.x)                                      // x = token + position (C)
            for (layer, block) in blocks.enumerated() {
                block.decode(b.x, cache: cache, layer: layer, buffers: b.block)            // x += ... (C)
            }
            cache.advance(by: 1)
            finalNorm.decode(b.x, into: b.block.normed, mean: b.block.mean, rstd: b.block.rstd)
            languageModelHead.decode(b.block.normed, into: b.logits)                       // (V)
            return b.logits
        }
    }

    /// What `decode` writes: x (C), the position's row (C), the logits (V), and what the blocks share.
    public final class DecodeBuffers {
        public let x: Storage, position: Storage, logits: Storage
        public let block: Block.DecodeBuffers

        public init(_ config: GPTConfig, on backend: any Backend = Backends.current) {
            x = Storage(count: config.embeddingSize, on: backend)
            position = Storage(count: config.embeddingSize, on: backend)
            logits = Storage(count: config.vocabularySize, on: backend)
            block = Block.DecodeBuffers(embeddingSize: config.embeddingSize, headCount: config.heads,
                                        capacity: config.blockSize, on: backend)
        }
    }
}
