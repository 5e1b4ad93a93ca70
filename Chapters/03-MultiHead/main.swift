// Chapter 03 · MultiHead: several heads of attention in parallel
// ==============================================================
//
// One head computes one kind of affinity: a single softmax per position. But a character has several
// things to look for at once (the previous letter, the start of the word, the last vowel...). So we
// run n smaller heads side by side, each of size C / n, concatenate their outputs back to C channels,
// and mix them with a projection (then dropout, off in this chapter; in the library, as in gpt.py, it also
// drops attention weights inside each head). Same cost as one big head (plus a C x C projection), more kinds of looking.
//
//   swift run -c release ch03            (--quick for a few seconds, --help for every flag)
//
// Expected: better than chapter 02's single head, and heads that look in different ways (one of them back to the start of the word).
// Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build,
// `swift run -c release ch03 --data tinyshakespeare.txt`: val loss 2.0733 after 5000 steps.
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
    dropout: 0,            // no dropout yet: the train-val gap (about 0.15 at the end) is small enough to go without
    seed: 1337,
    evalInterval: 500,
    evalIters: 200,
    maxNewTokens: 500)

let (command, settings, report) = Chapter03.start(defaults, plots: "03-multi-head", title: "MultiHead attention")   // the flags: Flags.swift
let options = command.training
print("Chapter 03 · MultiHead\n")
section("Hyperparameters")
print("\(settings.table(showing: [.embeddingSize, .heads, .dropout]))\n")   // one attention layer: no layers yet

// MARK: - 1. MultiHead, shape by shape
//
//   x (B, T, C) --head 1--> (B, T, C/n) \
//               --head 2--> (B, T, C/n)  }-- concatenate --> (B, T, C) -- projection --> (B, T, C) -- dropout
//               ...                     /
//
// Why the projection: after the concatenation, channels 0 ..< C/n came from head 1 only, the next C/n from
// head 2 only, and so on. The projection, a C x C Linear layer, lets every output channel take from every
// head. In this chapter's one-layer model the next layer is the Linear to the vocabulary: two Linear layers
// in a row are one Linear layer, so here the projection adds nothing the model could not already compute
// (it only changes how training gets there). It matters from chapter 04 on, where the output of one
// attention layer goes back into the residual stream that the next Block reads.
//
// As gpt.py writes it: n of chapter 02's Heads, each of size C/n, side by side. The Head again:
// show: Sources/Attention/Head.swift Head

section("1. MultiHead, shape by shape")
/// MultiHead as gpt.py writes it: n Heads of size C/n, their outputs concatenated, then a projection.
final class PerHeadMultiHead {
    let heads: [Head]
    let projection: Linear

    init(headCount: Int, embeddingSize: Int, random: SeededRandom) {
        heads = (0..<headCount).map { _ in
            Head(embeddingSize: embeddingSize, headSize: embeddingSize / headCount, random: random)
        }
        projection = Linear(embeddingSize, embeddingSize, random: random)   // C -> C, with a bias
    }

    /// x (B, T, C) -> (B, T, C)
    func callAsFunction(_ x: Tensor) -> Tensor {
        let joined = concatenate(heads.map { $0(x, training: false) })   // n x (B, T, C/n) -> (B, T, C)
        return projection(joined)                                        // (B, T, C); dropout: none in this chapter
    }

    var namedParameters: [(String, Tensor)] {   // gpt.py's names, in the packed rows' order (keys, queries, values)
        let indexed = Array(heads.enumerated())
        return indexed.map { ("heads.\($0).key.weight", $1.key.weight) }
            + indexed.map { ("heads.\($0).query.weight", $1.query.weight) }
            + indexed.map { ("heads.\($0).value.weight", $1.value.weight) }
            + [("proj.weight", projection.weight), ("proj.bias", projection.bias!)]
    }
}

let random = SeededRandom(seed: settings.seed)
let perHead = PerHeadMultiHead(headCount: settings.heads, embeddingSize: settings.embeddingSize, random: random)
let demoInput = Tensor.normal([2, 5, settings.embeddingSize], std: 1, random: random)
let perHeadOutput = perHead(demoInput)
print("MultiHead with \(settings.heads) heads of size \(settings.embeddingSize / settings.heads): "
      + "x \(demoInput.shape) -> \(perHeadOutput.shape)")
print("each head's attention: \(perHead.heads.map { $0.lastAttention!.shape })")
print("weights: \(perHead.namedParameters.map { "\($0.0) \($0.1.shape)" }.joined(separator: ", "))\n")

// The model below trains the library's MultiHead (Attention/MultiHead.swift), which computes exactly
// this function with every head's weights packed into one matrix: section 6 shows it, and proves
// the two equal on these weights.

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
        attention = MultiHead(headCount: settings.heads, embeddingSize: settings.embeddingSize,
                              dropout: Dropout(probability: settings.dropout, seed: RandomStream.dropout.seed(from: settings.seed)),
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
    PyTorchInitialization.apply(to: model.namedParameters, random: SeededRandom(seed: settings.seed, stream: .pytorchInitialization))
    print("initialization: PyTorch's defaults (Layers/PyTorchInitialization.swift)")
}
let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
print("parameters: \(trainer.parameters.count)")
let before = trainer.estimateLoss()
print(String(format: "loss before training: train %.4f, val %.4f (ln(%d) = %.2f)", before.train, before.val,
             tokenizer.vocabularySize, log(Double(tokenizer.vocabularySize))))
let samplingRandom = SeededRandom(seed: settings.seed, stream: .sampling)
print("sample before training:\n---\n\(tokenizer.decode(model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: samplingRandom)))\n---\n")

// MARK: - 4. Training
//
// Same steps, same batches as chapter 02. Expect the val loss to end well below chapter 02's 2.32. But
// chapter 02's head was also narrower (32 channels against 64 here): is it the four heads or the width?
// Exercise 1 runs the fair comparison, one head of 64 in this same model.

section("4. Training")
exitOnError { try trainer.train() }
exitOnError { try report.plotLoss(trainer) }
let after = trainer.evaluations.last!
print(String(format: "\nloss after training: train %.4f, val %.4f (chapter 02's one head of 32: 2.32)", after.trainLoss, after.valLoss))
let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample after training:\n---\n\(sample)\n---\n")

// MARK: - 5. What each head looks at
//
// One panel per head, on the first 24 characters of the val text (the figure stops there to keep its
// labels readable). Each head has its own pattern: look for how far back each one reaches, from the
// character itself to a few characters before it.

section("5. What each head looks at")
let prompt = Array(dataset.val.prefix(settings.blockSize))
_ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)
exitOnError {
    try report.plotAttention(model.attention.lastAttention.enumerated().map { ("head \($0)", $1) },
                             prompt: prompt, tokenizer: tokenizer, name: "attention",
                             title: "\(report.heading): each head on \(tokenizer.decode(prompt).replacingOccurrences(of: "\n", with: "⏎"))",
                             gridColumns: 2, maximumWidth: 1000, positions: 24)   // readable at a page's width
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png, attention.png, sample.txt, summary.json")

// Reading the heatmaps (rows are queries, white is 0, dark purple 1). Head 1 is mostly the diagonal, each
// character looking at itself, with a few long jumps (the "," looks back 13 positions, to the ":"). Head 0
// puts nearly all of a row's weight on one earlier character, usually the one just before, sometimes the last
// vowel (both r's of "morrow" look at its o). Head 2 looks at the character itself in about half the rows, and
// otherwise one back or to the start of the word (the R and E of GREMIO at its G). Head 3 looks back to the
// start of the word: the two o's of "Good" at its G, the o, r and r of "morrow" at its m. Each position now has
// four softmaxes where chapter 02 had one, and they divide the work: itself, the character before, the word's
// start.

// MARK: - 6. The packed form: every head in one product
//
// The key weights of all n heads, stacked, are one (C, C) matrix; so are the queries and the values. The
// library's MultiHead keeps the three as the rows of one (3C, C) matrix, the weight of one Linear without a
// bias, `keyQueryValue`, in this order:
//
//   rows 0 ..< C        every head's key:    head h's is rows h*hs ..< (h+1)*hs
//   rows C ..< 2C       every head's query:  head h's is rows C + h*hs ..< C + (h+1)*hs
//   rows 2C ..< 3C      every head's value:  head h's is rows 2C + h*hs ..< 2C + (h+1)*hs
//
// Why that is the same computation: x @ W^T for a W stacked from blocks W_1, ..., W_n is the blocks'
// products side by side, x @ W_1^T | ... | x @ W_n^T. So one product x @ keyQueryValue^T gives (B, T, 3C):
// for each position, every head's key, then every query, then every value, exactly the n Heads'. (nanoGPT
// packs its c_attn as queries, keys, values, with a bias; the order only has to match the split.) `splitHeads` cuts it into keys, queries and values of shape
// (B, nh, T, hs), one copy each (part p, head h, position t are columns p*C + h*hs ..< +hs of row
// (b, t): a cut of the columns, a reshape and a swap of axes 1 and 2, in one copy), and the attention of all heads runs as one batch: fewer, bigger products
// than n Heads make. After it, `joinHeads` puts head h's output in columns h*hs ..< (h+1)*hs of each
// position: that is the concatenation of the per-head form. (Chapter 05 adds a second forward beside it, for
// generation with a key/value cache.) The helpers it calls follow it: the attention of all heads, one op,
// `causalAttention`: softmax(q k^T / sqrt(hs)) v with the causal mask, computed a tile of keys at a time so
// that the (B, nh, T, T) weights are never stored (dropout on the attention weights needs them, so with
// dropout the weights path runs instead: chapter 05 turns dropout on); and the join:
// show: Sources/Attention/MultiHead.swift MultiHead.keyQueryValue MultiHead.init MultiHead.callAsFunction MultiHead.causalSelfAttention MultiHead.joinHeads MultiHead.scoreScale
// show: Sources/TensorCore/Ops/Shape.swift splitHeads
//
// The proof: copy the per-head weights of section 1 into a packed MultiHead, in that row order, and run
// both on the same input: first the packed product, cut by `splitHeads`, against each Head's own key, query
// and value, then the outputs. `multiHeadLayoutsComputeTheSameFunction` in Tests/ModelTests does the same for
// the outputs and every gradient, and Tests/ModelTests/ParityTests.swift checks the packed model against
// PyTorch's per-head gpt.py.

section("6. The packed form: every head in one product")
let packed = MultiHead(headCount: settings.heads, embeddingSize: settings.embeddingSize,
                       random: SeededRandom(seed: 0))   // its own generator: its weights are overwritten next
let rows = perHead.heads.map(\.key.weight) + perHead.heads.map(\.query.weight) + perHead.heads.map(\.value.weight)
packed.keyQueryValue.weight.storage.copy(fromHost: rows.flatMap(\.values))   // (3C, C): keys, then queries, then values
packed.projection.weight.storage.copy(fromHost: perHead.projection.weight.values)
packed.projection.bias!.storage.copy(fromHost: perHead.projection.bias!.values)
let packedParts = splitHeads(packed.keyQueryValue(demoInput), parts: 3, heads: settings.heads)   // 3 x (B, nh, T, hs)
var partDifference: Float = 0
for (part, projection) in [(0, \Head.key), (1, \Head.query), (2, \Head.value)] {
    let cut = swapAxes(packedParts[part], 0, 1).values                 // (nh, B, T, hs): head h's block is contiguous
    for (h, head) in perHead.heads.enumerated() {
        let own = head[keyPath: projection](demoInput).values                  // (B, T, hs): that Head's own projection
        let block = cut[(h * own.count)..<((h + 1) * own.count)]
        partDifference = max(partDifference, zip(own, block).map { abs($0 - $1) }.max() ?? 0)
    }
}
print(String(format: "every head's k, q and v, cut from the packed product, against that Head's own: differ by at most %.1e", partDifference))
let packedOutput = packed(demoInput, training: false)
print("packed: \(packed.namedParameters.map { "\($0.0) \($0.1.shape)" }.joined(separator: ", "))")
let layoutDifference = zip(perHeadOutput.values, packedOutput.values).map { abs($0 - $1) }.max() ?? 0
print(String(format: "per-head and packed on the same weights: outputs differ by at most %.1e (float rounding)", layoutDifference))
endOfCell()

// And the gradients: the same number L = sum(R * output), for a fixed random R, through both forms, then
// backward, and every gradient compared (x's, the three projections' rows against the packed matrix's, the
// output projection's weight and bias).
let directions = Tensor.normal(perHeadOutput.shape, std: 1, random: SeededRandom(seed: 5)).values   // R, (B, T, C)
let (xPerHead, xPacked) = (Tensor(shape: demoInput.shape, values: demoInput.values, requiresGrad: true),
                           Tensor(shape: demoInput.shape, values: demoInput.values, requiresGrad: true))
perHead(xPerHead).backward(seed: directions)
packed(xPacked, training: false).backward(seed: directions)
func largestDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
let perHeadRowGradients = rows.flatMap { $0.gradValues! }                 // in the packed rows' order
let gradientDifference = [largestDifference(xPerHead.gradValues!, xPacked.gradValues!),
                          largestDifference(perHeadRowGradients, packed.keyQueryValue.weight.gradValues!),
                          largestDifference(perHead.projection.weight.gradValues!, packed.projection.weight.gradValues!),
                          largestDifference(perHead.projection.bias!.gradValues!, packed.projection.bias!.gradValues!)].max()!
print(String(format: "and their gradients (x, key/query/value, the projection's weight and bias): differ by at most %.1e", gradientDifference))

// MARK: - 7. How the library runs it fast
//
// The copy itself, the CPU backend's `moveHeads`: row (b, t) of the packed (B, T, width) tensor starts at
// (b*T + t)*width, and head h's part of it at offset + h*hs within that row (offset = p*C for part p); row
// (b, h, t) of the (B, nh, T, hs) heads starts at ((b*nh + h)*T + t)*hs. Each step copies hs numbers from
// the first place to the second. The backward runs the same loop the other way, adding (the gradient of the
// packed tensor is the three parts' gradients, side by side):
// fold: Sources/TensorCore/Backend/CPU/LayoutKernels.swift CPUBackend.moveHeads
//
// And the op `causalAttention`: a forward kernel that writes the output and one log-sum-exp per query
// row, and a backward kernel that recomputes the weights from them. The kernels are chapter 05b's subject
// (Attention without the T x T matrix), which shows them whole; here, what matters is that they compute
// the textbook function below, for all heads of all sequences in one call:
// fold: Sources/TensorCore/Ops/TiledAttention.swift causalAttention
//
// The heatmaps of section 5 come from `lastAttention`: the default path never stores the weights, so it
// keeps the last call's q and k (without their graph) and computes softmax(q k^T / sqrt(hs)) from them again:
// fold: Sources/Attention/MultiHead.swift MultiHead.lastAttention
//
// What `causalAttention` must compute, for one query row of one head, written as the textbook does (the
// readable reference its tests hold it to; chapter 05b builds the tiled kernel from it):
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.attention
//
// The attention op against that reference: random q, k and v for every head of this chapter's shape, and for
// each head and position t, NaiveKernels.attention of query t over keys and values 0 ... t.

section("7. How the library runs it fast")
let attentionRandom = SeededRandom(seed: 4)
let headSize = settings.embeddingSize / settings.heads, positions = 8
let (q, k, v) = (Tensor.normal([1, settings.heads, positions, headSize], std: 1, random: attentionRandom),   // (1, nh, T, hs)
                 Tensor.normal([1, settings.heads, positions, headSize], std: 1, random: attentionRandom),
                 Tensor.normal([1, settings.heads, positions, headSize], std: 1, random: attentionRandom))
let attended = causalAttention(q, k, v, scale: 1 / Float(headSize).squareRoot()).values               // (1, nh, T, hs)
func row(_ x: Tensor, _ h: Int, _ t: Int) -> [Float] { Array(x.values[((h * positions + t) * headSize)..<((h * positions + t + 1) * headSize)]) }
var attentionDifference: Float = 0
for h in 0..<settings.heads {
    for t in 0..<positions {
        let expected = NaiveKernels.attention(query: row(q, h, t), keys: (0...t).map { row(k, h, $0) },
                                              values: (0...t).map { row(v, h, $0) }, scale: 1 / Float(headSize).squareRoot())
        let got = attended[((h * positions + t) * headSize)..<((h * positions + t + 1) * headSize)]
        attentionDifference = max(attentionDifference, zip(got, expected).map { abs($0 - $1) }.max()!)
    }
}
print(String(format: "causalAttention against NaiveKernels.attention, %d heads x %d positions: largest difference %.1e",
             settings.heads, positions, attentionDifference))
