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
// mostly to itself and to the few just before it. Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build,
// `swift run -c release ch02 --data tinyshakespeare.txt`: val loss 2.3189 after 5000 steps.
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
// `--learning-rate` alone keeps the ratio of final to peak rate (3e-3 decays to 3e-4); add
// `--min-learning-rate` to set the floor, equal to the peak for a constant rate.

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

let (command, settings, report) = Chapter02.start(defaults, plots: "02-self-attention", title: "Self-attention Head")   // the flags: Flags.swift
let options = command.training
print("Chapter 02 · Self-attention: one Head\n")
section("Hyperparameters")
print("\(settings.table(showing: [.embeddingSize]))\n")   // one Head of size C; no layers, no dropout yet

// MARK: - 1. The trick: averaging the past
//
// We want position t to gather information from positions 0...t (never from the future: that is what
// it must predict). The crudest way: the mean of everything so far. Three ways to compute it, the second
// with the lower-triangular weights that Karpathy's lecture builds with `tril` and a row sum (gpt.py's Head
// keeps the same `tril` as its mask):
// show: Sources/Attention/AveragingThePast.swift AveragingThePast.byLoop AveragingThePast.averagingWeights AveragingThePast.byMatmul AveragingThePast.bySoftmax

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
//   Mask:    positions s > t get probability 0 (as if their score were -infinity).
//   Weights: softmax over s.     Output: weights @ v  (B, T, T) @ (B, T, hs) -> (B, T, hs)
//
// Attention is communication: each position gathers from the others, weighted by how well their keys match
// its query, and the mask decides who may talk to whom. A decoder like this one masks the future, because it
// learns to predict it; an encoder (BERT, or a translation model reading its source sentence) leaves the mask
// out and lets every position see every other. In cross-attention the keys and values come from another
// sequence altogether. Here q, k and v all come from the same x: self-attention.
//
// The Head, whole (its `dropout` is off in this chapter; chapter 05 turns it on). In Swift,
// `callAsFunction` is what Python calls `__call__` (PyTorch's `forward`): `head(x, training: false)` calls it.
// show: Sources/Attention/Head.swift Head
//
// Line by line against gpt.py's Head.forward:
//
//   gpt.py                                   here
//   k = self.key(x); q = self.query(x)       let k = key(x); let q = query(x)
//   wei = q @ k.transpose(-2, -1) * hs^-0.5  scale(matmul(q, k, transposeB: true), by: scoreScale)
//   masked_fill(tril == 0, -inf), softmax    softmax(scores, causal: true): the mask is part of the softmax
//   dropout(wei) @ self.value(x)             matmul(dropout(weights, training: training), value(x))
//
// The ops it calls are chapter 00's, each with its backward beside it: `matmul` multiplies the last two axes
// batch by batch (`transposeB: true` uses k^T), and `scale` multiplies every element by a number.
//
// (How the gradient flows back through these ops is section 10; the code of the `matmul` op is section 11's.)
//
// key, query and value are `Linear` layers without a bias: y = x W^T, with the weight stored (out, in)
// as in PyTorch's nn.Linear, and drawn from N(0, 0.02^2). (The `linear` op it calls is chapter 00's;
// section 11 shows it.)
// show: Sources/Layers/Layers.swift Linear
//
// The causal mask lives in the softmax: `softmax(scores, causal: true)` gives query i (row i of each
// (T, T) block of scores) probabilities over keys 0 ... i only. What it computes, as plain code (the op
// itself and its backward are in section 10, the fast kernels in section 11): chapter 01's row softmax over
// the visible keys, with zeros for the future.
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.causalSoftmax
// The plain row softmax it calls, chapter 01's:
// fold: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.softmax

section("2. One Head of self-attention")
func variance(_ x: Tensor) -> Float {
    let values = x.values, mean = values.reduce(0, +) / Float(values.count)
    return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
}
let demoHead = Head(embeddingSize: 2, headSize: 4, random: random)
let demoOut = demoHead(toy, training: false)
let attention = demoHead.lastAttention!
print("a Head on x of shape \(toy.shape) gives \(demoOut.shape); its attention is \(attention.shape)")
let row3 = (0..<8).map { attention[0, 3, $0] }
print("row 3 of the first sequence: " + row3.map { String(format: "%.3f", $0) }.joined(separator: " "))
print(String(format: "(%d non-zero weights summing to %.3f, then zeros for the future)\n", row3.filter { $0 > 0 }.count,
             row3.reduce(0, +)))

print(String(format: "the scores of this fresh Head: variance %.1e",
             variance(matmul(demoHead.query(toy), demoHead.key(toy), transposeB: true))))
endOfCell()
// The four weights are almost exactly 1/4: a fresh Head's weights are small (N(0, 0.02^2)), so every
// score q . k is nearly 0 (the variance above) and the softmax is nearly the plain average of section 1.
// Training is what makes the scores, and so the weights, differ. To see a Head choose before any training,
// make its query and key weights 30 times larger by hand. Then every q and k is 30 times larger, every
// q . k 900 times, and their variance 900² = 810,000 times: from 2.4e-6 to about 2 (the softmax sees a
// quarter of that, after the Head's 1/sqrt(4)). The same row's weights now depend on what each earlier
// position holds.

for weight in [demoHead.query.weight, demoHead.key.weight] {
    weight.storage.copy(fromHost: weight.values.map { 30 * $0 })   // a stand-in for what training does
}
_ = demoHead(toy, training: false)
let chosen = (0..<8).map { demoHead.lastAttention![0, 3, $0] }
let largerScores = matmul(demoHead.query(toy), demoHead.key(toy), transposeB: true)   // (4, 8, 8)
print(String(format: "query and key weights x30: the scores' variance %.2f, %.2f after the scale", variance(largerScores),
             variance(scale(largerScores, by: demoHead.scoreScale))))
print("the same row now: " + chosen.map { String(format: "%.3f", $0) }.joined(separator: " "))
endOfCell()

// MARK: - 3. Why divide by sqrt(hs)
//
// The scale's story takes three sections: here, what it does to q and k of unit size; section 8, how far
// training takes the scores anyway; section 9, training with and without it, from two starts.
//
// Then why the scale, if the scores start near 0 anyway? Because not every model starts that small. When q
// and k start with entries of variance about 1 (PyTorch's default initialization comes close, section 9),
// q . k is a sum of hs products of variance 1: its variance is hs. A softmax of scores that spread so wide
// puts most of its weight on the largest one, and its gradient shrinks as that share nears 1. Dividing by
// sqrt(hs) brings the variance back to 1, for any head size.
//
// Measured below, on q and k drawn from N(0, 1) with this chapter's head size (their own generator: the
// model's weights are untouched), in rows of 32 scores with no mask: the variance, the largest weight of a
// row, and how much gradient a row lets through. For that last one: the softmax's Jacobian is
// dp_i/ds_j = p_i (δ_ij - p_j), and the sum of its diagonal, 1 - Σ p_i², is 0 for a one-hot row and
// 1 - 1/32 for a uniform one.

section("3. Why divide by sqrt(hs)")
let unitRandom = SeededRandom(seed: 2)
let headSize = settings.embeddingSize   // one head of size C
let positions = settings.blockSize        // T: one row of scores per position
let unitQ = Tensor.normal([1, positions, headSize], std: 1, random: unitRandom)      // (1, T, hs), variance 1
let unitK = Tensor.normal([1, positions, headSize], std: 1, random: unitRandom)
func largestWeight(_ scores: Tensor) -> Float {   // the mean over rows of each row's largest softmax weight
    let weights = softmax(scores).values, n = positions
    return (0..<n).map { row in weights[(row * n)..<((row + 1) * n)].max()! }.reduce(0, +) / Float(n)
}
/// The mean over the rows of an (n, n) attention matrix of 1 - Σ p², the softmax Jacobian's trace: the
/// gradient a row lets through, 0 for a one-hot row. (Section 9 measures it again, after training.)
func gradientPassed(_ weights: [Float], rows n: Int) -> Float {
    (0..<n).map { row in 1 - weights[(row * n)..<((row + 1) * n)].reduce(0) { $0 + $1 * $1 } }.reduce(0, +) / Float(n)
}
let unscaled = matmul(unitQ, unitK, transposeB: true)                          // (1, T, T)
let scaled = scale(unscaled, by: 1 / Float(headSize).squareRoot())
print(String(format: "q, k ~ N(0, 1), hs = %d: variance of q.k = %.1f unscaled, %.2f divided by sqrt(hs)", headSize,
             variance(unscaled), variance(scaled)))
print(String(format: "the largest softmax weight of a row of %d: %.2f unscaled, %.2f scaled (1/%d = %.3f is uniform)",
             positions, largestWeight(unscaled), largestWeight(scaled), positions, 1.0 / Double(positions)))
print(String(format: "the gradient a row lets through, 1 - sum p^2: %.2f unscaled, %.2f scaled (%.2f uniform, 0 one-hot)\n",
             gradientPassed(softmax(unscaled).values, rows: positions), gradientPassed(softmax(scaled).values, rows: positions),
             1 - 1.0 / Double(positions)))

// MARK: - 4. The data (as in chapter 01)

section("4. The data (as in chapter 01)")
let (text, tokenizer, dataset) = options.loadChapterData(settings)   // text, tokenizer, 90/10 split; absurd sizes refused
print("\(text.count) characters, vocabulary: \(tokenizer.summary); train \(dataset.train.count), val \(dataset.val.count)\n")

// MARK: - 5. A language model with one Head
//
//   ids (B, T) -> token embedding + position embedding (B, T, C) -> Head (B, T, C) -> Linear (B, T, V)
//
// The position embedding matters now: attention sums over positions and would not otherwise know
// which character came first. Both tables are `Embedding`s: a (rows, C) table drawn from N(0, 0.02^2), and a
// lookup that copies one row per id (chapter 01's `embedding` op; its backward adds each position's gradient
// into the row it came from):
// show: Sources/Layers/TokenAndPositionEmbedding.swift TokenAndPositionEmbedding
// fold: Sources/Layers/Layers.swift Embedding
// fold: Sources/TensorCore/Ops/Shape.swift embedding

section("5. A language model with one Head")
/// Token and position embeddings, one self-attention Head, and a Linear layer to the vocabulary.
final class OneHeadLanguageModel: LanguageModel {
    let embedding: TokenAndPositionEmbedding
    let head: Head
    let languageModelHead: Linear
    let blockSize: Int, vocabularySize: Int

    init(vocabularySize: Int, blockSize: Int, embeddingSize: Int, scaledScores: Bool = true, random: SeededRandom) {
        self.vocabularySize = vocabularySize
        self.blockSize = blockSize
        embedding = TokenAndPositionEmbedding(vocabularySize: vocabularySize, blockSize: blockSize,
                                              embeddingSize: embeddingSize, random: random)
        head = Head(embeddingSize: embeddingSize, headSize: embeddingSize, scaled: scaledScores, random: random)
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

let initialDraw = random.state   // section 9 draws four more models from the same state: the same first weights
let model = OneHeadLanguageModel(vocabularySize: tokenizer.vocabularySize, blockSize: settings.blockSize,
                                 embeddingSize: settings.embeddingSize, random: random)
let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
print("parameters: \(trainer.parameters.count)")
let before = trainer.estimateLoss()
print(String(format: "loss before training: train %.4f, val %.4f (ln(%d) = %.2f)", before.train, before.val,
             tokenizer.vocabularySize, log(Double(tokenizer.vocabularySize))))
let samplingRandom = SeededRandom(seed: settings.seed, stream: .sampling)
endOfCell()
// (Every sample starts from `tokenizer.startToken`, the newline character, id 0, as gpt.py's
// `torch.zeros((1, 1))` does: so each sample opens with a fresh line. The sample before training is chapter
// 01's, character for character: a nearly uniform model and the same sampling generator draw the same
// characters.)
print("sample before training:\n---\n\(tokenizer.decode(model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: samplingRandom)))\n---\n")
endOfCell()

// The whole path from ids to the loss in one listing, as gpt.py writes it: the ops alone, on this model's own
// weights, for one batch of 4 windows. It must give the model's loss on that batch exactly, since it is
// what `OneHeadLanguageModel.logits`, `Head` and `Trainer.loss` compute between them.
func listingLosses() -> (byHand: Float, model: Float) {
    withoutGradients {
        let batch = dataset.batch(.train, batchSize: 4, blockSize: settings.blockSize, random: SeededRandom(seed: 0))
        let (b, t) = (batch.batchSize, batch.blockSize)
        let tokens = embedding(model.embedding.token.weight, ids: batch.inputs, shape: [b, t])          // (B, T, C)
        let positions = embedding(model.embedding.position.weight, ids: Array(0..<t), shape: [t])       // (T, C)
        let x = tokens + positions                                          // (B, T, C): `+` is the add op, broadcast over B
        let k = linear(x, weight: model.head.key.weight, bias: nil)                                     // (B, T, hs)
        let q = linear(x, weight: model.head.query.weight, bias: nil)                                   // (B, T, hs)
        let v = linear(x, weight: model.head.value.weight, bias: nil)                                   // (B, T, hs)
        let scores = scale(matmul(q, k, transposeB: true), by: 1 / Float(model.head.headSize).squareRoot())  // (B, T, T)
        let weights = softmax(scores, causal: true)                                                     // (B, T, T)
        let attended = matmul(weights, v)                                                               // (B, T, hs)
        let logits = linear(attended, weight: model.languageModelHead.weight, bias: model.languageModelHead.bias)  // (B, T, V)
        let byHand = crossEntropy(logits, targets: batch.targets)                                       // mean of -ln p(next)
        let byModel = crossEntropy(model.logits(batch.inputs, batchSize: b, length: t, training: false), targets: batch.targets)
        return (byHand.scalar, byModel.scalar)
    }
}
/// Prints the two losses and stops the run when they differ: a check, not a demo (the run and its test fail).
func checkTheListing(_ when: String) {
    let losses = listingLosses()
    print(String(format: "%@, the listing's loss on one batch: %.6f; the model's: %.6f\n", when, losses.byHand, losses.model))
    if abs(losses.byHand - losses.model) > 1e-5 {
        FileHandle.standardError.write(Data("error: the listing's loss is not the model's\n".utf8))
        exit(1)
    }
}
checkTheListing("at initialization")

// MARK: - 6. Training
//
// The same loop as chapter 01 (Trainer): expect the val loss to fall past the bigram's 2.49 within the
// first 1,000 steps, because each position now sees up to T = 32 characters instead of one.
//
// Generation is chapter 01's loop too, and the crop that did nothing for the bigram matters now: the
// model has only T = 32 positions (the position table has 32 rows), so `logitsAfter` keeps the context's
// last blockSize tokens before every forward pass (`context.suffix(blockSize)`):
// show: Sources/Training/Sampling.swift LanguageModel.logitsAfter
// Training is chapter 01's, in gpt.py's terms `F.cross_entropy(logits, targets)`, `loss.backward()` and
// `torch.optim.AdamW(params, lr, betas=(0.9, 0.99), weight_decay=0.01).step()`: each step the cross-entropy
// of the logits against the next characters, its backward through every op, and an AdamW update (betas 0.9 and 0.99, the library's defaults, from nanoGPT's
// Shakespeare config) at the cosine schedule's rate (no warmup and no gradient
// clipping here: both 0 in this chapter's settings, which is why the table above leaves them out; chapter 05
// turns them on). Chapter 01's page shows all of it, line by line: the schedule, AdamW, the loop with its
// estimates, the cross-entropy and generation's loop. For reference here, one step:
// fold: Sources/Training/Trainer.swift Trainer.trainStep
// And generation, chapter 01's loop, which `logitsAfter` above feeds:
// fold: Sources/Training/Sampling.swift LanguageModel.generate
//
// Reading the loss figure: the grey line is each step's batch loss, and the green line its running mean
// over the last 100 steps (2% of the 5000). Before step 100 the window holds every step so far, back to
// the first loss of 4.17, so the mean lags above the batch losses; from step 100 on the window slides, and
// the first steps' high losses leave it one a step, so within a few dozen steps the mean falls to meet the
// batch losses. That fall is the kink near step 100, an artefact of the average, not of training. The dots are `estimateLoss` every 500 steps.

section("6. Training")
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
endOfCell()
// Section 5's listing again, on the trained weights. At initialization every logit was near 0, so any
// listing would have given about ln 65 whatever its attention did; now the weights are far from 0, and the
// listing of ops must still give exactly the model's loss:
checkTheListing("after training")
endOfCell()
// The sample and a summary of the run, written beside the plots (`printLoss` draws the loss curves as text on
// a terminal; when the output is a file, as for this page, it prints nothing):
exitOnError {
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: sample.txt, summary.json")

// MARK: - 7. What the Head looks at
//
// Run the first T characters of the validation text through the model and draw the head's T x T
// attention: row t shows how position t spread its attention over positions 0...t.

section("7. What the Head looks at")
let prompt = Array(dataset.val.prefix(settings.blockSize))
_ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)   // a forward pass keeps the Head's weights
exitOnError {
    try report.plotAttention([("one head", model.head.lastAttention!)], prompt: prompt, tokenizer: tokenizer, name: "attention",
                             title: "\(report.heading): attention on \(tokenizer.decode(prompt).replacingOccurrences(of: "\n", with: "⏎"))")
}

// Reading the heatmap: row t (a query) is one softmax over the keys 0...t, so each row sums to 1 and
// everything right of the diagonal is 0 (the causal mask, `softmax(scores, causal: true)`). Dark cells
// are large weights (white is 0, dark purple 1). Many rows put most of their weight on the diagonal, a
// position attending to itself: its own value carries the current character, the bigram's whole
// information. The orange and red cells just left of the diagonal are the character or two before: row "R"
// puts about half its weight on the "G" before it, the "w" of "morrow" on its "o", the "o" of "neighbou" on
// its "b". A row that puts almost all its weight on one earlier cell has found one character that predicts
// the next well ("h" looks back at the "g" of "neigh"). One head has only one softmax per
// position, so it has to choose one such pattern per position: chapter 03 gives it several.

// MARK: - 8. How sharp training makes the scores
//
// Section 3's "variance 1" is a statement about q and k with entries of unit size: there, the scale keeps
// the softmax soft whatever hs is, so every key gets some gradient. It is not a limit on where training goes.
// The loss rewards sharp attention (the heatmap's dark cells), so training grows q and k far past unit size.
// How far is not set by anything in the model. A row that picks one key needs only a modest gap: the middle
// row of the 32 sees 16 keys, and a top score 4 above the other 15 already gives that key
// 1 / (1 + 15 e^-4) = 0.78 of the weight. But the scores of the keys a row ignores can sit anywhere below
// the top, and they all count in a variance. So expect rows that are sharp but not one-hot (a largest
// weight between about 0.5 and 0.9), and scores spread over tens of units: a variance in the hundreds. Measured on the trained
// Head's scores for the val text of section 7, over the visible entries only (key
// j <= query i; the masked ones never reach the softmax):

section("8. How sharp training makes the scores")
/// The scores q . k (1, T, T) that `model`'s Head computes for `ids`, before its scale.
func headScores(_ model: OneHeadLanguageModel, _ ids: [Int]) -> Tensor {
    withoutGradients {
        let x = model.embedding(ids, batchSize: 1, length: ids.count)              // (1, T, C)
        return matmul(model.head.query(x), model.head.key(x), transposeB: true)    // (1, T, T)
    }
}
func visibleVariance(_ scores: Tensor) -> Float {   // the variance of the entries key j <= query i
    let T = prompt.count, values = scores.values
    let visible = (0..<T).flatMap { i in (0...i).map { j in values[i * T + j] } }
    return variance(Tensor(shape: [visible.count], values: visible))
}
/// The mean over the rows of the attention on `prompt` of the weight each position puts on itself (the
/// diagonal): 1 for a Head that only ever looks at the current character, a bigram's information.
func meanWeightOnItself(_ model: OneHeadLanguageModel) -> Float {
    _ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
    let weights = model.head.lastAttention!.values, T = prompt.count
    return (0..<T).map { weights[$0 * T + $0] }.reduce(0, +) / Float(T)
}
/// The mean over the rows of the attention on `prompt` of each row's largest weight (1/T to 1 for a
/// uniform row; 1 for a one-hot row): how sharp the Head looks.
func meanLargestWeight(_ model: OneHeadLanguageModel) -> Float {
    _ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
    let weights = model.head.lastAttention!.values, T = prompt.count
    return (0..<T).map { row in weights[(row * T)..<((row + 1) * T)].max()! }.reduce(0, +) / Float(T)
}
let trainedProducts = headScores(model, prompt)                          // (1, T, T), q . k
let scoresSeen = scale(trainedProducts, by: model.head.scoreScale)       // what the softmax sees
print(String(format: "the trained Head's q . k: variance %.1f before the scale, %.1f after it; the largest weight of a row: %.2f on average",
             visibleVariance(trainedProducts), visibleVariance(scoresSeen), meanLargestWeight(model)))

// The softmax of section 6's trained Head sees scores with a variance near 150, a spread of about 12, and its
// rows are sharp (their largest weight is 0.75 on average). Training made them so: at the start (section 2)
// every row was nearly uniform, scale or no scale.

// MARK: - 9. Does the scale matter here?
//
// So does the scale change anything in this model? The experiment: the same model from the same first
// weights (`initialDraw`), on the same batches, trained with and without the scale (`Head(..., scaled:
// false)`). And the same pair again from PyTorch's default initialization (N(0, 1) embeddings, Linear weights
// uniform in +-1/sqrt(fan-in), what the lecture's first gpt.py starts from): there x has entries of variance 2
// and q, k of variance 2/3 (a size of about 0.8, the table's fourth column), near section 3's unit size.
// To keep the chapter quick, each of the four trains 2,000
// steps (section 6 trained 5,000), quietly, with the same schedule squeezed into those steps. PyTorch's
// initialization, redrawn over the model's parameters:
// fold: Sources/Layers/PyTorchInitialization.swift PyTorchInitialization
//
// Each row of the table is one run of one seed, so differences of a few hundredths are within what another
// seed could change.
//
// The table's columns: "largest weight" is the mean over the 32 rows of the val text's attention of each
// row's largest weight. Uniform causal rows give 0.13 (row i spreads over i + 1 keys, and 1/(i + 1)
// averages 0.13 over 32 rows), one-hot rows 1. It is measured before training ("at start") and after.
// "q, k size" is the root mean square of the query's and key's entries on the val text, at start and after.
// "Variance seen" is that of the scores the softmax sees after training, after the scale where there is one.
// "1 - Σp²" is section 3's gradient a row lets through, the mean over the 32 rows after training (uniform
// causal rows give 0.87, one-hot rows 0). "On itself" is the mean weight a position puts on its own
// character, after training.

section("9. Does the scale matter here?")
/// A model as section 5 drew it, from `initialDraw` (or from PyTorch's initialization).
func freshModel(scaled: Bool, pytorchInitialization: Bool) -> OneHeadLanguageModel {
    let fresh = OneHeadLanguageModel(vocabularySize: tokenizer.vocabularySize, blockSize: settings.blockSize,
                                     embeddingSize: settings.embeddingSize, scaledScores: scaled,
                                     random: SeededRandom(state: initialDraw))
    if pytorchInitialization {
        PyTorchInitialization.apply(to: fresh.namedParameters, random: SeededRandom(seed: settings.seed, stream: .pytorchInitialization))
    }
    return fresh
}
var shorter = settings
shorter.steps = settings.steps * 2 / 5                                     // 2,000 at the chapter's defaults
/// The root mean square of q's and k's entries on `prompt`: how large the Head's queries and keys are.
func queryKeySize(_ model: OneHeadLanguageModel) -> Float {
    withoutGradients {
        let x = model.embedding(prompt, batchSize: 1, length: prompt.count)          // (1, T, C)
        let entries = model.head.query(x).values + model.head.key(x).values          // 2 T hs numbers
        return (entries.reduce(0) { $0 + $1 * $1 } / Float(entries.count)).squareRoot()
    }
}
/// Section 3's `gradientPassed`, on the trained head's attention over `prompt`. (Row i has i + 1 visible
/// keys, so uniform rows give 0.87 here, not 0.97.)
func meanGradientPassed(_ model: OneHeadLanguageModel) -> Float {
    _ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
    return gradientPassed(model.head.lastAttention!.values, rows: prompt.count)   // (T, T) weights
}
/// Trains `fresh` for `shorter.steps`, printing nothing; every run draws the same batches.
func trainQuietly(_ fresh: OneHeadLanguageModel) -> Trainer {
    let quietTrainer = Trainer(model: fresh, dataset: dataset, hyperparameters: shorter)
    exitOnError { try quietTrainer.train(log: { _ in }) }
    return quietTrainer
}
var scaleRuns: [(label: String?, trainer: Trainer)] = []   // for the plot after the table
print("                                   at start                    after training")
print("initialization      scale           largest w.  q, k size   val loss  variance seen  q, k size  largest w.  1 - Σp²  on itself")
for pytorchInitialization in [false, true] {
    for scaled in [true, false] {
        let trained = freshModel(scaled: scaled, pytorchInitialization: pytorchInitialization)
        let sharpAtStart = meanLargestWeight(trained), sizeAtStart = queryKeySize(trained)
        let quietTrainer = trainQuietly(trained)
        let valLoss = quietTrainer.evaluations.last!.valLoss
        scaleRuns.append(((pytorchInitialization ? "PyTorch's start, " : "N(0, 0.02^2) start, ")
                          + (scaled ? "scaled" : "unscaled"), quietTrainer))
        let seen = scale(headScores(trained, prompt), by: trained.head.scoreScale)   // what its softmax sees
        print(String(format: "%@  %@  %10.2f  %9.3f   %8.4f  %13.1f  %9.2f  %10.2f  %7.2f  %9.2f",
                     (pytorchInitialization ? "PyTorch's defaults" : "N(0, 0.02^2)      ") as NSString,
                     (scaled ? "1/sqrt(hs)  " : "none        ") as NSString,
                     sharpAtStart, sizeAtStart, valLoss, visibleVariance(seen), queryKeySize(trained),
                     meanLargestWeight(trained), meanGradientPassed(trained), meanWeightOnItself(trained)))
    }
}
exitOnError {
    try report.plotLoss(scaleRuns, name: "scale", title: "\(report.heading): with and without the scale, from two starts")
}

// From this chapter's small start, the scale makes no difference beyond a seed's few hundredths:
//
// - The softmax sees scores of about the same spread either way (the variance column), and the rows end as
//   sharp. Training made up for the missing division by growing q and k less: their entries end at 0.80
//   unscaled against 1.79 scaled. A score is a sum of products of a q and a k entry, so to give the same
//   scores without the division by sqrt(32) = 5.7, each needs to be 32^(1/4) = 2.4 times smaller; the
//   runs' ratio is 1.79 / 0.80 = 2.2.
// - How far the spread goes differs from run to run, 80 to 150 here, while the rows end equally sharp: as
//   section 8 said, the scores a row ignores count in the variance, and the loss does not care where they sit.
// - Two things let it. The weights start at N(0, 0.02^2), so every row starts uniform with or without the
//   scale. And AdamW's steps are sized by the learning rate, not by the gradient (chapter 01: each weight
//   moves by about the learning rate times m / sqrt(v), a number near ±1), so q and k grow to whatever
//   spread the loss asks for.
//
// From PyTorch's start, q and k have entries near unit size, section 3's case:
//
// - Scaled, the rows start soft (0.23) and the run ends about where our initialization's scaled run does.
// - Unscaled, the rows start sharp (0.68 in the third column, against 0.13 for uniform causal rows), where
//   the softmax's gradient is small. Within these 2,000 steps training does not recover: the
//   rows end nearly one-hot and the val loss near the bigram's 2.49. The figure shows it: that run's curve
//   (dashed, the fourth) falls to the bigram's level within a few hundred steps and stays there, while the
//   other three go on falling together. What it locked onto: 0.79 of its weight on the character itself
//   (the other runs 0.67 to 0.69), in rows that are nearly one-hot, so it mostly reads the current
//   character alone, a bigram's information, and ends with a bigram's loss. Why AdamW does not get it out:
//   a step is sized by the learning rate, but its direction still comes from the gradient, and through a
//   nearly one-hot row that gradient says almost nothing about the keys the row ignores (section 3's
//   1 - Σ p²: 0.08 in that run, against 0.37 in the other three), so no step points towards them.
//
// That is the scale's job: a soft start whatever the initialization and the head size. It costs one
// multiplication per score, and gpt.py, nanoGPT and every GPT keep it.

// MARK: - 10. The gradient through a Head
//
// Training needs the loss's gradient with respect to the key, query and value weights. backward() runs the
// forward pass in reverse, and each op's closure writes its inputs' gradients (chapter 00 · Tensors and
// autograd). For out = P v with P = softmax(S) and S = q k^T / sqrt(hs), the gradient dOut becomes:
//   out = P v           dP = dOut v^T           dv = P^T dOut           (matmul's backward)
//   P = softmax(S)      dS = P * (dP - rowsum(P * dP)), 0 where masked  (the causal softmax's, below)
//   S = A / sqrt(hs)    dA = dS / sqrt(hs)                              (scale's)
//   A = q k^T           dq = dA k               dk = dA^T q             (matmul's, with transposeB)
//   q = x Wq^T          dWq = dq^T x            dx = dq Wq              (linear's, chapter 00; k, v alike)
// x feeds the key, the query and the value, so its gradient is the sum of three products (chapter 00's
// autograd engine adds a gradient into one already there, as PyTorch's does).
//
// Four of the five rows are products. For C = A B, the chain rule on c_ij = sum over p of a_ip b_pj gives
// dA = dC B^T and dB = A^T dC: each gradient is one more product. As plain code:
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.matmulBackward
// The `matmul` op computes the same with the transpose flags of one gemm call (section 11, and the test
// `matmulBackwardMatchesTheReadableVersion`); `linear` (the Linear layers) is matmul with a shared weight.
// `scale` multiplies the gradient by the same number, and `+` hands it to both inputs:
// fold: Sources/TensorCore/Ops/Elementwise.swift scale add
//
// The softmax op, forward and backward side by side: it hands the rows to the backend's kernel, with a
// `CausalMask` saying how many keys each row sees. The two pieces of autograd plumbing in it are chapter
// 00's: `Tensor.result` makes the output and keeps the backward closure, and `grads.destination(for: x)` is
// the buffer where x's gradient goes (nil when x needs none).
// show: Sources/TensorCore/Ops/Softmax.swift softmax
//
// What the backward kernel computes, as plain code: for y = softmax(x) and the loss's gradient dy,
// dx = y * (dy - sum(y * dy)), row by row, and 0 for the future (its y is 0). (From the softmax's
// derivative, dy_i/dx_j = y_i (1[i = j] - y_j), so dx_j = sum over i of dy_i y_i (1[i = j] - y_j), which
// is y_j dy_j - y_j sum(y dy).)
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.causalSoftmaxBackward
//
// Checked the way chapter 00 checks its ops: every gradient of a small Head (x and the three weight
// matrices, weights 20 times larger than at initialization so that the softmax is far from uniform) against
// central differences, (L(w + eps) - L(w - eps)) / (2 eps), one number at a time. The number L whose gradient
// is checked is sum(R * out), for the Head's output `out` (2, 5, 4) and a fixed random R of the same shape
// (chapter 00's `gradientCheck`): backward starts from R, as a loss's gradient would arrive.
// fold: Sources/TensorCore/GradientCheck.swift gradientCheck

section("10. The gradient through a Head")
let checkRandom = SeededRandom(seed: 3)                     // its own generator: the model is not touched
let checkX = Tensor.normal([2, 5, 3], std: 1, random: checkRandom, requiresGrad: true)    // (B, T, C) = (2, 5, 3)
let checkHead = Head(embeddingSize: 3, headSize: 4, random: checkRandom)
let checkedWeights = [checkHead.key.weight, checkHead.query.weight, checkHead.value.weight]   // (4, 3) each
for weight in checkedWeights { for i in 0..<weight.count { weight.storage[i] *= 20 } }
let headCheck = gradientCheck([checkX] + checkedWeights) { checkHead(checkX, training: false) }
print("a Head's gradients against central differences: \(headCheck.checkedElements) numbers (x and Wk, Wq, Wv), "
      + "\(headCheck.passed ? "PASS" : "FAIL"), " + String(format: "largest error %.1e\n", headCheck.maxAbsoluteError))

// MARK: - 11. How the library runs it fast
//
// Every product above (`matmul`, `linear`) ends in `backend.gemm`: C = alpha op(A) op(B) + beta C, for a
// batch of matrices at a stride. What it computes is chapter 00's plain triple loop:
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.matmul
// The ops, forward and backward side by side. A transposed operand is never copied: gemm reads it through
// its flag, so each gradient of section 10 (dA = dC B^T, dB = A^T dC) is one gemm call with the flags
// flipped. `linear` copies the bias into every output row first and lets the gemm add onto it (beta = 1):
// fold: Sources/TensorCore/Ops/Matmul.swift matmul linear
// The CPU backend hands each batch element to OpenBLAS's sgemm (sgemv for a single row), sharing the batch
// between threads when the products are small:
// show: Sources/TensorCore/Backend/CPU/CPUBackend.swift CPUBackend.gemm
// show: Sources/TensorCore/Backend/CPU/BLAS.swift BLAS.gemm
//
// The causal mask the softmax op passes down is two numbers: how many queries a (T, T) block has, and how
// many keys are already cached before the first of them (`offset`, 0 in this chapter):
// show: Sources/TensorCore/Backend/Backend.swift CausalMask
//
// The softmax kernel of the CPU backend, which `softmax(scores, causal: true)` calls: row r of the scores
// is query i = r % T, which sees keys 0 ... offset + i (`visibleKeys(row: r)` = offset + i + 1 of them;
// the offset is 0 here). It takes the row's maximum, exponentiates and sums eight floats at a time,
// normalizes, and sets the rest of the row to exactly 0. Its `scale` multiplies the scores first; Head
// scales them itself (`scale(matmul(q, k))` above), so here it is 1. The backward sits beside the forward:
// show: Sources/TensorCore/Backend/CPU/SoftmaxKernels.swift CPUBackend.softmax CPUBackend.softmaxBackward
//
// The test that holds it to the readable `NaiveKernels.causalSoftmax`:
// `embeddingCrossEntropyAndCausalSoftmaxMatchTheReadableVersions` (Tests/TensorCoreTests/KernelTests.swift),
// and `softmax` among the gradient checks (GradientCheckTests.swift). The same comparison on the trained
// Head's scores for the val text of section 7 (`scoresSeen`, section 8):

section("11. How the library runs it fast")
let scoreRows = (0..<prompt.count).map { Array(scoresSeen.values[($0 * prompt.count)..<(($0 + 1) * prompt.count)]) }
let readableWeights = NaiveKernels.causalSoftmax(scoreRows).flatMap { $0 }
let kernelDifference = zip(model.head.lastAttention!.values, readableWeights).map { abs($0 - $1) }.max() ?? 0
print(String(format: "the kernel's attention against NaiveKernels.causalSoftmax: largest difference %.1e", kernelDifference))
