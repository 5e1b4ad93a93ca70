// Chapter 02 · Self-attention: one Head
// =====================================
//
// The bigram looked at one character. Now every position gets to look back at all the characters
// before it and decide, from the data, which ones matter. That is self-attention. We first meet its
// skeleton (averaging the past, three ways), then build one `Head` and train a small model with it:
// token embedding + position embedding -> Head -> Linear to vocabulary logits.
//
//   swift run -c release ch02            (--quick for a few seconds, --help for every flag)
//
// Expected: val loss from 4.17 to below the bigram's 2.49; the heatmap shows each character attending
// mostly to the few just before it. Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build,
// `swift run -c release ch02 --data tinyshakespeare.txt`: val loss 2.3189 after 5000 steps. The run's time
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
// Each can be overridden by a flag of the same name (`--block-size 8`, `--learning-rate 3e-3`, ...).

let defaults = Hyperparameters(
    steps: 5000,           // optimizer steps
    batchSize: 64,         // B: sequences per step
    blockSize: 32,         // T: how far back a position can look (the bigram saw 1 character)
    embeddingSize: 32,     // C: channels per position; the head size is C as well (one head)
    learningRate: 1e-2,    // a model this small tolerates a large step...
    minLearningRate: 1e-3, // ...decayed along a cosine so training settles at the end
    weightDecay: 0.01,     // PyTorch's AdamW default, as in gpt.py
    seed: 1337,
    evalInterval: 500,     // estimate the loss every 500 steps...
    evalIters: 200,        // ...over 200 batches of each split
    maxNewTokens: 500)

struct Chapter02: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch02", abstract: "Chapter 02 · Self-attention: averaging the past, then one Head.")
    @OptionGroup var training: TrainingOptions
}
let options = Chapter02.parseOrExitWithOneLine().training
let settings = options.resolve(defaults)
exitOnError { try options.configureDevice() }
exitOnError { try TrainingOptions.check(settings) }   // settings that cannot work together, such as a final rate above the peak
let report = exitOnError { try ChapterReport(chapter: "02-self-attention", title: "Self-attention Head", out: options.out) }
print("Chapter 02 · Self-attention: one Head\n")
section("Hyperparameters")
print("\(settings.table)\n")

// MARK: - 1. The trick: averaging the past
//
// We want position t to gather information from positions 0...t (never from the future: that is what
// it must predict). The crudest way: the mean of everything so far. Three ways to compute it:
// show: Sources/Attention/AveragingThePast.swift AveragingThePast.byLoop AveragingThePast.byMatmul AveragingThePast.bySoftmax

section("1. The trick: averaging the past")
let random = SeededRandom(seed: settings.seed)
let toy = Tensor.normal([4, 8, 2], std: 1, random: random)          // (B, T, C) = (4, 8, 2)
let byLoop = AveragingThePast.byLoop(toy)
let byMatmul = AveragingThePast.byMatmul(toy)
let bySoftmax = AveragingThePast.bySoftmax(toy)
func largestDifference(_ a: Tensor, _ b: Tensor) -> Float { zip(a.values, b.values).map { abs($0 - $1) }.max()! }

print("1) loops: out[b, t] = mean(x[b, 0...t])")
print("2) a matmul with lower-triangular weights; for T = 4 they are:")
let weights4 = AveragingThePast.averagingWeights(4)
for row in 0..<4 { print("     " + (0..<4).map { String(format: "%.2f", weights4[row, $0]) }.joined(separator: "  ")) }
print("3) softmax of zero scores with the future masked to -infinity: the same weights")
print(String(format: "max |loop - matmul| = %.1e, max |loop - softmax| = %.1e  (equal up to rounding)\n",
             largestDifference(byLoop, byMatmul), largestDifference(byLoop, bySoftmax)))

// Way 3 is the one that matters: replace the zero scores with scores computed from the data, and each
// position can choose how much of every earlier position to take. That is a Head.

// MARK: - 2. One Head of self-attention
//
// Each position emits three vectors of size hs (the head size), all linear in its input x:
//   query q: what am I looking for?     key k: what do I contain?     value v: what do I pass on?
//   Scores:  q_t . k_s for every pair (t, s), i.e.  q @ k^T  (B, T, hs) @ (B, hs, T) -> (B, T, T)
//   Scale:   divide by sqrt(hs), or the scores grow with hs and the softmax turns into a hard max.
//   Mask:    positions s > t get -infinity (probability 0).
//   Weights: softmax over s.     Output: weights @ v  (B, T, T) @ (B, T, hs) -> (B, T, hs)
//
// That is the whole of Attention/Head.swift:
// show: Sources/Attention/Head.swift Head
//
// The mask lives in the softmax kernel (the CPU backend's): row r of the scores is query i = r % T, which
// sees keys 0 ... offset + i only (offset 0 here; chapter 05's cache shifts it); the rest of its row is set
// to exactly 0.
// show: Sources/TensorCore/Backend/CPU/SoftmaxKernels.swift CPUBackend.softmax

section("2. One Head of self-attention")
let demoHead = Head(embeddingSize: 2, headSize: 4, random: random)
let demoOut = demoHead(toy, training: false)
let attention = demoHead.lastAttention!
print("a Head on x of shape \(toy.shape) gives \(demoOut.shape); its attention is \(attention.shape)")
let row3 = (0..<8).map { attention[0, 3, $0] }
print("row 3 of the first sequence: " + row3.map { String(format: "%.3f", $0) }.joined(separator: " "))
print(String(format: "(%d non-zero weights summing to %.3f, then zeros for the future)\n", row3.filter { $0 > 0 }.count,
             row3.reduce(0, +)))

// The four weights are almost exactly 1/4: a fresh Head's weights are small (N(0, 0.02^2)), so every
// score q . k is nearly 0 and the softmax is nearly the plain average of section 1. Training is what makes
// the scores, and so the weights, differ.

// MARK: - 3. The data (as in chapter 01)

section("3. The data (as in chapter 01)")
let (text, tokenizer, dataset) = options.loadChapterData(settings)   // text, tokenizer, 90/10 split; absurd sizes refused
print("\(text.count) characters, vocabulary: \(tokenizer.summary); train \(dataset.train.count), val \(dataset.val.count)\n")

// MARK: - 4. A language model with one Head
//
//   ids (B, T) -> token embedding + position embedding (B, T, C) -> Head (B, T, C) -> Linear (B, T, V)
//
// The position embedding matters now: attention sums over positions and would not otherwise know
// which character came first:
// show: Sources/Layers/TokenAndPositionEmbedding.swift TokenAndPositionEmbedding

section("4. A language model with one Head")
/// Token and position embeddings, one self-attention Head, and a Linear layer to the vocabulary.
final class OneHeadLanguageModel: LanguageModel {
    let embedding: TokenAndPositionEmbedding
    let head: Head
    let languageModelHead: Linear
    let blockSize: Int, vocabularySize: Int

    init(vocabularySize: Int, blockSize: Int, embeddingSize: Int, random: SeededRandom) {
        self.vocabularySize = vocabularySize
        self.blockSize = blockSize
        embedding = TokenAndPositionEmbedding(vocabularySize: vocabularySize, blockSize: blockSize,
                                              embeddingSize: embeddingSize, random: random)
        head = Head(embeddingSize: embeddingSize, headSize: embeddingSize, random: random)
        languageModelHead = Linear(embeddingSize, vocabularySize, random: random)
    }

    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        let x = embedding(ids, batchSize: batchSize, length: length)   // (B, T, C)
        let attended = head(x, training: training)                     // (B, T, hs = C)
        return languageModelHead(attended)                             // (B, T, V)
    }

    var namedParameters: [(String, Tensor)] {
        embedding.namedParameters + head.parameters(prefixedWith: "sa_head")
            + languageModelHead.parameters(prefixedWith: "lm_head")
    }
}

// diff: Chapters/01-Bigram/main.swift BigramLanguageModel -> OneHeadLanguageModel

let model = OneHeadLanguageModel(vocabularySize: tokenizer.vocabularySize, blockSize: settings.blockSize,
                                 embeddingSize: settings.embeddingSize, random: random)
let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
print("parameters: \(trainer.parameters.count)")
let before = trainer.estimateLoss()
print(String(format: "loss before training: train %.4f, val %.4f (ln(%d) = %.2f)", before.train, before.val,
             tokenizer.vocabularySize, log(Double(tokenizer.vocabularySize))))
let samplingRandom = SeededRandom(seed: settings.seed, stream: .sampling)
print("sample before training:\n---\n\(tokenizer.decode(model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: samplingRandom)))\n---\n")

// MARK: - 5. Training
//
// The same loop as chapter 01 (Trainer): expect the val loss to fall past the bigram's 2.49 within the
// first 1,000 steps, because each position now sees up to T = 32 characters instead of one.

section("5. Training")
exitOnError { try trainer.train() }
exitOnError { try report.plotLoss(trainer) }
let after = trainer.evaluations.last!
print(String(format: "\nloss after training: train %.4f, val %.4f (the bigram reached about 2.49)",
             after.trainLoss, after.valLoss))

let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample after training:\n---\n\(sample)\n---\n")

// MARK: - 6. What the Head looks at
//
// Run the first T characters of the validation text through the model and draw the head's T x T
// attention: row t shows how position t spread its attention over positions 0...t.

section("6. What the Head looks at")
let prompt = Array(dataset.val.prefix(settings.blockSize))
_ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
exitOnError {
    try report.plotAttention([("one head", model.head.lastAttention!)], prompt: prompt, tokenizer: tokenizer, name: "attention",
                             title: "\(report.heading): attention on \(tokenizer.decode(prompt).debugDescription)")
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png, attention.png, sample.txt, summary.json")

// Reading the heatmap: row t (a query) is one softmax over the keys 0...t, so each row sums to 1 and
// everything right of the diagonal is 0 (the causal mask, `softmax(scores, causal: true)`). A bright
// diagonal cell is a position attending to itself: its own value carries the current character, the
// bigram's whole information. Bright cells just left of the diagonal are the character or two before;
// a row that puts nearly all its weight on one earlier cell has found one character that predicts the
// next well (a space before a capital, say). One head has only one softmax per position, so it has to
// choose one such pattern per position: chapter 03 gives it several.
