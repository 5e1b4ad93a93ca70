// The decode path (NanoGPT.decode): one new token through the same kernels on buffers made once. It must give
// the numbers of the Tensor path bit for bit, float32 and int8, and take no buffer per token. Nested in the
// serialized int8 suite, whose tests switch the global int8 kernel settings these compare under.
import Attention
import CInt8Kernels
import NanoGPT
import Quantization
import TensorCore
import TextData
import Testing
import Training

extension Int8Tests {
    @Suite("The decode path, float32 and int8") struct DecodePath {
        /// A model with weights 20 times those at initialization, so the logits are far from uniform and any
        /// difference would change the sampled tokens.
        static func sharpModel(_ config: GPTConfig, seed: UInt64) -> NanoGPT {
            let model = NanoGPT(config, seed: seed)
            for (_, tensor) in model.namedParameters where tensor.shape.count == 2 {
                for i in 0..<tensor.count { tensor.storage[i] *= 20 }
            }
            return model
        }

        // Head sizes 4 and 3, widths off the int8 blocks of 32 (12, 40) and on them (64, 192).
        static let configs = [GPTConfig(vocabularySize: 13, blockSize: 10, embeddingSize: 16, heads: 4, layers: 2),
                              GPTConfig(vocabularySize: 9, blockSize: 7, embeddingSize: 12, heads: 4, layers: 3),
                              GPTConfig(vocabularySize: 70, blockSize: 16, embeddingSize: 40, heads: 2, layers: 1),
                              GPTConfig(vocabularySize: 65, blockSize: 12, embeddingSize: 64, heads: 2, layers: 2),
                              // int8 products of 128 KB and more (the feed-forward's), shared with a second thread while decoding
                              GPTConfig(vocabularySize: 65, blockSize: 6, embeddingSize: 192, heads: 2, layers: 1)]

        @Test(arguments: configs, [false, true])
        func decodingGivesTheLogitsOfTheTensorPathBitForBit(config: GPTConfig, int8: Bool) {
            let model = Self.sharpModel(config, seed: 3)
            if int8 { model.useInt8Weights() }
            let tensorCache = KeyValueCache(config), decodeCache = KeyValueCache(config), buffers = NanoGPT.DecodeBuffers(config)
            let prompt = [1, 5, 2]
            let sharedBefore = int8_shared_products()
            withoutGradients {
                _ = model.logits(prompt, batchSize: 1, length: prompt.count, cache: tensorCache)
                _ = model.logits(prompt, batchSize: 1, length: prompt.count, cache: decodeCache)
                for step in 0..<(config.blockSize - prompt.count) {
                    let token = (step * 7 + 3) % config.vocabularySize
                    let expected = model.logits([token], batchSize: 1, length: 1, cache: tensorCache).values
                    let decoded = model.decode(token, cache: decodeCache, buffers: buffers).toHost()
                    #expect(decoded == expected, "step \(step)")
                }
            }
            #expect(decodeCache.isFull && tensorCache.isFull)
            if int8 && config.embeddingSize >= 192 && BLAS.threadCount > 1 {
                // Its feed-forward products are large enough: decode lent the cores and shared them.
                #expect(int8_shared_products() > sharedBefore, "no int8 product was shared while decoding")
            }
            for layer in 0..<config.layers {
                #expect(decodeCache.keys[layer].toHost() == tensorCache.keys[layer].toHost())
                #expect(decodeCache.values[layer].toHost() == tensorCache.values[layer].toHost())
            }
        }

        /// Sampled streams four blocks long, so the window refills (batched, through the Tensor path) several
        /// times between the decoded tokens.
        @Test(arguments: [false, true])
        func decodingStreamsTheTokensOfTheCachePath(int8: Bool) {
            let config = Self.configs[0]
            let model = Self.sharpModel(config, seed: 4)
            if int8 { model.useInt8Weights() }
            let tokens = 4 * config.blockSize
            let cached = Array(model.generateStream(prompt: [0], maxNewTokens: tokens, random: SeededRandom(seed: 9), mode: .keyValueCache))
            let decoded = Array(model.generateStream(prompt: [0], maxNewTokens: tokens, random: SeededRandom(seed: 9), mode: .decode))
            #expect(decoded == cached)
            #expect(Set(decoded).count > 3)
        }

        @Test(arguments: [false, true])
        func decodingTakesNoBufferPerToken(int8: Bool) {
            let config = Self.configs[3]
            let model = Self.sharpModel(config, seed: 5)
            if int8 { model.useInt8Weights() }
            let cache = KeyValueCache(config), buffers = NanoGPT.DecodeBuffers(config)
            withoutGradients {
                _ = model.logits([1, 2], batchSize: 1, length: 2, cache: cache)
                _ = model.decode(3, cache: cache, buffers: buffers)   // the first product of each int8 matrix makes its scratch
                let before = BufferPool.handedOut
                for token in 4..<10 { _ = model.decode(token, cache: cache, buffers: buffers) }
                #expect(BufferPool.handedOut == before)
                // The counter sees the Tensor path's buffers: one token that way takes many.
                _ = model.logits([10], batchSize: 1, length: 1, cache: cache)
                #expect(BufferPool.handedOut > before + 20)
            }
        }
    }
}

extension Int8Tests {
    /// What `nanogpt quantize --data` and chapter 08 report: the int8 loss differs from float32 (the blocks
    /// round the weights) but only a little, the greedy tokens are each way's own, and the model is left
    /// reading float32.
    @Test func int8QualityMeasuresBothWaysAndLeavesTheModelInFloat32() throws {
        let config = DecodePath.configs[3]
        let model = DecodePath.sharpModel(config, seed: 6)
        let text = String(repeating: "ROMEO: But soft, what light through yonder window breaks?\n", count: 20)
        let tokenizer = Tokenizer.characters(CharacterTokenizer(training: text))
        let dataset = try TokenDataset(text: text, tokenizer: tokenizer, blockSize: config.blockSize)
        let quality = Int8Quality(of: model, dataset: dataset, evaluationBatches: 3, batchSize: 4, seed: 2, greedyTokens: 40, start: 1)
        #expect(quality.float32Loss != quality.int8Loss)
        #expect(abs(quality.float32Loss - quality.int8Loss) < 0.05 * quality.float32Loss)
        #expect(quality.float32Tokens.count == 40 && quality.int8Tokens.count == 40)
        #expect(quality.agreeing == zip(quality.float32Tokens, quality.int8Tokens).prefix { $0 == $1 }.count)
        let float32Again = Array(model.generateStream(prompt: [1], maxNewTokens: 40, options: SamplingOptions(topK: 1),
                                                      random: SeededRandom(seed: 2)))
        #expect(float32Again == quality.float32Tokens)
        #expect(model.languageModelHead.inferenceWeight == nil)
    }
}
