// Chapter 01 · Bigram: the simplest language model
// ================================================
//
// We read a text, turn every character into a number, and train the simplest model that can
// generate text: a table that says, for each character, how likely each next character is.
// Everything later chapters need is introduced here: the tokenizer, the train/val split, random
// batches, the cross-entropy loss, AdamW, estimateLoss, and sampling. The training loop is written out
// here, once, in full; then `Trainer` takes it over (the same loop, plus the evaluation schedule, the
// log and a progress line), and every later chapter uses Trainer.
//
// The steps, each with its section: text -> ids (2) -> train/val split (3) -> random batches (4) -> the
// table's logits (5) -> the cross-entropy loss (6) -> backward and an AdamW step (8) -> sampling (7, 10).
// Library code that is plumbing rather than the idea (the flat parameter buffer, the autograd engine's
// bookkeeping) is folded: click to open it. The last section, the fast kernels, is folded too.
//
//   swift run -c release ch01            (--quick for a few seconds, --help for every flag)
//
// Expected: the loss starts at ln(65) = 4.17; the sample ends up with Shakespeare's frequencies of letter
// pairs (which letter follows which) and nothing more. Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build, Tiny Shakespeare,
// `swift run -c release ch01 --data tinyshakespeare.txt`: val loss 2.4896 after 3000 steps (the same on
// any run with 2 threads: the losses are deterministic).
import ArgumentParser
import ChapterSupport
import Foundation
import Plotting
import TensorCore
import TextData
import Training

// MARK: - Hyperparameters
//
// Each can be overridden by a flag of the same name (`--steps 1000`, `--learning-rate 3e-3`, ...).
// `--learning-rate` alone keeps the ratio of final to peak rate (3e-3 decays to 3e-4); add
// `--min-learning-rate` to set the floor, equal to the peak for a constant rate.

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

let (command, settings, report) = Chapter01.start(defaults, plots: "01-bigram", title: "Bigram")   // the flags: Flags.swift
let options = command.training
print("Chapter 01 · Bigram\n")
section("Hyperparameters")
print("\(settings.table(showing: []))\n")   // the bigram has no embedding size, heads, layers or dropout

// MARK: - 1. The data
//
// Any UTF-8 text works. By default this is Tiny Shakespeare: 1.1 million characters of plays.

section("1. The data")
let text = exitOnError { try Corpus.load(path: options.data) }
print("length of the text: \(text.count) characters")
print("the first 200:\n---\n\(text.prefix(200))\n---\n")

// MARK: - 2. A character tokenizer
//
// A neural network computes with numbers, so each distinct character gets an id: its position in
// the sorted list of characters. encode turns text into ids, decode turns ids back into text.
// (`--tokenizer bpe` swaps in chapter 06's byte-pair tokens; everything below works with either.)
// show: Sources/TextData/CharacterTokenizer.swift CharacterTokenizer.init(training:) CharacterTokenizer.encode CharacterTokenizer.decode
// (Generation needs a first token to start from: `tokenizer.startToken`, id 0, which in Tiny Shakespeare is
// the newline, the first character in sorted order.)

section("2. A character tokenizer")
let tokenizer = exitOnError { try options.makeTokenizer(for: text) }
let vocabularySize = tokenizer.vocabularySize
exitOnError { try Chapter01.checkTheTableFits(vocabularySize: vocabularySize, settings) }   // absurd sizes refused (Flags.swift)
if case .characters(let characters) = tokenizer {
    print("vocabulary: \(vocabularySize) characters: \(String(characters.characters).debugDescription)")
} else {
    print("vocabulary: \(tokenizer.summary)")
}
endOfCell()
// (With your own text, the example is its first few characters, since "hii there" may not encode.)
let example = (try? tokenizer.encode("hii there")) != nil ? "hii there" : String(text.prefix(9))
let exampleIds = exitOnError { try tokenizer.encode(example) }
print("encode(\"\(example)\") = \(exampleIds)")
print("decode(that) = \"\(tokenizer.decode(exampleIds))\"\n")

// MARK: - 3. Train and validation split
//
// The first 90% trains the model. The last 10% is never trained on: its loss tells us whether the
// model learned the language or merely memorized its training text. The text is cut first, then each part
// encoded, so that chapter 06's byte-pair tokens are measured on exactly the same validation text:
// show: Sources/TextData/TokenDataset.swift TokenDataset.init(text:tokenizer:trainFraction:blockSize:) TokenDataset.cut

section("3. Train and validation split")
let dataset = exitOnError { try TokenDataset(text: text, tokenizer: tokenizer, blockSize: settings.blockSize) }
print("train: \(dataset.train.count) tokens, val: \(dataset.val.count) tokens\n")

// MARK: - 4. Batches
//
// A batch is B random windows of T + 1 tokens. The inputs are the first T; the targets are the same
// window shifted left by one. So one window of T = 8 holds 8 examples: predict the 2nd token from
// the 1st, the 3rd from the first two, ..., the 9th from the first eight.
// show: Sources/TextData/TokenDataset.swift TokenDataset.batch
// The windows' starts come from `SeededRandom`, a generator whose algorithm is written down (xoshiro256**),
// so a seed gives the same batches, weights and samples on every run. Each use draws from a stream of its
// own (the batches, the evaluation's batches, the samples, ...), seeded from the run's seed plus a fixed
// number, so that drawing more of one leaves the others unchanged:
// fold: Sources/TensorCore/Random.swift SeededRandom RandomStream SeededRandom.init(seed:stream:)
//
// A peek at one batch of 4 windows, and its first window decoded back to text. It draws from a generator
// seeded with the bare run seed (the weights' stream, 0, though a generator of its own: drawing from it
// changes no other draw); training's batches come from the `.batches` stream.

section("4. Batches")
let peek = dataset.batch(.train, batchSize: 4, blockSize: settings.blockSize, random: SeededRandom(seed: settings.seed))
print("inputs  (B=4, T=\(settings.blockSize)), row 0 of 4: \(Array(peek.inputs.prefix(settings.blockSize)))")
print("targets (B=4, T=\(settings.blockSize)), row 0 of 4: \(Array(peek.targets.prefix(settings.blockSize)))")
print("as text: inputs \(tokenizer.decode(Array(peek.inputs.prefix(settings.blockSize))).debugDescription), "
      + "targets \(tokenizer.decode(Array(peek.targets.prefix(settings.blockSize))).debugDescription)")
for t in 0..<min(3, settings.blockSize) {
    let context = Array(peek.inputs[0...t])
    print("  when the input is \(context) the target is \(peek.targets[t])")
}
print("(the bigram below predicts each target from the one id just before it; chapter 02's attention uses the whole context)")
print()

// MARK: - 5. The bigram model
//
// The whole model is one V x V table of numbers. Row i holds the logits (unnormalized log
// probabilities) of the character that follows character i. Looking up the rows of a batch of ids
// is an embedding lookup: ids (B, T) -> logits (B, T, V). It never looks further back than one
// character, which is why its text will be gibberish with the right letter pairs (q then u, a colon then a
// line break) and nothing longer.
//
// The lookup is the tensor core's `embedding` op. Like every op it computes its result (a backend kernel)
// and records how to send the gradient back (the closure `Tensor.result` keeps for backward):
// show: Sources/TensorCore/Ops/Shape.swift embedding
//
// What the two kernels compute, as plain loops over arrays: the forward copies row ids[i] of the table;
// the backward adds each row's gradient back into the table row it came from, so a character that occurs
// twice in a batch collects both gradients. (That is why the op asks for a gradient buffer that starts at
// zero, `zeroedDestination`: the kernel adds into it, where most ops' backward kernels write every element.)
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.embedding NaiveKernels.embeddingBackward
// The table's first numbers come from `Tensor.normal`, draws of the seeded generator:
// fold: Sources/TensorCore/Tensor.swift Tensor.normal

section("5. The bigram model")
/// A bigram language model: the next character depends only on the current one.
final class BigramLanguageModel: LanguageModel {
    let table: Tensor  // (V, V): row = current character, column = next character
    let vocabularySize: Int
    let blockSize: Int

    init(vocabularySize: Int, blockSize: Int, random: SeededRandom) {
        self.vocabularySize = vocabularySize
        self.blockSize = blockSize
        // GPT practice: small random numbers, N(0, 0.02^2). Every row's softmax then starts almost
        // exactly uniform, so the first loss is ln(V). (The lecture's bigram.py keeps nn.Embedding's N(0, 1) and starts higher.)
        table = Tensor.normal([vocabularySize, vocabularySize], std: 0.02, random: random, requiresGrad: true)
    }

    var namedParameters: [(String, Tensor)] { [("token_embedding_table.weight", table)] }

    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        embedding(table, ids: ids, shape: [batchSize, length])   // (B, T) -> (B, T, V)
    }
}

let model = BigramLanguageModel(vocabularySize: vocabularySize, blockSize: settings.blockSize,
                                random: SeededRandom(seed: settings.seed))
print("parameters: \(model.table.count) (a \(vocabularySize) x \(vocabularySize) table)")
let peekLogits = model.logits(peek.inputs, batchSize: peek.batchSize, length: peek.blockSize, training: false)
print("the logits of section 4's batch: \(peekLogits.shape)   (B, T, V)\n")

// MARK: - 6. The loss, before training
//
// Cross-entropy: the mean of -ln p(correct next character), where p = softmax(logits) of the row. A
// model that knows nothing spreads its probability evenly, p = 1/V, so its loss is ln(V). Our
// nearly-zero table is almost exactly that. The loop below calls the tensor core's `crossEntropy` op, which
// fuses softmax and -ln p into one kernel and keeps the probabilities for backward:
// show: Sources/TensorCore/Ops/Loss.swift crossEntropy
//
// What its kernels compute for one row, as plain code: the loss is log(sum of exp) - the target's logit
// (the maximum subtracted first, so exp never overflows), and its gradient is simply
// softmax(logits) - onehot(target), which the op divides by the number of rows (it is a mean). The
// softmax of a row, by the textbook formula:
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.softmax NaiveKernels.crossEntropy NaiveKernels.crossEntropyBackward
//
// One batch's loss is noisy, so we estimate the loss as the mean over `evalIters` random batches of
// each split (gpt.py's estimate_loss), with gradients off: nothing here is trained. The batches come from
// their own generator, so evaluating never changes which batches training sees.

section("6. The loss, before training")
func estimateLoss(random: SeededRandom) -> (train: Float, val: Float) {
    withoutGradients {
        func meanLoss(_ split: Split) -> Float {
            var total: Float = 0
            for _ in 0..<settings.evalIters {
                let batch = dataset.batch(split, batchSize: settings.batchSize, blockSize: settings.blockSize,
                                          random: random)
                let logits = model.logits(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize, training: false)
                total += crossEntropy(logits, targets: batch.targets).scalar
            }
            return total / Float(settings.evalIters)
        }
        return (meanLoss(.train), meanLoss(.val))
    }
}
let before = estimateLoss(random: SeededRandom(seed: settings.seed, stream: .evaluation))
print(String(format: "loss before training: train %.4f, val %.4f (a uniform guess scores ln(%d) = %.2f)",
             before.train, before.val, vocabularySize, log(Double(vocabularySize))))

// MARK: - 7. Sampling
//
// Sampling: feed the context, turn the logits of the last position into probabilities (softmax), draw
// the next token from them, append it, and repeat. Every model in this project samples with this one
// loop, `TokenStream`: each `next()` asks for the logits after the context, samples one token, appends
// it. `generate` (gpt.py's) runs the stream to its end and returns the context:
// show: Sources/Training/Sampling.swift TokenStream LanguageModel.generate
// (`generateStream` hands out the same stream to a caller that prints each token as it comes: chapter 05's.)
// fold: Sources/Training/Sampling.swift LanguageModel.generateStream
//
// The logits after the context: the context, cropped to the last blockSize tokens (the positions a model
// has; the bigram only uses the last one), through the model, and the last position's row:
// show: Sources/Training/Sampling.swift LanguageModel.logitsAfter
//
// One draw: the softmax's weights, e^(logit - max) for every token (its division by the total is left to
// the draw), then a uniform number in [0, total) picks the token whose slice of the running sum it falls
// in. `temperature`, `topK` and `topP` reshape the weights first (chapter 05 uses them; here they are off:
// temperature 1, every token kept), so the code that makes the weights is folded:
// show: Sources/Training/Sampling.swift sampleToken drawIndex
// fold: Sources/Training/Sampling.swift samplingWeights
//
// Before training every row of the table is nearly uniform, so every character is about equally likely:
// expect noise over the whole vocabulary.

section("7. Sampling")
let samplingRandom = SeededRandom(seed: settings.seed, stream: .sampling)
let untrained = model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: samplingRandom)
print("sample before training:\n---\n\(tokenizer.decode(untrained))\n---\n")

// MARK: - 8. Training, written out
//
// One step is five lines of the loop below: a batch, its logits, the loss, backward(), AdamW. This section
// shows what each one calls, then the loop.
//
// Each step: a random batch, the forward pass and its loss, the gradients zeroed and then computed by
// backward(), and one AdamW update. Every `evalInterval` steps (and at the end) we estimate the loss.
// The parameters live in one flat buffer (`Parameters`), so zeroing every gradient is one fill and AdamW
// is one loop over it. Packing copies each tensor into the buffer and points the tensor at its slice, so
// `model.table` reads the updated numbers, and its gradient is a slice of the gradient buffer:
// fold: Sources/TensorCore/Optimization/Parameters.swift Parameters.init Parameters.zeroGrad
//
// `loss.backward()` is chapter 00's engine (Tensors and autograd). Each op made its output with
// `Tensor.result`, which keeps the inputs and the op's backward closure; backward() orders the graph, starts
// from the loss's gradient 1, and runs the closures from the loss back to the table. Here that is two
// closures: crossEntropy's writes dlogits, embedding's adds each row of it into the table's gradient.
// show: Sources/TensorCore/Tensor.swift Tensor.result
// fold: Sources/TensorCore/Autograd.swift Tensor.backward Tensor.topologicalOrder
// The order is a depth-first walk: a tensor comes after everything it was computed from, so walking it
// backwards, every tensor's gradient is complete before its own closure runs. (When one tensor feeds two
// ops, the second gradient to arrive is added to the first: chapter 00's `GradientBuffers`. The bigram's
// table feeds one op.)
//
// The schedule: the learning rate follows a cosine from 1e-2 down to 1e-3 over the run (nanoGPT's
// get_lr; the warmup is 0 steps here, chapter 04 uses one). `settings.schedule` builds it from the settings:
// show: Sources/Training/Hyperparameters.swift Hyperparameters.schedule
// show: Sources/TensorCore/Optimization/LearningRateSchedule.swift LearningRateSchedule.rate
//
// AdamW keeps a running mean m of each gradient and of its square v, and moves each weight by m / sqrt(v):
// a step of about the learning rate, whatever the gradient's scale. As a plain loop over the parameters:
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.adamW
//
// The library's AdamW starts both moments at 0 and uses beta2 = 0.99, as nanoGPT does for models this
// small (PyTorch's default, 0.999, averages the squared gradient over ten times as many steps and
// reacts more slowly). Its `update` is the same arithmetic for every parameter of the flat buffer, with
// the two bias corrections folded into one step size, and one difference: only matrices decay (each
// slot of the buffer knows whether it holds one); the bigram's only parameter is a matrix. The kernel it
// calls is in the last section.
// show: Sources/TensorCore/Optimization/AdamW.swift AdamW.init AdamW.update
//
// Expect the loss to fall fast from 4.17 and flatten near 2.5 within the first thousand steps.

section("8. Training, written out")
let parameters = Parameters(model.namedParameters)   // the table, moved into one flat buffer with its gradient
let optimizer = AdamW(for: parameters, weightDecay: settings.weightDecay)
let batchRandom = SeededRandom(seed: settings.seed, stream: .batches), evaluationRandom = SeededRandom(seed: settings.seed, stream: .evaluation)
let started = Date()
for step in 0...settings.steps {
    if step % settings.evalInterval == 0 || step == settings.steps {
        let (train, val) = estimateLoss(random: evaluationRandom)   // at step 0: the loss before training, as above
        print(String(format: "step %d: train loss %.4f, val loss %.4f", step, train, val))
    }
    if step == settings.steps { break }
    let batch = dataset.batch(.train, batchSize: settings.batchSize, blockSize: settings.blockSize, random: batchRandom)  // xb, yb = get_batch('train')
    let logits = model.logits(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize, training: true)  // (B, T, V): model(xb)
    let loss = crossEntropy(logits, targets: batch.targets)                 // F.cross_entropy(logits, yb), a scalar
    parameters.zeroGrad()                                                   // optimizer.zero_grad(set_to_none=True)
    loss.backward()                                                         // loss.backward()
    optimizer.update(parameters, learningRate: settings.schedule.rate(at: step))   // optimizer.step(), at get_lr(step)
}
print(String(format: "trained %d steps in %.2f s (the loss estimates included)", settings.steps, Date().timeIntervalSince(started)))

// MARK: - 9. The same loop, as Trainer
//
// `Trainer` is this loop, plus the evaluation schedule, the log line, a progress line with tokens/s and
// the time left, and a stop for a loss that turns NaN. Every later chapter trains with it. Its step is the
// loop's body above, with two additions: the gradient clipping of chapter 05 (`gradientClip` 0 here: off),
// and a first line in `lossAndGradient` for a batch computed in pieces, by several processes or as several
// micro-batches (chapter 07 · Data parallel). This chapter trains in one process, one piece, so it skips it:
// fold: Sources/Training/Trainer.swift Trainer.trainStep Trainer.lossAndGradient Trainer.loss
//
// To be sure it is the same loop, train a second bigram from the same seed with Trainer and compare
// every weight. They should be equal bit for bit: same initial table, same batches, same arithmetic.

section("9. The same loop, as Trainer")
let trained = BigramLanguageModel(vocabularySize: vocabularySize, blockSize: settings.blockSize,
                                  random: SeededRandom(seed: settings.seed))
let trainer = Trainer(model: trained, dataset: dataset, hyperparameters: settings)
exitOnError { try trainer.train(log: { _ in }) }   // quiet: the loop above already printed these losses
let largestDifference = zip(model.table.values, trained.table.values).map { abs($0 - $1) }.max() ?? 0
print(String(format: "Trainer's weights after %d steps against the loop's: largest difference %g (%@)",
             settings.steps, largestDifference, largestDifference == 0 ? "bit for bit the same" : "they differ"))
let after = trainer.evaluations.last!
print(String(format: "loss after training: train %.4f, val %.4f  (%.0f training tokens/s)",
             after.trainLoss, after.valLoss, trainer.tokensPerSecond))
exitOnError { try report.plotLoss(trainer) }

// Reading the loss figure: the grey line is each step's batch loss, the green line its running mean over the
// last 60 steps (2% of the 3,000), and the dots the estimates every 300 steps. A trailing mean of a falling
// curve lags above it: while the loss falls fast, over the first 300 steps or so, the green line sits above
// the grey one (the kink at step 60 is where the first loss, 4.17, leaves its window); once the loss is
// flat, the two agree.

// MARK: - 10. After training: text, and what the table learned

section("10. After training: text, and what the table learned")
let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample after training:\n---\n\(sample)\n---\n")
endOfCell()

// Each row of softmax(table) is a probability distribution over the next character: a heatmap of
// the model's entire knowledge. Dark cells are likely pairs (the scale runs from white, 0, to dark
// purple, 1). Look for the row of q, almost all of it on u (and Q on U); the rows of ':', '.' and '?',
// which lead to a newline (⏎); the orange column of spaces (␣) after lowercase letters; and v and z,
// mostly followed by e. The rows of rare characters ('$', '&', '3') stay pale and nearly uniform: they
// occur a handful of times in the text, so their rows were updated only in the few batches that held them.
let probabilities = softmax(model.table)
let labels = ChapterReport.tickLabels(Array(0..<vocabularySize), tokenizer: tokenizer)
exitOnError {
    report.drew(try Plotter.shared.heatmaps(
        [Heatmap("P(next | current)", rows: vocabularySize, columns: vocabularySize, values: probabilities.values)],
        rowLabels: labels, columnLabels: labels, title: "\(report.heading): next-character probabilities",
        xLabel: "next character", yLabel: "current character", colorRange: 0...1, maximumWidth: 1000,   // readable at a page's width
        in: report.folder, name: "bigram"))
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png, bigram.png, sample.txt, summary.json\n")
endOfCell()

// How good is 2.49? A bigram table can be filled without any training: count, in the training text, how
// often each character follows each other one, and divide each row by its total (makemore's first model).
// One is added to every count first, so that a pair never seen in training does not get probability 0 (an
// infinite loss). Its loss over the whole validation text is the reference for the trained table:

var pairCounts = [[Double]](repeating: [Double](repeating: 1, count: vocabularySize), count: vocabularySize)   // (V, V), 1 each
for (current, next) in zip(dataset.train, dataset.train.dropFirst()) { pairCounts[current][next] += 1 }
let rowTotals = pairCounts.map { $0.reduce(0, +) }
let countedLoss = zip(dataset.val, dataset.val.dropFirst())
    .map { current, next in -log(pairCounts[current][next] / rowTotals[current]) }.reduce(0, +) / Double(dataset.val.count - 1)
print(String(format: "counted pairs: val loss %.4f over all %d pairs of the val text; the trained table: %.4f (over %d batches)",
             countedLoss, dataset.val.count - 1, trainer.evaluations.last!.valLoss, settings.evalIters))
// A few of the table's probabilities beside the counts' (row: the current character; column: the next):
let trainedProbabilities = probabilities.values   // softmax(table), (V, V), from the heatmap above
for (current, next) in [("q", "u"), (":", "\n"), ("e", " "), ("t", "h"), ("h", "e")] {
    guard let c = try? tokenizer.encode(current).first, let n = try? tokenizer.encode(next).first else { continue }
    print(String(format: "  P(%@ | %@): trained %.3f, counted %.3f", next.debugDescription, current.debugDescription,
                 trainedProbabilities[c * vocabularySize + n], pairCounts[c][n] / rowTotals[c]))
}
if let q = try? tokenizer.encode("q").first, let u = try? tokenizer.encode("u").first {   // the counts behind P(u | q)
    print("  (q in the training text: \(Int(rowTotals[q]) - vocabularySize) times, followed by u \(Int(pairCounts[q][u]) - 1) times)")
}

// Training got within about 0.01 of counting: starting from random numbers, gradient descent found nearly
// the table that counting writes down directly: each row's softmax is close to the counts divided by
// their row's total, the probabilities with the lowest loss on the training text. The rows of common
// characters agree to a few thousandths. q's does not: in the training text every q is followed by u,
// but the +1 on each of q's 65 counts (it keeps unseen pairs possible) gives u only 564 / 628 = 0.898,
// where training, free of that rule, went on to 0.991.
// The two are measured a little differently (the trained table over 200 random batches, the counts over
// every pair of the val text once), so the last digits are noise. To go lower, a model must look at more
// than one character: chapter 02.

// MARK: - 11. How the library runs it fast
//
// The readable versions above are what the tests hold the fast kernels to. The CPU backend's kernels do
// the same arithmetic eight floats at a time (SIMD8<Float>: AVX2 on x86-64) on raw memory, with the
// softmax and the -ln p of the loss fused into one pass over each row:
// show: Sources/TensorCore/Backend/CPU/SoftmaxKernels.swift CPUBackend.crossEntropy CPUBackend.crossEntropyBackward
// show: Sources/TensorCore/Backend/CPU/LayoutKernels.swift CPUBackend.embedding CPUBackend.embeddingBackward
// show: Sources/TensorCore/Backend/CPU/OptimizerKernels.swift CPUBackend.adamW
//
// The tests that prove them equal to the readable versions, in Tests/TensorCoreTests:
// `embeddingCrossEntropyAndCausalSoftmaxMatchTheReadableVersions` and
// `softmaxLayerNormAndCrossEntropyMatchTheReferences` (KernelTests.swift), and
// `adamWOnManyValuesFollowsTheReadableLoop` (RandomAndOptimizerTests.swift). The same check on this
// chapter's trained table: one val batch's loss, by the op and by the readable loop.

section("11. How the library runs it fast")
let checkBatch = dataset.batch(.val, batchSize: settings.batchSize, blockSize: settings.blockSize, random: SeededRandom(seed: 0))
let tableRows = (0..<vocabularySize).map { Array(model.table.values[($0 * vocabularySize)..<(($0 + 1) * vocabularySize)]) }
let readableLoss = zip(NaiveKernels.embedding(tableRows, ids: checkBatch.inputs), checkBatch.targets)
    .map { NaiveKernels.crossEntropy($0, target: $1) }.reduce(0, +) / Float(checkBatch.targets.count)
let fastLoss = withoutGradients {
    crossEntropy(model.logits(checkBatch.inputs, batchSize: checkBatch.batchSize, length: checkBatch.blockSize, training: false),
                 targets: checkBatch.targets).scalar
}
print(String(format: "one val batch: the op's loss %.6f, the readable loop's %.6f (difference %.1e)",
             fastLoss, readableLoss, abs(fastLoss - readableLoss)))

