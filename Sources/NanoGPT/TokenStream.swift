// Chapter 05: streaming generation. The model hands over each token the moment it is sampled; the
// caller decides what to do with it (print it, collect it, stop early).
import TensorCore
import Training

/// A lazy, pull-based sequence of sampled tokens: each `next()` runs the model once and samples one token.
/// Nothing is computed until someone iterates, and iteration can stop at any point.
///
///     for token in model.generateStream(prompt: ids, maxNewTokens: 500, random: random) {
///         print(tokenizer.decode([token]), terminator: "")
///     }
public struct TokenStream: Sequence, IteratorProtocol {
    let model: LanguageModel
    var context: [Int]
    var remaining: Int
    let options: SamplingOptions
    let random: SeededRandom

    public mutating func next() -> Int? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let window = Array(context.suffix(model.blockSize))                               // at most T tokens
        let logits = model.logits(window, batchSize: 1, length: window.count, training: false)  // (1, T, V)
        let last = UnsafeBufferPointer(start: logits.storage.pointer + (window.count - 1) * model.vocabularySize,
                                       count: model.vocabularySize)
        let token = sampleToken(logits: last, options: options, random: random)
        context.append(token)
        return token
    }
}

extension NanoGPT {
    /// Samples `maxNewTokens` tokens after `prompt`, one per iteration of the returned sequence.
    /// For the same seed it yields exactly the new tokens that `generate` returns.
    public func generateStream(prompt: [Int], maxNewTokens: Int, options: SamplingOptions = SamplingOptions(),
                               random: SeededRandom) -> TokenStream {
        TokenStream(model: self, context: prompt.isEmpty ? [0] : prompt, remaining: maxNewTokens, options: options,
                    random: random)
    }
}
