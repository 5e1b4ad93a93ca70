// Chapter 01 · Bigram: the simplest language model
// ================================================
//
// We read a text, turn every character into a number, and train the simplest model that can
// generate text: a table that says, for each character, how likely each next character is.
// Everything later chapters need is introduced here: the tokenizer, the train/val split, random
// batches, the cross-entropy loss, AdamW, estimateLoss, and sampling.
//
//   swift run -c release ch01            (--quick for a few seconds, --help for every flag)
//
// Expected: the loss starts at ln(65) = 4.17; the sample ends up with Shakespeare's letter frequencies and
// nothing more. Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build, Tiny Shakespeare,
// `swift run -c release ch01 --data tinyshakespeare.txt`: val loss 2.4885 after 3000 steps, in 0.5 s.
import ArgumentParser
import Foundation
import Plotting
import TensorCore
import TextData
import Training

// MARK: - Hyperparameters (each can be overridden by a flag of the same name)

let defaults = Hyperparameters(
    steps: 3000,          // optimizer steps
    batchSize: 32,        // B: independent sequences per step
    blockSize: 8,         // T: characters per sequence (the bigram only ever looks at one)
    learningRate: 1e-2,   // a small model tolerates a large step...
    minLearningRate: 1e-3, // ...and a cosine decay to 1e-3 settles it at the end
    weightDecay: 0.01,    // PyTorch's AdamW default, as in gpt.py
    seed: 1337,
    evalInterval: 300,    // estimate the loss every 300 steps...
    evalIters: 200,       // ...as the mean over 200 batches of each split
    maxNewTokens: 500)    // tokens (here: characters) to sample at the end

struct Chapter01: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ch01", abstract: "Chapter 01 · Bigram: a character tokenizer and a next-character table.")
    @OptionGroup var training: TrainingOptions
}
let options = Chapter01.parseOrExitWithOneLine().training
let settings = options.resolve(defaults)
options.configureThreads()
let report = exitOnError { try ChapterReport(chapter: "01-bigram", title: "Bigram", out: options.out) }
print("Chapter 01 · Bigram\n\nHyperparameters:\n\(settings.table)\n")

// MARK: - 1. The data
//
// Any UTF-8 text works. By default this is Tiny Shakespeare: 1.1 million characters of plays.

let text = exitOnError { try Corpus.load(path: options.data) }
print("length of the text: \(text.count) characters")
print("the first 200:\n---\n\(text.prefix(200))\n---\n")

// MARK: - 2. A character tokenizer
//
// A neural network computes with numbers, so each distinct character gets an id: its position in
// the sorted list of characters. encode turns text into ids, decode turns ids back into text.
// (`--tokenizer bpe` swaps in chapter 06's byte-pair tokens; everything below works with either.)

let tokenizer = exitOnError { try options.makeTokenizer(for: text) }
let vocabularySize = tokenizer.vocabularySize
exitOnError {   // the bigram's table is V x V, and a step keeps B x T rows of V logits: refuse sizes that cannot fit
    let (v, positions) = (Double(vocabularySize), Double(settings.batchSize) * Double(settings.blockSize))
    try MemoryBudget.check(parameters: v * v, activations: positions * v * 2)
}
if case .characters(let characters) = tokenizer {
    print("vocabulary: \(vocabularySize) characters: \(String(characters.characters).debugDescription)")
} else {
    print("vocabulary: \(tokenizer.summary)")
}
// (With your own text, the example is its first few characters, since "hii there" may not encode.)
let example = (try? tokenizer.encode("hii there")) != nil ? "hii there" : String(text.prefix(9))
let exampleIds = exitOnError { try tokenizer.encode(example) }
print("encode(\"\(example)\") = \(exampleIds)")
print("decode(that) = \"\(tokenizer.decode(exampleIds))\"\n")

// MARK: - 3. Train and validation split
//
// The first 90% trains the model. The last 10% is never trained on: its loss tells us whether the
// model learned the language or merely memorized its training text.

let dataset = exitOnError { try TokenDataset(text: text, tokenizer: tokenizer, blockSize: settings.blockSize) }
print("train: \(dataset.train.count) tokens, val: \(dataset.val.count) tokens\n")

// MARK: - 4. Batches
//
// A batch is B random windows of T + 1 tokens. The inputs are the first T; the targets are the same
// window shifted left by one. So one window of T = 8 holds 8 examples: predict the 2nd token from
// the 1st, the 3rd from the first two, ..., the 9th from the first eight.

let peek = dataset.batch(.train, batchSize: 4, blockSize: settings.blockSize, random: SeededRandom(seed: settings.seed))
print("inputs  (B=4, T=\(settings.blockSize)): \(Array(peek.inputs.prefix(settings.blockSize)))  ...")
print("targets (B=4, T=\(settings.blockSize)): \(Array(peek.targets.prefix(settings.blockSize)))  ...")
for t in 0..<min(3, settings.blockSize) {
    let context = Array(peek.inputs[0...t])
    print("  when the input is \(context) the target is \(peek.targets[t])")
}
print()

// MARK: - 5. The bigram model
//
// The whole model is one V x V table of numbers. Row i holds the logits (unnormalized log
// probabilities) of the character that follows character i. Looking up the rows of a batch of ids
// is an embedding lookup: ids (B, T) -> logits (B, T, V). It never looks further back than one
// character, which is why its text will be gibberish with the right letter frequencies.

/// A bigram language model: the next character depends only on the current one.
final class BigramLanguageModel: LanguageModel {
    let table: Tensor  // (V, V): row = current character, column = next character
    let vocabularySize: Int
    let blockSize: Int

    init(vocabularySize: Int, blockSize: Int, random: SeededRandom) {
        self.vocabularySize = vocabularySize
        self.blockSize = blockSize
        // GPT practice: small random numbers, N(0, 0.02^2). Every row's softmax then starts almost
        // exactly uniform, so the first loss is ln(V). (gpt.py keeps nn.Embedding's N(0, 1) and starts higher.)
        table = Tensor.normal([vocabularySize, vocabularySize], std: 0.02, random: random, requiresGrad: true)
    }

    var namedParameters: [(String, Tensor)] { [("token_embedding_table.weight", table)] }

    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        embedding(table, ids: ids, shape: [batchSize, length])   // (B, T) -> (B, T, V)
    }
}

let model = BigramLanguageModel(vocabularySize: vocabularySize, blockSize: settings.blockSize,
                                random: SeededRandom(seed: settings.seed))
let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
print("parameters: \(trainer.parameters.count) (a \(vocabularySize) x \(vocabularySize) table)\n")

// MARK: - 6. The loss, before training
//
// Cross-entropy: the mean of -ln p(correct next character). A model that knows nothing spreads its
// probability evenly, p = 1/V, so its loss is ln(V). Our nearly-zero table is exactly that.

let before = trainer.estimateLoss()
print(String(format: "loss before training: train %.4f, val %.4f (a uniform guess scores ln(%d) = %.2f)",
             before.train, before.val, vocabularySize, log(Double(vocabularySize))))

// Sampling: feed a token, turn the logits of the last position into probabilities (softmax), draw
// the next token from them, append it, and repeat.
let samplingRandom = SeededRandom(seed: settings.seed &+ 3)
let untrained = model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: samplingRandom)
print("sample before training:\n---\n\(tokenizer.decode(untrained))\n---\n")

// MARK: - 7. Training
//
// Each step: a random batch, the loss, its gradient by backpropagation, and one AdamW update.

exitOnError { try trainer.train() }
let after = trainer.evaluations.last!
print(String(format: "\nloss after training: train %.4f, val %.4f  (%.0f training tokens/s)",
             after.trainLoss, after.valLoss, trainer.tokensPerSecond))

// MARK: - 8. After training: text, and what the table learned

let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample after training:\n---\n\(sample)\n---\n")

// Each row of softmax(table) is a probability distribution over the next character: a heatmap of
// the model's entire knowledge. Look for the bright column of spaces after letters, and capitals after
// newlines.
let probabilities = softmax(model.table)
let labels = ChapterReport.tickLabels(Array(0..<vocabularySize), tokenizer: tokenizer)
exitOnError {
    try report.plotLoss(trainer.evaluations)
    try Plotter.shared.heatmaps(
        [Heatmap("P(next | current)", rows: vocabularySize, columns: vocabularySize, values: probabilities.values)],
        rowLabels: labels, columnLabels: labels, title: "\(report.heading): next-character probabilities",
        xLabel: "next character", yLabel: "current character", colorRange: 0...1, in: report.folder, name: "bigram")
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png, bigram.png, sample.txt, summary.json")
