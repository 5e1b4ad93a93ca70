// Chapter 03 · MultiHead: several heads of attention in parallel
// ==============================================================
//
// One head computes one kind of affinity: a single softmax per position. But a character has several
// things to look for at once (the previous letter, the start of the word, the last vowel...). So we
// run n smaller heads side by side, each of size C / n, concatenate their outputs back to C channels,
// and mix them with a projection (then dropout). Same cost as one big head, more kinds of looking.
//
//   swift run -c release ch03            (--quick for a few seconds, --help for every flag)
//
// Expected: better than chapter 02's single head, and each head's heatmap shows a different pattern.
// Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build,
// `swift run -c release ch03 --data tinyshakespeare.txt`: val loss 2.0735 after 5000 steps. The run's time
// and speed are on this chapter's page (README.md beside this file).
import ArgumentParser
import Attention
import ChapterSupport
import Foundation
import Layers
import TensorCore
import TextData
import Training

// MARK: - Hyperparameters
//
// Each can be overridden by a flag of the same name (`--heads 8`, `--embedding-size 32`, ...).

let defaults = Hyperparameters(
    steps: 5000,           // optimizer steps
    batchSize: 64,         // B: sequences per step
    blockSize: 32,         // T: context length
    embeddingSize: 64,     // C: channels per position...
    heads: 4,              // ...split over 4 heads of C / 4 = 16 channels each
    learningRate: 1e-2,    // peak learning rate...
    minLearningRate: 1e-3, // ...decayed along a cosine
    weightDecay: 0.01,
    dropout: 0,            // no dropout yet: this model is too small to overfit
    seed: 1337,
    evalInterval: 500,
    evalIters: 200,
    maxNewTokens: 500)

struct Chapter03: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch03", abstract: "Chapter 03 · MultiHead: several attention heads, concatenated and projected.")
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Start from PyTorch's default initialization, as the lecture's gpt.py does (see the exercises).")
    var pytorchInitialization = false
}
let command = Chapter03.parseOrExitWithOneLine()
let options = command.training
let settings = options.resolve(defaults)
exitOnError { try options.configureDevice() }
exitOnError { try TrainingOptions.check(settings) }
let report = exitOnError { try ChapterReport(chapter: "03-multi-head", title: "MultiHead attention", out: options.out) }
print("Chapter 03 · MultiHead\n")
section("Hyperparameters")
print("\(settings.table)\n")

// MARK: - 1. MultiHead, shape by shape
//
//   x (B, T, C) --head 1--> (B, T, C/n) \
//               --head 2--> (B, T, C/n)  }-- concatenate --> (B, T, C) -- projection --> (B, T, C) -- dropout
//               ...                     /
// The projection lets the heads' findings mix before the next layer reads them.
//
// MultiHead.swift holds the weights in one of two layouts and computes each its own way. `.perHead` keeps
// one Head per head, and `perHead` is the picture above, head by head. `.packed` notices that the key
// weights of all n heads stacked are just one (C, C) matrix (and likewise the queries and values), keeps
// the three as one (3C, C) matrix, and `allHeadsAtOnce` makes k, q and v for every head with one matrix
// product and runs the heads' attention as one batch of shape (B, nh, T, T): fewer, bigger products. The
// model trains the packed layout; checkpoints still name the weights per head, as PyTorch does. Both:
// show: Sources/Attention/MultiHead.swift MultiHead.perHead MultiHead.allHeadsAtOnce
//
// `splitHeads` cuts the packed (B, T, 3C) product into keys, queries and values of shape (B, nh, T, hs);
// `softmaxOfProducts` is q k^T, the scale, the causal mask and the softmax in one op, and `causalMatmul`
// skips the zero upper triangle of the weights (TensorCore/Ops).

section("1. MultiHead, shape by shape")
let random = SeededRandom(seed: settings.seed)
let demo = MultiHead(headCount: settings.heads, embeddingSize: settings.embeddingSize, layout: .perHead, random: random)
let packed = MultiHead(headCount: settings.heads, embeddingSize: settings.embeddingSize, layout: .packed,
                       random: SeededRandom(seed: 0))   // its own generator: its weights are overwritten next
packed.copyWeights(from: demo)   // the same weights, laid out as one (3C, C) matrix: each head's rows, k then q then v
let demoInput = Tensor.normal([2, 5, settings.embeddingSize], std: 1, random: random)
let demoOutput = demo(demoInput, training: false)
let packedOutput = packed(demoInput, training: false)
print("MultiHead with \(settings.heads) heads of size \(settings.embeddingSize / settings.heads): "
      + "x \(demoInput.shape) -> \(demoOutput.shape)")
print("each head's attention: \(demo.lastAttention.map(\.shape))")
print("per head:  \(demo.namedParameters.map { "\($0.0) \($0.1.shape)" }.joined(separator: ", "))")
print("packed:    \(packed.namedParameters.map { "\($0.0) \($0.1.shape)" }.joined(separator: ", "))")
let layoutDifference = zip(demoOutput.values, packedOutput.values).map { abs($0 - $1) }.max() ?? 0
print(String(format: "perHead and allHeadsAtOnce on the same weights: outputs differ by at most %.1e\n", layoutDifference))

// MARK: - 2. The data (as in chapter 01)

section("2. The data (as in chapter 01)")
let (text, tokenizer, dataset) = options.loadChapterData(settings)   // text, tokenizer, 90/10 split; absurd sizes refused
print("\(text.count) characters, vocabulary: \(tokenizer.summary)\n")

// MARK: - 3. The model: chapter 02's, with MultiHead in place of the single Head
//
//   ids (B, T) -> token + position embedding (B, T, C) -> MultiHead (B, T, C) -> Linear (B, T, V)

section("3. The model: chapter 02's, with MultiHead in place of the single Head")
/// Token and position embeddings, one MultiHead attention layer, and a Linear layer to the vocabulary.
final class MultiHeadLanguageModel: LanguageModel {
    let embedding: TokenAndPositionEmbedding
    let attention: MultiHead
    let languageModelHead: Linear
    let blockSize: Int, vocabularySize: Int

    init(vocabularySize: Int, settings: Hyperparameters, random: SeededRandom) {
        self.vocabularySize = vocabularySize
        blockSize = settings.blockSize
        embedding = TokenAndPositionEmbedding(vocabularySize: vocabularySize, blockSize: settings.blockSize,
                                              embeddingSize: settings.embeddingSize, random: random)
        attention = MultiHead(headCount: settings.heads, embeddingSize: settings.embeddingSize, layout: .packed,
                              dropout: Dropout(probability: settings.dropout, seed: settings.seed &+ 4),
                              random: random)
        languageModelHead = Linear(settings.embeddingSize, vocabularySize, random: random)
    }

    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        let x = embedding(ids, batchSize: batchSize, length: length)   // (B, T, C)
        return languageModelHead(attention(x, training: training))     // (B, T, C) -> (B, T, V)
    }

    var namedParameters: [(String, Tensor)] {
        embedding.namedParameters + attention.parameters(prefixedWith: "sa_heads")
            + languageModelHead.parameters(prefixedWith: "lm_head")
    }
}

// diff: Chapters/02-SelfAttention/main.swift OneHeadLanguageModel -> MultiHeadLanguageModel

let model = MultiHeadLanguageModel(vocabularySize: tokenizer.vocabularySize, settings: settings, random: random)
if command.pytorchInitialization {   // N(0, 1) embeddings and uniform +-1/sqrt(fan-in) Linear layers instead of N(0, 0.02^2)
    PyTorchInitialization.apply(to: model.namedParameters, random: SeededRandom(seed: settings.seed &+ 6))
    print("initialization: PyTorch's defaults (Layers/PyTorchInitialization.swift)")
}
let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
print("parameters: \(trainer.parameters.count)")
let before = trainer.estimateLoss()
print(String(format: "loss before training: train %.4f, val %.4f (ln(%d) = %.2f)", before.train, before.val,
             tokenizer.vocabularySize, log(Double(tokenizer.vocabularySize))))
let samplingRandom = SeededRandom(seed: settings.seed &+ 3)
print("sample before training:\n---\n\(tokenizer.decode(model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: samplingRandom)))\n---\n")

// MARK: - 4. Training
//
// Same steps, same batches as chapter 02. Expect the val loss to end near 2.07, well below one head's 2.32:
// four heads of 16 channels find more to attend to than one head of 32.

section("4. Training")
exitOnError { try trainer.train() }
exitOnError { try report.plotLoss(trainer) }
let after = trainer.evaluations.last!
print(String(format: "\nloss after training: train %.4f, val %.4f (one head reached about 2.32)", after.trainLoss, after.valLoss))
let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample after training:\n---\n\(sample)\n---\n")

// MARK: - 5. What each head looks at
//
// One panel per head, on the first T characters of the val text. Each head should have its own pattern:
// one looks at the character just before, another spreads over the whole word.

section("5. What each head looks at")
let prompt = Array(dataset.val.prefix(settings.blockSize))
_ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
exitOnError {
    try report.plotAttention(model.attention.lastAttention.enumerated().map { ("head \($0)", $1) },
                             prompt: prompt, tokenizer: tokenizer, name: "attention",
                             title: "\(report.heading): each head on \(tokenizer.decode(prompt).debugDescription)")
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png, attention.png, sample.txt, summary.json")
