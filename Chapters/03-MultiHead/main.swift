// Chapter 03 · MultiHead: several heads of attention in parallel
// ==============================================================
//
// One head computes one kind of affinity: a single softmax per position. But a character has several
// things to look for at once (the previous letter, the start of the word, the last vowel...). So we
// run n smaller heads side by side, each of size C / n, concatenate their outputs back to C channels,
// and mix them with a projection. Same cost as one big head (plus a C x C projection), more kinds of looking.
//
//   swift run -c release ch03            (--quick for a few seconds, --help for every flag)
//
// Expected: better than chapter 02's single head, and heads that lean different ways (one of them, a little, back to the start of the word).
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
    dropout: 0,            // no dropout yet: the train-val gap stays small enough to go without
    seed: 1337,
    evalInterval: 500,
    evalIters: 200,
    maxNewTokens: 500)

let (command, settings, report) = Chapter03.start(defaults, plots: "03-multi-head", title: "MultiHead attention")   // the flags: Flags.swift
let options = command.training
print("Chapter 03 · MultiHead\n")
section("Hyperparameters")
print("\(settings.table(showing: [.embeddingSize, .heads, .dropout]))\n")   // one attention layer (`layers` comes in chapter 04)

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
// As gpt.py writes it: n of chapter 02's Heads, each of size C/n, side by side. In PyTorch (this project's
// reference, Tests/Reference/nanogpt_reference.py, gpt.py's class without its dropout):
//
//   class MultiHeadAttention(nn.Module):
//       def __init__(self, n_embd, num_heads, block_size, dropout):
//           head_size = n_embd // num_heads
//           self.heads = nn.ModuleList([Head(n_embd, head_size, block_size, dropout) for _ in range(num_heads)])
//           self.proj = nn.Linear(n_embd, n_embd)
//       def forward(self, x):
//           return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))
//
// The Head again:
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
        let joined = concatenate(heads.map { $0(x, training: false) })   // n x (B, T, C/n) -> (B, T, C), side by side on the last axis: torch.cat(dim=-1)
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

let initialDraw = random.state   // section 4 draws a one-head model from the same state
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
// Same steps, same batches as chapter 02. Expect the val loss to end well below chapter 02's 2.32.
//
// - The question: chapter 02's head was also narrower (32 channels against 64 here). Is the gain the four
//   heads or the width?
// - The control: this same model again with one head of 64 instead of four of 16. The same parameters and
//   batches; only the number of softmaxes per position differs. (Each head's score scale differs too,
//   1/sqrt(64) against 1/sqrt(16): each divides by the square root of its own size, which keeps both starts
//   equally soft, chapter 02's section 3.) It starts from the same first weights as the four-head model
//   (`initialDraw`), so only the heads differ.
// - The seeds: both again from a second seed, each model drawn from that seed's own generator, to see how
//   much one seed's result can move.
// - What prints: the four-head run's evaluation lines, then one line per seed. The three extra runs print
//   no evaluation lines; their progress lines, like the first run's, are left off the page.

section("4. Training")
exitOnError { try trainer.train() }
exitOnError { try report.plotLoss(trainer) }
let after = trainer.evaluations.last!
print(String(format: "\nloss after training: train %.4f, val %.4f (chapter 02's one head of 32: 2.32)", after.trainLoss, after.valLoss))
/// Trains the same model with `heads` heads, quietly (no progress lines, no plot); returns its final val loss.
func trainedValLoss(heads: Int, seed: UInt64, random: SeededRandom) -> Float {
    var varied = settings
    (varied.heads, varied.seed) = (heads, seed)
    let variedModel = MultiHeadLanguageModel(vocabularySize: tokenizer.vocabularySize, settings: varied, random: random)
    let variedTrainer = Trainer(model: variedModel, dataset: dataset, hyperparameters: varied)
    exitOnError { try variedTrainer.train(log: { _ in }) }
    return variedTrainer.evaluations.last!.valLoss
}
let secondSeed = settings.seed &+ 1   // &+: any seed is a valid flag, even the largest
print(String(format: "val loss, %d heads of %d against one head of %d (the same %d parameters):", settings.heads,
             settings.embeddingSize / settings.heads, settings.embeddingSize, trainer.parameters.count))
print("  seed \(settings.seed): " + String(format: "%.4f (above) against %.4f", after.valLoss,
             trainedValLoss(heads: 1, seed: settings.seed, random: SeededRandom(state: initialDraw))))
print("  seed \(secondSeed): " + String(format: "%.4f against %.4f",
             trainedValLoss(heads: settings.heads, seed: secondSeed, random: SeededRandom(seed: secondSeed)),
             trainedValLoss(heads: 1, seed: secondSeed, random: SeededRandom(seed: secondSeed))))
let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample after training:\n---\n\(sample)\n---\n")

// One head of 64 lands where chapter 02's one head of 32 did, about 0.24 above four heads of 16, with the
// same parameters and the same batches, and the second seed moves each result by far less than that gap.
// So it is the heads, not the width: one softmax per position can average only one kind of thing, however
// wide its vectors, and four softmaxes can each weigh the past differently. (The sample above is the
// four-head model's.)

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
report.printLoss(trainer.evaluations)   // the loss curve as text, on a terminal only: nothing on this page
print("wrote \(report.folder.path)/: loss.png, attention.png, sample.txt, summary.json")
endOfCell()

// Reading the heatmaps (rows are queries, white is 0, dark purple 1). No head keeps to one rule, but each
// leans its own way. Head 0 puts most of a row's weight on one earlier character, often the one just before,
// sometimes further (both r's of "morrow" look at its o). Head 1's dark cells lie mostly on the diagonal,
// each character looking at itself; its exceptions look back (the "," at the ":" 13 positions before it; the
// I and the O of GREMIO at its M). Head 2 looks at the character itself in about half the rows, and
// otherwise back into the word (the R and E of GREMIO at its G). Head 3 sometimes looks back towards the
// start of the word: the two o's of "Good" at its G, the o, r and r of "morrow" at its m. These 24 rows
// are one short text, so take the leanings as what this text shows, not as laws. Each position now has
// four softmaxes where chapter 02 had one, and each leans towards a different kind of looking.
//
// Three numbers per head measure the leanings, over all 32 positions of the val text's first window (the
// figure shows its first 24): the
// mean weight a row puts on the character itself, on the character just before it, and, over the rows at
// least two characters into a word, on the word's first character.

let isBreak = prompt.map { [" ", "\n"].contains(tokenizer.decode([$0])) }   // a space or a newline
let wordStart = prompt.indices.map { t in (0...t).last { $0 == 0 || isBreak[$0 - 1] }! }   // where t's word begins
let deepInAWord = prompt.indices.filter { wordStart[$0] < $0 - 1 && !isBreak[$0] }
print("          on itself   on the one before   on the word's first letter (\(deepInAWord.count) rows)")
for (head, weights) in model.attention.lastAttention.enumerated() {   // (1, T, T) each
    let w = weights.values, T = prompt.count
    let itself = (0..<T).map { w[$0 * T + $0] }.reduce(0, +) / Float(T)
    let before = (1..<T).map { w[$0 * T + $0 - 1] }.reduce(0, +) / Float(T - 1)
    let first = deepInAWord.map { w[$0 * T + wordStart[$0]] }.reduce(0, +) / Float(max(deepInAWord.count, 1))
    print(String(format: "head %d    %9.2f   %17.2f   %26.2f", head, itself, before, first))
}

// The numbers bear the leanings out, as differences of degree. Head 1 keeps 0.73 of its weight on the
// character itself. Head 0 puts the most on the character before (0.45). Head 3 is the only one that gives
// the word's first letter a real share, 0.19 against 0.05 or less for the others, on the 18 rows at least
// two characters into a word. Every head still spends much of its weight on the character itself: the heads
// divide the work by leaning, not by rule. That is what the opening's "several things to look for at once" comes to here: not four
// heads with four jobs, but four different mixtures of the same few sources (the character itself, the one
// before it, the start of its word), which one softmax, giving one mixture per position, cannot offer.

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
// products side by side, x @ W_1^T | ... | x @ W_n^T. (nanoGPT packs its c_attn as queries, keys, values,
// with a bias; the order only has to match the split.) The forward, in four steps:
//
//   1. one product, x @ keyQueryValue^T: (B, T, C) -> (B, T, 3C), for each position every head's key,
//      then every query, then every value, exactly the n Heads' k, q and v side by side;
//   2. `splitHeads` cuts it into k, q and v of shape (B, nh, T, hs) each: head h of part p (0 keys,
//      1 queries, 2 values) is columns p*C + h*hs ..< p*C + (h+1)*hs of each position's row. It is
//      PyTorch's .split(C, dim=2), .view(B, T, nh, hs) and .transpose(1, 2), in one copy;
//   3. `causalAttention` runs every head's softmax(q k^T / sqrt(hs)) v, with the causal mask, as one batch
//      of (B * nh) products: (B, nh, T, hs). Fewer, bigger products than n Heads make;
//   4. `joinHeads` puts head h's output in columns h*hs ..< (h+1)*hs of each position, (B, T, C): the
//      per-head form's concatenation. Then the projection, as in section 1.
//
// The same four steps in PyTorch, as nanoGPT writes them (with `is_causal` doing the mask):
//
//   k, q, v = key_query_value(x).split(C, dim=2)                      # 1. (B, T, C) each
//   k, q, v = [t.view(B, T, nh, hs).transpose(1, 2) for t in (k, q, v)]   # 2. (B, nh, T, hs)
//   y = F.scaled_dot_product_attention(q, k, v, is_causal=True)       # 3. (B, nh, T, hs)
//   y = y.transpose(1, 2).contiguous().view(B, T, C)                   # 4. (B, T, C)
//   return proj(y)
//
// In the Swift below, `causalSelfAttention` has a second branch, for dropout in training (chapter 05's
// setting; this chapter's dropout is 0): it keeps the (B, nh, T, T) weights whole, which dropout needs.
//
// The MultiHead, with the helpers it calls (its second forward, for generation with a cache, is chapter 05's;
// how `causalAttention` runs is section 7):
// show: Sources/Attention/MultiHead.swift MultiHead.keyQueryValue MultiHead.init MultiHead.callAsFunction MultiHead.causalSelfAttention MultiHead.joinHeads MultiHead.scoreScale MultiHead.namedParameters
// show: Sources/TensorCore/Ops/Shape.swift splitHeads
// (The closure given to `Tensor.result` is the op's backward, chapter 00's pattern: it adds each part's
// gradient into that part's columns of the packed gradient, so the buffer starts at zero.)
//
// gpt.py has no packed matrix, so the packed layer's name is ours: `key_query_value` (nanoGPT's `c_attn`,
// in another row order), printed below. The projection keeps gpt.py's name, `proj`.
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
// row, and a backward kernel that recomputes the weights from them. It works a tile of keys at a time, so
// the (B, nh, T, T) weights are never stored. (Dropout on the attention weights needs them: with dropout
// on, chapter 05's setting, MultiHead takes the weights path instead, softmax then dropout then @ v.) The kernels are chapter 05b's subject
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
// And over a whole sequence, with the causal mask as a plain loop: query t over keys and values 0 ... t.
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.causalAttention
//
// The attention op against that reference: random q, k and v for every head of this chapter's shape, each
// head's rows through `NaiveKernels.causalAttention`. (The test `causalAttentionIsThePlainCausalLoop`
// does the same at awkward lengths.)

section("7. How the library runs it fast")
let attentionRandom = SeededRandom(seed: 4)
let headSize = settings.embeddingSize / settings.heads, positions = 8
let (q, k, v) = (Tensor.normal([1, settings.heads, positions, headSize], std: 1, random: attentionRandom),   // (1, nh, T, hs)
                 Tensor.normal([1, settings.heads, positions, headSize], std: 1, random: attentionRandom),
                 Tensor.normal([1, settings.heads, positions, headSize], std: 1, random: attentionRandom))
let attended = causalAttention(q, k, v, scale: 1 / Float(headSize).squareRoot()).values               // (1, nh, T, hs)
func rows(_ x: [Float], head h: Int) -> [[Float]] {   // head h's (T, hs) rows
    (0..<positions).map { t in Array(x[((h * positions + t) * headSize)..<((h * positions + t + 1) * headSize)]) }
}
var attentionDifference: Float = 0
for h in 0..<settings.heads {
    let expected = NaiveKernels.causalAttention(queries: rows(q.values, head: h), keys: rows(k.values, head: h),
                                                values: rows(v.values, head: h), scale: 1 / Float(headSize).squareRoot())
    attentionDifference = max(attentionDifference,
                              zip(rows(attended, head: h).joined(), expected.joined()).map { abs($0 - $1) }.max()!)
}
print(String(format: "causalAttention against NaiveKernels.attention, %d heads x %d positions: largest difference %.1e",
             settings.heads, positions, attentionDifference))
