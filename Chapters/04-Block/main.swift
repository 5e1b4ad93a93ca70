// Chapter 04 · Block: communication, then computation, stacked
// ============================================================
//
// Attention lets positions exchange information; a FeedForward network then lets each position think
// about what it gathered. A Transformer Block is one of each, and a GPT is a stack of Blocks. A Block
// wraps each half in two more ideas, and this chapter measures what each is worth by training the same
// stack four times: with neither, with each one alone, and with both:
//   - residual connections: x = x + f(x), so every block adds to a running stream instead of replacing it,
//     and the gradient flows straight from the loss to the first block;
//   - LayerNorm before each half (pre-norm), so every block reads inputs of a steady scale.
// The way through: sections 1 to 3 build the Block and the four stacks; section 4 trains them (one of the
// results is a surprise); sections 5 and 6 measure why the two stacks without residuals fail, at the
// start and during training; section 7 what LayerNorm adds; section 8 the trained heads; section 9 sums
// up; section 10 shows the fast kernels; an appendix works section 5's predictions through by hand.
//
//   swift run -c release ch04            (--quick for a few seconds, --help for every flag)
//
// Expected: below 1.9 with residuals and LayerNorm, stuck far higher without them; residuals alone do
// nearly all of the rescue (what LayerNorm adds depends on the setting: a little at this page's, more at a
// lower learning rate; exercise 5). Measured on a 2-core AMD EPYC (OpenBLAS, 2 threads), release build,
// `swift run -c release ch04 --data tinyshakespeare.txt`: val loss 1.8789 with both, 3.3445 with
// neither, 3.3449 with LayerNorm alone and 1.9296 with residuals alone, 2000 steps each.
import ArgumentParser
import Attention
import ChapterSupport
import Foundation
import Layers
import Plotting
import TensorCore
import TextData
import Training
import Transformer

// MARK: - Hyperparameters
//
// Each can be overridden by a flag of the same name (`--layers 2`, `--gradient-clip 0`, ...).

let defaults = Hyperparameters(
    steps: 2000,            // optimizer steps (for each of the four stacks)
    batchSize: 32,          // B: sequences per step
    blockSize: 32,          // T: context length
    embeddingSize: 64,      // C: channels per position
    heads: 4,               // heads per block, of C / 4 = 16 channels each
    layers: 4,              // Blocks in the stack
    learningRate: 3e-3,     // peak learning rate...
    minLearningRate: 3e-4,  // ...decayed along a cosine...
    warmupSteps: 100,       // ...after a short linear warmup
    weightDecay: 0.1,
    gradientClip: 1,        // deep stacks (the plain one especially) can spike; clip the global norm at 1
    dropout: 0,
    seed: 1337,
    evalInterval: 250,      // estimate the loss every 250 steps, over 50 batches of each split
    evalIters: 50,          // (fewer than chapter 03's 200: this chapter trains four models)
    maxNewTokens: 500)

let (command, settings, report) = Chapter04.start(defaults, plots: "04-block", title: "Transformer Block")   // the flags: Flags.swift
let options = command.training
print("Chapter 04 · Block\n")
section("Hyperparameters")
print("\(settings.table(showing: .all))\n")

// MARK: - 1. FeedForward and the Block, shape by shape
//
//   FeedForward (each position alone):  (B, T, C) -> Linear -> (B, T, 4C) -> ReLU -> Linear -> (B, T, C) -> dropout
//   Block (pre-LayerNorm, as in GPT-2):
//     x = x + MultiHead(LayerNorm(x))      communication
//     x = x + FeedForward(LayerNorm(x))    computation
//
// The residual stream: x runs straight from the embedding, through every Block, to the vocabulary head.
// Each half reads a normalized copy of it and adds its output back (pre-LayerNorm: nothing normalizes x
// itself). One Block:
//
//   x ──┬──────────────────────────(+)──┬────────────────────────────(+)─────> x
//       │                           ↑   │                             ↑
//       └─> LayerNorm ─> MultiHead ─┘   └─> LayerNorm ─> FeedForward ─┘
//
// gpt.py's Block.forward, line for line with the Swift `callAsFunction` below:
//     x = x + self.sa(self.ln1(x))          let afterAttention = x + attention(norm1(x), training: training)
//     x = x + self.ffwd(self.ln2(x))        return afterAttention + feedForward(norm2(afterAttention), training: training)
//
// The two halves and the Block, from the library (Transformer/):
// show: Sources/Transformer/FeedForward.swift FeedForward
// show: Sources/Transformer/Block.swift Block
//
// LayerNorm works on each position alone, over its C channels (the last axis), never across positions or
// the batch: the C numbers are shifted to mean 0 and scaled to variance 1, then multiplied by a learned
// gain and shifted by a learned bias, one of each per channel (PyTorch's nn.LayerNorm(C): `weight`
// starts at 1, `bias` at 0, so a fresh LayerNorm only normalizes). The variance gets epsilon = 1e-5 added
// before the square root, as in PyTorch, so a position whose numbers are all equal divides by sqrt(1e-5),
// not by 0. Backward, it divides by the same σ: with x̂ = (x - mean) / σ and g = gain * dy,
//   dx = (g - mean(g) - x̂ * mean(g * x̂)) / σ
// so the gradient it passes down is about 1 / σ times what it receives: small inputs get large gradients
// (section 5 measures what that does in a stack; the kernel that computes it is in section 10).
// show: Sources/Layers/Layers.swift LayerNorm
//
// What its kernel computes for one position, as plain code (the fast kernel is in section 10):
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.layerNorm
// The module calls the op `layerNorm`, which records its backward for autograd as chapter 00's ops do:
// the closure given to `Tensor.result` is the backward, handing the kernel the row statistics the forward
// kept. The backward's arithmetic is in section 10, beside the kernel's.
// fold: Sources/TensorCore/Ops/Normalization.swift layerNorm
//
// The `attention` a Block calls is chapter 03's MultiHead: every head's masked softmax(q k^T / sqrt(hs)) v,
// concatenated and projected (its forward, folded). Its keys, queries and values come from one packed
// weight, `key_query_value` (3C x C, no bias, as gpt.py's key, query and value have none: every head's
// key, query and value rows stacked), where gpt.py has a Linear per head for each; chapter 03 proves the
// two forms equal. The rest is from earlier chapters too: `Linear` is x W^T + b, `relu` is max(0, x), and
// the `+` of the residuals passes the gradient on unchanged to both of its inputs (chapter 00). x itself
// is used twice in each half, by LayerNorm and by `+`, and autograd adds the gradients that come back
// along the two uses (chapter 00), so x gets what `+` handed down plus what came back through the half.
// `+` with its backward, three lines, and MultiHead's forward with the three steps it calls (chapter 03
// shows each at length), folded:
// fold: Sources/TensorCore/Ops/Elementwise.swift add
// fold: Sources/Attention/MultiHead.swift MultiHead.callAsFunction
// fold: Sources/TensorCore/Ops/Shape.swift splitHeads
// fold: Sources/Attention/MultiHead.swift MultiHead.causalSelfAttention MultiHead.joinHeads

section("1. FeedForward and the Block, shape by shape")
let random = SeededRandom(seed: settings.seed)
let demoBlock = Block(embeddingSize: settings.embeddingSize, headCount: settings.heads, random: random)
let demoInput = Tensor.normal([2, 5, settings.embeddingSize], std: 1, random: random)
print("a Block maps \(demoInput.shape) -> \(demoBlock(demoInput, training: false).shape), with "
      + "\(demoBlock.namedParameters.reduce(0) { $0 + $1.1.count }) parameters:")
for (name, tensor) in demoBlock.namedParameters { print("  \(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(tensor.shape)") }
print()

// MARK: - 2. The data (as in chapter 01)

section("2. The data (as in chapter 01)")
let (text, tokenizer, dataset) = options.loadChapterData(settings)   // text, tokenizer, 90/10 split; absurd sizes refused
print("\(text.count) characters, vocabulary: \(tokenizer.summary)\n")

// MARK: - 3. One stack, four kinds of block
//
// The stack is chapter 03's model with N blocks where it had one MultiHead. To see what residuals and
// LayerNorm buy, the same stack is also built from `PlainBlock`, which chains the same two halves with
// neither: x = FeedForward(MultiHead(x)), or with one of the two (`Keeps`). In PyTorch it would read:
//
//   def forward(self, x):                                    # self.ln: keeps LayerNorm; self.res: residuals
//       a = self.sa(self.ln1(x) if self.ln else x)
//       x = x + a if self.res else a
//       f = self.ffwd(self.ln2(x) if self.ln else x)
//       return x + f if self.res else f
//
// One model type holds either kind of block, like an nn.Sequential of Blocks, so the stacks share every
// line but their blocks, and start from the same weights (the same seed, drawn in the same order; a
// LayerNorm draws nothing, since its gain starts at 1 and its bias at 0). Every run trains on the same
// batches too: the Trainer draws them from its own generator, seeded by the settings' seed.
//
// No stack here has the final LayerNorm that chapter 05's model puts before its Linear to the vocabulary
// (GPT-2's `ln_f`), on purpose: the stacks differ only in their blocks, so the comparison measures the
// blocks alone. (Why chapter 05 adds it, the residual stream's growth, is measured in section 7.)
//
// Each stack begins as chapter 02's did: token identity plus position, one learned vector of each per
// position, added (folded):
// fold: Sources/Layers/TokenAndPositionEmbedding.swift TokenAndPositionEmbedding

section("3. One stack, four kinds of block")

/// The same two halves as a Block, chained plainly: x = FeedForward(MultiHead(x)). No residual
/// connections, no LayerNorm, unless it is told to keep one of them. Only here to show what a Block
/// gains from each.
final class PlainBlock: Module {
    /// What it keeps of a Block: nothing, the residuals, or LayerNorm.
    enum Keeps { case nothing, residuals, layerNorm }

    let attention: MultiHead
    let feedForward: FeedForward
    let norm1: LayerNorm?, norm2: LayerNorm?   // only when it keeps LayerNorm
    let residual: Bool

    init(embeddingSize: Int, headCount: Int, keeps: Keeps, dropout: Dropout, random: SeededRandom) {
        attention = MultiHead(headCount: headCount, embeddingSize: embeddingSize, dropout: dropout, random: random)
        feedForward = FeedForward(embeddingSize: embeddingSize, dropout: dropout, random: random)
        (norm1, norm2) = keeps == .layerNorm ? (LayerNorm(embeddingSize), LayerNorm(embeddingSize)) : (nil, nil)
        residual = keeps == .residuals
    }

    func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
        // norm1.map { $0(x) } ?? x: LayerNorm(x) when the block keeps LayerNorm, else x itself
        let attended = attention(norm1.map { $0(x) } ?? x, training: training)
        let afterAttention = residual ? x + attended : attended
        let computed = feedForward(norm2.map { $0(afterAttention) } ?? afterAttention, training: training)
        return residual ? afterAttention + computed : computed
    }

    var namedParameters: [(String, Tensor)] {
        attention.parameters(prefixedWith: "sa") + feedForward.parameters(prefixedWith: "ffwd")
            + (norm1?.parameters(prefixedWith: "ln1") ?? []) + (norm2?.parameters(prefixedWith: "ln2") ?? [])
    }
}

/// What the stack is made of: (B, T, C) -> (B, T, C). The Block is one; so is the PlainBlock above.
protocol StackedBlock: Module {
    func callAsFunction(_ x: Tensor, training: Bool) -> Tensor
}
extension PlainBlock: StackedBlock {}
extension Block: StackedBlock {}

/// ids (B, T) -> token + position embedding -> N blocks -> Linear -> logits (B, T, V), for either kind of
/// block: BlockStackLanguageModel<Block> or BlockStackLanguageModel<PlainBlock>.
final class BlockStackLanguageModel<Layer: StackedBlock>: LanguageModel {
    let embedding: TokenAndPositionEmbedding
    let blocks: [Layer]
    let languageModelHead: Linear
    let blockSize: Int, vocabularySize: Int

    /// `makeBlock` builds one block from the model's dropout and generator.
    init(vocabularySize: Int, settings: Hyperparameters, random: SeededRandom,
         makeBlock: (Dropout, SeededRandom) -> Layer) {
        self.vocabularySize = vocabularySize
        blockSize = settings.blockSize
        embedding = TokenAndPositionEmbedding(vocabularySize: vocabularySize, blockSize: settings.blockSize,
                                              embeddingSize: settings.embeddingSize, random: random)
        let dropout = Dropout(probability: settings.dropout, seed: RandomStream.dropout.seed(from: settings.seed))   // --dropout (0: off)
        blocks = (0..<settings.layers).map { _ in makeBlock(dropout, random) }
        languageModelHead = Linear(settings.embeddingSize, vocabularySize, random: random)
    }

    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        var x = embedding(ids, batchSize: batchSize, length: length)     // (B, T, C)
        for block in blocks { x = block(x, training: training) }          // (B, T, C)
        return languageModelHead(x)                                       // (B, T, V)
    }

    var namedParameters: [(String, Tensor)] {
        embedding.namedParameters + blocks.enumerated().flatMap { $1.parameters(prefixedWith: "blocks.\($0)") }
            + languageModelHead.parameters(prefixedWith: "lm_head")
    }
}

/// The stacks this chapter trains, from the same seed: Blocks, or plain blocks that keep `keeps`.
/// (`--pytorch-initialization`, exercise 5's, redraws every stack's weights as PyTorch's layers start.)
func blockStack(_ settings: Hyperparameters, vocabularySize: Int) -> BlockStackLanguageModel<Block> {
    startingWeights(BlockStackLanguageModel(vocabularySize: vocabularySize, settings: settings, random: SeededRandom(seed: settings.seed)) {
        Block(embeddingSize: settings.embeddingSize, headCount: settings.heads, dropout: $0, random: $1)
    }, settings)
}
func plainStack(_ settings: Hyperparameters, vocabularySize: Int, keeps: PlainBlock.Keeps) -> BlockStackLanguageModel<PlainBlock> {
    startingWeights(BlockStackLanguageModel(vocabularySize: vocabularySize, settings: settings, random: SeededRandom(seed: settings.seed)) {
        PlainBlock(embeddingSize: settings.embeddingSize, headCount: settings.heads, keeps: keeps, dropout: $0, random: $1)
    }, settings)
}
func startingWeights<Layer>(_ stack: BlockStackLanguageModel<Layer>, _ settings: Hyperparameters) -> BlockStackLanguageModel<Layer> {
    if command.pytorchInitialization {
        PyTorchInitialization.apply(to: stack.namedParameters, random: SeededRandom(seed: settings.seed, stream: .pytorchInitialization))
    }
    return stack
}


// MARK: - 4. The same stack trained four ways
//
// The same stack trains four times, with the same settings, seed and batches: from plain blocks, with
// LayerNorm alone, with residuals alone, and from the real Blocks. Your guess first: where does each end?
// Three landmarks: chapter 03's one layer reached val 2.07, chapter 01's bigram 2.49, and the unigram, a
// model that predicts every character by its frequency alone, scores 3.35 (printed below). The two
// middle runs test each idea alone. The answers hold at
// these settings: every weight starts from N(0, 0.02^2), as in GPT-2, and the peak learning rate is 3e-3.
// Exercise 5 tries others, PyTorch's default start among them.
//
// Each trains on the Trainer of chapter 01. A step draws a batch, computes the loss and its backward, clips
// the gradients to a global norm of 1, and lets AdamW move the weights at the schedule's rate: a short
// warmup, then a cosine down to the floor. All four, folded (chapter 05's page explains AdamW and the
// clipping at length):
// fold: Sources/Training/Trainer.swift Trainer.trainStep
// fold: Sources/TensorCore/Optimization/LearningRateSchedule.swift LearningRateSchedule.rate(at:)
// fold: Sources/TensorCore/Optimization/Parameters.swift Parameters.clipGradNorm
// fold: Sources/TensorCore/Optimization/AdamW.swift AdamW.update
// The run: `train` takes the steps and estimates the loss at step 0, every 250 steps and at the end, each
// estimate the mean loss of 50 random batches of each split with dropout off (gpt.py's estimate_loss).
// The table below prints each stack's val estimates. Folded:
// fold: Sources/Training/Trainer.swift Trainer.train Trainer.estimateLoss Trainer.meanLoss

section("4. The same stack trained four ways")
let plain = plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: .nothing)
let layerNormOnly = plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: .layerNorm)
let residualsOnly = plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: .residuals)
let model = blockStack(settings, vocabularySize: tokenizer.vocabularySize)
let stacks: [(name: String, model: any LanguageModel)] = [("plain stack", plain), ("LayerNorm only", layerNormOnly),
                                                          ("residuals only", residualsOnly), ("Blocks (both)", model)]
let trainers = stacks.map { stack in
    let stackTrainer = Trainer(model: stack.model, dataset: dataset, hyperparameters: settings)
    do { try stackTrainer.train(log: { _ in }) } catch { print("\(stack.name) failed: \(error)") }   // a finding, not a fatal error
    return stackTrainer
}
let trainer = trainers[3]   // the Blocks'
// The unigram's loss on the val text: -mean ln p(c) over its characters, p the training text's frequencies
// (every count starts at 1, add-one smoothing, so a character the training text lacks has no probability 0).
var characterCounts = [Int](repeating: 1, count: tokenizer.vocabularySize)
for token in dataset.train { characterCounts[token] += 1 }
let countTotal = Double(characterCounts.reduce(0, +))
let unigramLoss = -dataset.val.reduce(0.0) { $0 + log(Double(characterCounts[$1]) / countTotal) } / Double(dataset.val.count)
print("val loss at step  " + trainer.evaluations.map { String(format: "%7d", $0.step) }.joined() + "   train, last")
for (stack, stackTrainer) in zip(stacks, trainers) {
    print("  " + stack.name.padding(toLength: 16, withPad: " ", startingAt: 0)
          + stackTrainer.evaluations.map { String(format: "%7.4f", $0.valLoss) }.joined()
          + String(format: "   %.4f", stackTrainer.evaluations.last?.trainLoss ?? .nan))
}
print(String(format: "the unigram on the val text (each character by its training frequency, no context): %.4f", unigramLoss))
endOfCell()

// The thread of what follows: a stack learns when two paths stay open, each character's effect up to the
// top and the gradient down to the first block. Section 5 measures both at the start; section 6 how
// LayerNorm alone loses them in training; `+` keeps both open.
//
// The last column is the train loss at the last evaluation. The two stacks that learn end below their val
// loss (the Blocks 1.72 against 1.88, residuals alone 1.79 against 1.93): with dropout 0, each has read
// its 1,003,854 training characters about twice (2,048,000 tokens) and begins to fit them.
//
// The four runs' losses in one plot. LayerNorm alone and the plain stack draw the same curve, at the
// unigram's loss: the plain stack's is drawn last, dashed, its val dots hollow rings, so the other's line
// shows between its dashes and its dots inside its rings.
exitOnError {
    try report.plotLoss([("Blocks", trainer), ("residuals only", trainers[2]), ("LayerNorm only", trainers[1]), ("plain", trainers[0])],
                        title: "\(report.heading): with and without residuals and LayerNorm")
}
endOfCell()

// Two stacks end at the unigram: whatever the context, they predict each character by its frequency. Did
// they learn nothing at all? Position 0 is a test. A character there attends only to itself, so no average
// dilutes it on its way up. A stack that used it would predict there at least as well as the bigram (2.49).
// Predict each stack's loss at position 0 before the table. Below, each stack's val loss at each
// position of the window, over 50 val batches. At position 0 the model has one character to go on; at
// position 31 it has 32. The loss by position, folded:
// fold: Chapters/04-Block/Measurements.swift lossByPosition
let positions = [0, 1, 2, 3, 7, 15, 31].filter { $0 < settings.blockSize }
print("val loss at position  " + positions.map { String(format: "%6d", $0) }.joined())
for (label, stack) in zip(["plain stack", "LayerNorm only", "residuals only", "Blocks (both)"], stacks.map(\.model)) {
    let losses = lossByPosition(stack, dataset: dataset, batchSize: settings.batchSize, blockSize: settings.blockSize, batches: 50)
    print("  " + label.padding(toLength: 20, withPad: " ", startingAt: 0) + positions.map { String(format: "%6.2f", losses[$0]) }.joined())
}
endOfCell()

// The plain stack and LayerNorm alone predict the unigram at every position, position 0 included: they
// learned the characters' frequencies and nothing of the text. For the plain stack, section 5 shows why,
// at the start: its Linears shrink everything that reaches the top to about 1e-14, position 0's character
// too. LayerNorm alone keeps the sizes healthy; what closes its position 0 is
// section 6's subject. Residuals alone learn at every position: about the bigram's loss at position 0,
// and better with each character of context. The Blocks do a little better again. `+` carries every
// character past every block, whatever the blocks' halves do. The next two sections measure why the two
// stacks without it stall: section 5 at the start, section 6 during LayerNorm alone's training.

// MARK: - 5. Why, at the start: the signal up and the gradient down
//
// One batch through a fresh copy of each stack (the same first weights as the four trained above), and
// three measurements for every block, predicted, from the first (farthest from the loss) to the last:
// - the signal: each block's output std, the size of all its output's numbers. Healthy: about the
//   embedding's 0.03 or more, block after block.
// - the last character's effect: change each sequence's last character, and measure how much the last
//   position's output changes, relative to its size. Healthy: near 1; near 0 when the block's output no
//   longer depends on that character.
// - the gradient: the factor each block passes it down by (its norm at the block's input over its norm at
//   the next block's input). Healthy: about 1 a block; far below 1 means the first blocks barely learn.
// Then two more, not predicted: each block's parameters' gradient norm (what AdamW sees), and the
// character's effect at position 0 for position 0's own character. Attention there has only that one
// row to average, so nothing dilutes it; expect somewhat below 1, falling a little block by block, since
// only part of a ReLU's output moves with its input (0.83 of it, the rules table below) and the rest is
// the same at every position.
//
// Every `Linear` starts from N(0, 0.02^2) with a bias of 0, as in GPT-2 and nanoGPT (PyTorch's own default
// is larger: exercise 5), and so do the embedding tables (both initializers, folded):
// fold: Sources/Layers/Layers.swift Linear.init(_:_:bias:random:) Embedding.init
// Each prediction below multiplies a few rules of thumb:
//
// | step | what it does to a size, forward or backward |
// |---|---|
// | a `Linear` with n inputs | 0.02 sqrt(n): 0.16 for n = C = 64, 0.32 for n = 4C |
// | ReLU | sqrt(1/2) = 0.71 |
// | the part of ReLU's output that varies with its input | sqrt(1 - 1/pi) = 0.83 of its size; the rest is its mean, sigma/sqrt(2 pi), the same at every position (used for the Blocks' last character) |
// | attention's weights at the start (T = 32) | equal: q and k are each about 0.16 of x's size, so every score q·k is near 0 and the softmax spreads evenly over the visible keys |
// | that average, on rows that differ from position to position | 0.36: position t averages t + 1 of them, which shrinks them by sqrt(t + 1) |
// | the same average, on rows that are already averages of the same earlier rows (a plain block's above the first) | about 1: rows that are already nearly equal stay nearly equal when averaged, so the average keeps their size (and a change to one row of 32 is still 1/32 of it) |
// | LayerNorm | forward: to unit size; backward: 1 / the size of what it read |
//
// Your predictions first: for each stack, does each of the three stay near its healthy value, or shrink
// block after block, and by about how much? Then the page's, folded:
// details: The page's predictions
// - the plain stack: the signal and the last character's effect shrink block after block, the signal by
//   about 1e-3 a block, the character's effect by about 1/32; the gradient falls by about 1e-3 a block.
// - LayerNorm alone: the signal 0.036 in every block (the feed-forward on a unit-size input); the last
//   character as thin as in the plain stack; the gradient x 1.3 at the first block, 1.0 above it: the
//   second LayerNorm divides the gradient by just what the attention half multiplies it by, so only the
//   feed-forward's 0.036 and the first LayerNorm's 1 / x's size remain. (The estimate leaves out where
//   the gradient sits along the positions; the appendix measures how much that adds.)
// - residuals alone: the embedding's 0.028 carried up; the last character's effect 1.0 (swapping the
//   last character swaps its token row, a change of x's own size, and `+` carries it up whole); the
//   gradient x 1.
// - the Blocks: each half adds its own size to x, so the signal grows from 0.047 to 0.080; the last
//   character's effect 0.88, falling to 0.74 as the stream grows; the gradient x 1.7, 1.3 and 1.2.
// end details
//
// The code prints each prediction above its measurement. `StartEstimates` computes the predictions from
// the rules, and `measure` and `inputGradients` (this chapter's Measurements.swift) take the measurements;
// both are folded after the tables. The appendix at the end works each prediction through by hand.

section("5. Why, at the start: the signal up and the gradient down")
let estimates = StartEstimates(blockSize: settings.blockSize, layers: settings.layers, embeddingSize: settings.embeddingSize,
                               vocabularySize: tokenizer.vocabularySize)
if command.pytorchInitialization {   // exercise 5's run
    // PyTorch's default Linear: uniform in +-1/sqrt(inputs), a standard deviation of 1/sqrt(3 inputs), so it
    // passes 1/sqrt(3) whatever its width
    print(String(format: "(this run starts from PyTorch's defaults, where these estimates, made for N(0, 0.02^2), do not apply: "
                 + "each Linear passes 1/sqrt(3), a plain block x %.1e)", pow(1 / 3.0.squareRoot(), 4) * 0.5.squareRoot()))
}
let variants: [(name: String, keeps: PlainBlock.Keeps?)] = [("plain stack", .nothing), ("LayerNorm only", .layerNorm),
                                                           ("residuals only", .residuals), ("Blocks (both)", nil)]
let measuredBatch = dataset.batch(.train, batchSize: settings.batchSize, blockSize: settings.blockSize, random: SeededRandom(seed: 7))
let measured = variants.map { variant in
    if let keeps = variant.keeps {
        return measure(plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: keeps), on: measuredBatch)
    }
    return measure(blockStack(settings, vocabularySize: tokenizer.vocabularySize), on: measuredBatch)
}
let gradientsMeasured = variants.map { variant in   // each block's input gradient, from fresh stacks again
    if let keeps = variant.keeps {
        return inputGradients(plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: keeps), on: measuredBatch)
    }
    return inputGradients(blockStack(settings, vocabularySize: tokenizer.vocabularySize), on: measuredBatch)
}
let measuredFactors = gradientsMeasured.map { gradients in zip(gradients, gradients.dropFirst()).map { norm($0) / norm($1) } }
func row(_ numbers: [Float]) -> String { numbers.map { String(format: "%8.1e", $0) }.joined(separator: " ") }
/// One quantity, predicted and measured, for each kind of stack, first block to last.
func printComparison(_ title: String, predicted: (PlainBlock.Keeps?) -> [Double], measured: [[Float]]) {
    print(title)
    for (variant, numbers) in zip(variants, measured) {
        print("  " + variant.name.padding(toLength: 16, withPad: " ", startingAt: 0) + "predicted "
              + row(predicted(variant.keeps).map(Float.init)))
        print("  " + "".padding(toLength: 16, withPad: " ", startingAt: 0) + "measured  " + row(numbers))
    }
}
printComparison("each block's output std at the start, first block to last", predicted: estimates.outputSpreads(keeps:),
                measured: measured.map(\.outputSpread))
printComparison("\nthe last character's effect after each block", predicted: estimates.lastCharacterEffects(keeps:),
                measured: measured.map(\.lastCharacterEffects))
printComparison("\nthe factor each block but the top one passes the gradient down (the norm at its input over the norm at the next's)",
                predicted: estimates.gradientFactors(keeps:), measured: measuredFactors)
print("\neach block's parameters' gradient norm (not predicted), first block to last")
for (variant, numbers) in zip(variants, measured.map(\.gradientNorms)) {
    print("  " + variant.name.padding(toLength: 26, withPad: " ", startingAt: 0) + row(numbers))
}
print("\nposition 0's character's effect on position 0 after each block (not predicted), first block to last")
for (variant, numbers) in zip(variants, measured.map(\.firstCharacterEffects)) {
    print("  " + variant.name.padding(toLength: 26, withPad: " ", startingAt: 0) + row(numbers))
}
exitOnError {   // the second table as a figure: the measured effect, block by block, on a log scale
    report.drew(try Plotter.shared.lines(zip(variants, measured).enumerated().map { index, stack in
        Series(stack.0.name, x: stack.1.lastCharacterEffects.indices.map { Double($0 + 1) },
               y: stack.1.lastCharacterEffects.map(Double.init), colour: 3 - index)   // each stack in its colour of loss.png
    }, title: "\(report.heading): the last character's effect after each block, at the start", xLabel: "block",
       yLabel: "relative change of the last position", logScaleY: true, everyWholeX: true, keyBottomLeft: true,
       in: report.folder, name: "last-character"))
}
endOfCell()

// What the tables say, stack by stack:
// - The plain stack: the signal and the last character's effect shrink block after block, as predicted
//   (the signal 9.6e-06 to 1.5e-14, the character 0.15 to 1.7e-06), and so does the gradient, by 1.1e-03
//   to 1.3e-03 a block (the estimate's 9.3e-04, times the 1.2 to 1.4 that the appendix explains). The
//   first block's parameters' gradient is 1.5e-11, each of its numbers far below AdamW's epsilon of
//   1e-8, so the first blocks barely move: about 2e-08 a step against weights of about 0.02 (the
//   appendix does the arithmetic). The top block's gradient is not small (2.9e-02), but its input carries
//   next to nothing of the text, so all it can learn is one output for every position: the unigram of
//   section 4.
// - LayerNorm alone: healthy sizes both ways (0.033 to 0.040 up). The gradient grows on its way down, by
//   1.8, 1.5 and 1.3 against the predicted 1.3, 1.0 and 1.0: 1.3 to 1.5 times more, as the plain stack's
//   1.2 to 1.4. In both, the gradient gathers at position 0, where attention's average passes it whole
//   instead of shrinking it; the appendix measures that.
//   Yet the last character's effect falls as steeply as the plain stack's, to 5.3e-06. Healthy sizes say
//   that the signal survives, not that the character does. Position 0's own character does reach the
//   top (0.62 of position 0's top output changes with it, the last table), yet section 4 found it was not
//   learned: that needs section 6.
// - Residuals alone: 0.029 and 1.0 in every block, and every block gets the same gradient: `+` carries
//   the character up and the gradient down whole.
// - The Blocks: x grows with every Block (0.047 to 0.086), the character's effect falls slowly (0.87 to
//   0.72), and the gradient grows a little on its way down (1.7, 1.3 and 1.2), as predicted.
//
// The code behind the tables: the estimates, each rule in a comment, and the measurements, folded.
// fold: Chapters/04-Block/Estimates.swift StartEstimates
// fold: Chapters/04-Block/Measurements.swift measure characterEffects standardDeviation inputGradients norm

// MARK: - 6. Why LayerNorm alone collapses during training
//
// LayerNorm alone started with healthy sizes and ended at the unigram. The mechanism, in three steps:
// 1. At the start the upper blocks' inputs barely carry the text (section 5: the last character's effect
//    at the top is 5e-06), and they are mostly one vector shared by every position. So each position's
//    wish for its own target ("more e here, where an e comes next") points every which way and nearly
//    cancels when a step sums the batch. What training adds to each block's output is nearly the same
//    vector at every position. Part of it is what every position asks alike, the move towards the
//    characters' frequencies; the end of this section takes that part away, to test it.
// 2. LayerNorm cannot undo a vector that every position shares: it normalizes each position over its own
//    C channels, and the same vector at every position is still the same vector after it. As the shared
//    vector grows, it swamps what differed from one position to the next, and the next block reads nearly
//    the same input everywhere, position 0's character included.
// 3. So the top no longer depends on the text, and a top that is the same everywhere is just what the
//    unigram needs. Meanwhile the gradient reaching the blocks below falls by orders of magnitude: each
//    LayerNorm divides the gradient it hands down by the size of what it read, and the shared vector makes
//    those sizes grow. With residuals each
//    block's output is x + f(x), and x, the embedding carried up, differs at every position whatever f
//    does.
//
// Step 1 measured, at step 0, on the gradient of the vocabulary head's weights (V x C). That gradient is a
// sum over the batch's 1,024 positions: each position's logit gradient times its input (the top block's
// output there). It splits exactly into two parts:
// - the shared part: the mean logit gradient times the mean input, 1,024 times, the same for every
//   position;
// - the own part: the sum of each position's own target against its own input.
// Expect the shared part to be many times the own for LayerNorm alone, whose top barely carries the text.
// Expect the own to count for more in residuals alone, whose top carries it. The split, folded:
// fold: Chapters/04-Block/Measurements.swift splitOfTheHeadGradient

section("6. Why LayerNorm alone collapses during training")
for (label, split) in [("LayerNorm only", splitOfTheHeadGradient(plainStack(settings, vocabularySize: tokenizer.vocabularySize,
                                                                             keeps: .layerNorm), on: measuredBatch)),
                       ("residuals only", splitOfTheHeadGradient(plainStack(settings, vocabularySize: tokenizer.vocabularySize,
                                                                             keeps: .residuals), on: measuredBatch))] {
    print(label.padding(toLength: 16, withPad: " ", startingAt: 0)
          + String(format: "the head's weight gradient at step 0: shared %.1e, own %.1e: the shared part %.1f times the own",
                   split.shared, split.own, split.shared / split.own))
}
endOfCell()

// For LayerNorm alone the shared part is 16 times the positions' own: nearly all a step can learn there is
// one change for every position, the move towards the characters' frequencies. For residuals alone it is
// the smaller of the two (0.7 times), since the top carries each position's own characters.
//
// Step 2 in numbers: four positions' own vectors x (entries N(0, 1)) plus one vector s shared by
// all four (entries N(0, 1) too) times a growing size, through a LayerNorm of gain 1 and bias 0. How much
// do the four outputs still differ from their mean row (the root mean square of each row minus the mean
// row, over the rows' root mean square; `variationAcrossRows`, folded)? Expect sqrt(3/4) = 0.87 at first
// (four independent rows differ from their mean row by sqrt(1 - 1/4) of their size). Then 0.87 /
// sqrt(1 + size^2): LayerNorm rescales each row to unit size, and a row's size is sqrt(1 + size^2) while
// the part that differs keeps its 1.
// fold: Chapters/04-Block/Measurements.swift variationAcrossRows meanRow
let demoRandom = SeededRandom(seed: 13)                                                // its own generator
let ownRows = Tensor.normal([4, settings.embeddingSize], std: 1, random: demoRandom)  // (4, C): one row per position
let shared = Tensor.normal([settings.embeddingSize], std: 1, random: demoRandom)      // (C): added to every row
let (unitGain, zeroBias) = (Tensor.filled([settings.embeddingSize], with: 1), Tensor.zeros([settings.embeddingSize]))
for size: Float in [0, 1, 3, 10, 30] {
    let normalized = withoutGradients { layerNorm(ownRows + shared * size, gain: unitGain, bias: zeroBias) }   // (4, C)
    print(String(format: "x + %4.0f s:  variation across the four rows after LayerNorm %.2f", size,
                 variationAcrossRows(normalized.values, width: settings.embeddingSize)))
}
endOfCell()

// Then every step, on a fresh LayerNorm-only stack as it trains (the same settings and batches), measured
// every few steps on section 5's batch:
// - its context variation: how much each block's output still differs from one position and sequence to
//   the next (the same variation as above; step 2);
// - the shared part of the change: how much of what training has changed in each block's output since
//   step 0 is one vector added at every position (1 if all of it, near 0 if each position moved its own
//   way; step 1);
// - then, in a second table, step 3: the gradient at each block's input (section 5's `inputGradients`),
//   and the sizes (std) that each block's two LayerNorms read and divide the gradient by: the block's
//   input x, and the attention half's output;
// - and in a third, where the shared vector lives: its size in each block's output (the root mean square
//   of the output's mean row), beside the one vector a block adds at every position by itself, its
//   feed-forward's last bias, and the vocabulary head's bias, which alone could hold the characters'
//   frequencies. Do the biases hold the shared vector?
// Expect the context variation to start at about 0.4 to 0.6, not 1: attention's equal weights at the start
// already average each position with the ones before it. The new measurements, folded:
// fold: Chapters/04-Block/Measurements.swift contextVariation blockOutputs sharedPartOfTheChange layerNormInputSpreads sharedVectorsAndBiases
let watched = plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: .layerNorm)
let watchedTrainer = Trainer(model: watched, dataset: dataset, hyperparameters: settings)
let startingOutputs = blockOutputs(watched, on: measuredBatch)
print("LayerNorm only    context variation       shared part of each")
print("step  batch loss    (first block to last)   block's change so far")
var lastBatchLoss: Float?
var gradientRows: [String] = []   // step 3's numbers, printed as a second table after the first
var sharedRows: [String] = []     // where the shared vector lives, a third table
var firstInputGradient: [Float] = [], layerNormSpreads: [[Float]] = []   // at step 0 and step 200, for the product
for step in 0...200 {
    if [0, 10, 20, 30, 60, 200].contains(step) {
        let variation = contextVariation(watched, on: measuredBatch).map { String(format: "%4.2f", $0) }
        let sharedPart = step == 0 ? ["   -", "   -", "   -", "   -"]
            : sharedPartOfTheChange(blockOutputs(watched, on: measuredBatch), since: startingOutputs, width: settings.embeddingSize)
                .map { String(format: "%4.2f", $0) }
        let loss = lastBatchLoss.map { String(format: "%10.3f", $0) } ?? "         -"
        print(String(format: "%4d  ", step) + loss + "    " + variation.joined(separator: " ") + "    " + sharedPart.joined(separator: " "))
        let atInputs = inputGradients(watched, on: measuredBatch).map(norm)   // (the parameters' gradients it leaves, the next step's zeroGrad clears)
        let read = layerNormInputSpreads(watched, on: measuredBatch)
        if step == 0 || step == 200 { firstInputGradient.append(atInputs[0]); layerNormSpreads.append(read.first + read.second) }
        gradientRows.append(String(format: "%4d  ", step) + row(atInputs) + "    " + row(read.first) + "    " + row(read.second))
        let located = sharedVectorsAndBiases(watched, on: measuredBatch, width: settings.embeddingSize)
        sharedRows.append(String(format: "%4d  ", step) + row(located.shared) + "    " + row(located.bias)
                          + String(format: "    %8.1e", located.headBias))
    }
    if step < 200 { lastBatchLoss = watchedTrainer.trainStep() }
}
print("\n      the gradient at each block's input     the std the first LayerNorm reads      the std the second LayerNorm reads")
print("step  (its norm, first block to last)         (x, each block's input)               (the attention half's output)")
gradientRows.forEach { print($0) }
print("\n      the vector every position shares in     the feed-forward's last bias (rms)    the head's")
print("step  each block's output (rms of its mean row)                                         bias (rms)")
sharedRows.forEach { print($0) }
if layerNormSpreads.count == 2 {   // step 3 in one line: how much the eight sizes grew, against how far the gradient fell
    let growth = zip(layerNormSpreads[1], layerNormSpreads[0]).reduce(Float(1)) { $0 * $1.0 / $1.1 }
    let fall = firstInputGradient[0] / firstInputGradient[1]
    print("\nfrom step 0 to step 200: the eight sizes grew by a product of \(grouped(Int(growth))); the gradient at the first "
          + "block's input fell \(grouped(Int(fall))) times; the rest of its path grew " + String(format: "%.1f times", growth / fall))
}
endOfCell()

// Each step, measured:
// - Step 1: nearly all that training changed in each block's output (0.93 to 0.98 of it by step 10) is
//   one vector added at every position.
// - Step 2: within 20 steps the blocks above the first stop telling positions apart, their outputs the
//   same vector at every position of every sequence (context variation 0.01 and below). Position 0's
//   character still varies the first block's output (0.10 at step 200), but from the second block up
//   the shared vector swamps the rest: 0.00.
// - Step 3: the batch loss reaches the unigram's at step 30 and keeps it, while the gradient at the first
//   block's input falls from 7.0e-03 to 3.9e-08 by step 200, 180,000 times. The sizes the LayerNorms
//   read grow meanwhile, as their shared vectors grow: from step 0 to step 200, 1.0, 3.0, 5.8 and 11 times
//   for the first LayerNorms (x, first block to last), 2.1, 3.8, 7.8 and 34 times for the second. A
//   gradient on its way from the top to the first block's input passes all eight, so it is divided by
//   their product, about 440,000 (the table's last line). That is the fall, to within the factor of
//   about 2.4 by which the rest of its path (the Linears, the averages, the LayerNorms' gains, what
//   arrives from the head) grew.
// - Where the shared vector lives: not in the biases. At step 200 the vector every position shares has a
//   root mean square of 0.10 to 1.0, block by block, and each block's feed-forward bias 0.0026 to 0.025.
//   A block's output is its last Linear's weights times the ReLU's output, plus that bias, so its mean
//   row is the weights times the ReLU's mean row, plus the bias: nearly all of the shared vector is the
//   weights applied to what the ReLU outputs alike at every position. (A ReLU's output is never negative,
//   so that part is not 0 even at the start: 0.027 to 0.037 at step 0.) The head's own bias stays small
//   too (0.027). AdamW moves every number by about the same step, and each logit has one bias number
//   against 64 weights, each applied to the top's shared vector (1.0 at step 200), so the weights' path
//   moves the logits many times faster.
//
// It is the depth that lets the shared vector win: each block more thins the text's path to the top
// (section 5), so less of what a step changes is each position's own. With one block, LayerNorm alone
// learns, a little better than residuals alone (2.10 against 2.16); with two it learns, but less (2.43
// against 2.07). These are exercise 5's runs (`scripts/run-exercises.sh`, one seed each).
//
// Two checks of the mechanism. First, is the collapse a trap? Section 4's LayerNorm-only stack, after all
// 2,000 steps: its context variation, block by block. Second, an intervention that takes the pull away.
// Part of step 1's shared change is the head asking every position for the characters' frequencies.
// Start a LayerNorm-only stack's head bias at the unigram's log-frequencies, ln p(c), and the model
// predicts those frequencies from step 0 through its bias alone, so that pull starts near 0. If the pull
// is what grows the shared vector, this stack should learn; if the vector grows without it, the stack
// collapses as before. Your prediction first: its val loss after 2,000 steps.
let trainedVariation = contextVariation(layerNormOnly, on: measuredBatch)
print("section 4's LayerNorm only, after \(settings.steps) steps: context variation "
      + trainedVariation.map { String(format: "%4.2f", $0) }.joined(separator: " "))
let unigramStart = plainStack(settings, vocabularySize: tokenizer.vocabularySize, keeps: .layerNorm)
unigramStart.languageModelHead.bias?.storage.copy(fromHost: characterCounts.map { Float(log(Double($0) / countTotal)) })
let unigramStartSplit = splitOfTheHeadGradient(unigramStart, on: measuredBatch)
print("LayerNorm only, the head's bias at ln p(c): at step 0 the head's weight gradient is "
      + String(format: "shared %.1e, own %.1e: the shared part %.1f times the own", unigramStartSplit.shared, unigramStartSplit.own,
               unigramStartSplit.shared / unigramStartSplit.own))
let unigramStartTrainer = Trainer(model: unigramStart, dataset: dataset, hyperparameters: settings)
exitOnError { try unigramStartTrainer.train(log: { _ in }) }
print(String(format: "  after %d steps: val %.4f; context variation ", settings.steps, unigramStartTrainer.evaluations.last?.valLoss ?? .nan)
      + contextVariation(unigramStart, on: measuredBatch).map { String(format: "%4.2f", $0) }.joined(separator: " "))
endOfCell()

// - A trap: after 2,000 steps section 4's LayerNorm-only stack still tells no positions apart above the
//   first block (0.00), and its first block barely (0.09). With the gradient at the first block's input
//   180,000 times smaller by step 200 than at the start, nothing in training pulls it out.
// - The intervention takes most of the pull away (the shared part 1.7 times the own, against 16), and
//   the stack collapses just the same: val 3.3449, context variation 0.00 above the first block. So the
//   pull towards the frequencies is not needed for the collapse. The inputs to the head were mostly one
//   shared vector from the start (context variation 0.38 to 0.58 at step 0, from ReLU's mean and
//   attention's averages), and each position's own wish still cancels over the batch, so what a step
//   changes is still mostly that vector; steps 2 and 3 then run as before. What makes the change shared
//   without the pull, this page does not pin down.

// MARK: - 7. The Blocks: a sample, the growing stream, and what LayerNorm adds
//
// A sample from the trained Blocks (section 4's), 500 characters:

section("7. The Blocks: a sample, the growing stream, and what LayerNorm adds")
let samplingRandom = SeededRandom(seed: settings.seed, stream: .sampling)
let (generated, generationRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    model.generate(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, random: samplingRandom)
}
let sample = tokenizer.decode(generated)
print("sample (with residuals and LayerNorm):\n---\n\(sample)\n---\n")
endOfCell()
// Why chapter 05 adds a final LayerNorm (GPT-2's `ln_f`), which no stack here has (section 3): each Block
// normalizes what it reads, but adds its output to the residual stream x unnormalized, so x's scale grows
// with every Block, and nothing normalizes it before the vocabulary head. Measured on the trained Blocks
// and the trained residuals-only stack, over the first 32 characters of the val text: the standard
// deviation of x after the embedding (which grew in training, from 0.03) and after each block. Expect
// both to grow block by block, since both add each half's output unnormalized. Expect the Blocks' to jump
// in the first Block: its halves read x at unit size, whatever x's own size, so they add outputs of their
// own trained size at once, where the residuals-only stack's halves read the small embedding itself. Which
// stack ends larger, the page does not predict.
let streamInput = Array(dataset.val.prefix(min(settings.blockSize, 32)))
/// The standard deviation of the residual stream x (1, T, C) after the embedding and after each block.
func streamScales<Layer>(_ stack: BlockStackLanguageModel<Layer>) -> [Float] {
    withoutGradients {
        var x = stack.embedding(streamInput, batchSize: 1, length: streamInput.count)   // (1, T, C)
        var scales = [x]
        for block in stack.blocks { x = block(x, training: false); scales.append(x) }
        return scales.map(standardDeviation)
    }
}
print("the residual stream's standard deviation, after the embedding and after each block:")
for (label, scales) in [("Blocks", streamScales(model)), ("residuals only", streamScales(residualsOnly))] {
    print("  " + label.padding(toLength: 16, withPad: " ", startingAt: 0) + scales.map { String(format: "%.2f", $0) }.joined(separator: ", "))
}
endOfCell()
// Both streams grow, to about 3 at the top: the growth is the residual stream's, and it is what chapter
// 05's final LayerNorm normalizes before the head (this chapter does not test that). The Blocks' stream
// jumps in the first Block, from 0.11 to 1.64, more than ten times the embedding. The residuals-only
// stack's halves read x as it is, from 0.13 in the first block to 2.16 in the fourth, so each block's
// Linears face inputs of their own scale; the Blocks' halves read x through LayerNorm, at unit size in
// every block. That is what "LayerNorm keeps each half's input steady" means.
//
// Is the 0.05 between residuals alone (1.93) and the Blocks (1.88) the normalizing itself, or what
// LayerNorm learns (a gain and a bias per channel)? And is it only this seed's? Two checks, logs left out:
// - the Blocks with every LayerNorm's gain held at 1 and its bias at 0, so that each only normalizes;
// - residuals alone and the Blocks from a second seed (1338: other first weights, other batches).
// Predict both before reading on.
/// A stack trained without its LayerNorms' gains and biases: the optimizer never sees them, so they stay 1
/// and 0, and each LayerNorm only normalizes.
final class FrozenLayerNorms<Layer: StackedBlock>: LanguageModel {
    let stack: BlockStackLanguageModel<Layer>
    init(_ stack: BlockStackLanguageModel<Layer>) { self.stack = stack }
    var blockSize: Int { stack.blockSize }
    var vocabularySize: Int { stack.vocabularySize }
    var namedParameters: [(String, Tensor)] { stack.namedParameters.filter { !$0.0.contains(".ln") } }   // blocks.N.ln1/ln2
    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor {
        stack.logits(ids, batchSize: batchSize, length: length, training: training)
    }
}
var secondSeed = settings
secondSeed.seed = settings.seed &+ 1   // wraps: any --seed has a next one
let checks: [(label: String, model: any LanguageModel, settings: Hyperparameters)] = [
    ("seed \(settings.seed), Blocks, LayerNorm's gain and bias held at 1 and 0",
     FrozenLayerNorms(blockStack(settings, vocabularySize: tokenizer.vocabularySize)), settings),
    ("seed \(secondSeed.seed), residuals only", plainStack(secondSeed, vocabularySize: tokenizer.vocabularySize, keeps: .residuals), secondSeed),
    ("seed \(secondSeed.seed), Blocks", blockStack(secondSeed, vocabularySize: tokenizer.vocabularySize), secondSeed)]
let checkLosses = checks.map { check in
    let checkTrainer = Trainer(model: check.model, dataset: dataset, hyperparameters: check.settings)
    exitOnError { try checkTrainer.train(log: { _ in }) }
    print(check.label + ": val " + String(format: "%.4f", checkTrainer.evaluations.last?.valLoss ?? .nan))
    return checkTrainer.evaluations.last?.valLoss ?? .nan
}
endOfCell()

// With the gain and bias held, the Blocks score as with them (1.8793 against 1.8789): what beats residuals
// alone is the normalizing itself. From the second seed the order and the gap hold (1.877 against 1.928,
// where the first seed gave 1.879 against 1.930): the hundredths are not one seed's, at these settings.

// MARK: - 8. Every head of every layer
//
// At the start every head's attention weights were equal, the averages section 5 measured. Trained, each
// head of the Blocks has picked positions of its own. Below, the trained Blocks' attention on the val
// text, which starts where the 90% cut falls, mid-line: its first character is a '?'. The page shows the
// first layer's four heads on the first 24 characters, large enough to read. Each leans its own way:
// - head 3 looks mostly at the character just before, though its weight spreads over the last two to
//   four characters;
// - head 1 often looks back towards the start of the current word (the G of "Good", the m of "morrow");
// - head 2 looks at the last space or newline;
// - head 0 mixes the last few characters, with a sharp pick here and there (the O of GREMIO looks almost
//   only at the I before it).
// The linked full-size figure has every layer on 32 characters, one row of panels per layer. Deeper heads
// pick further back: in layer 2, head 3 sends nearly every character of "Good morrow, neighbou" to one
// key, the newline that ends "GREMIO:", where the current line began. `lastAttention` recomputes each
// head's softmax(q k^T / sqrt(hs)) from the queries and keys the forward pass kept.

section("8. Every head of every layer")
let prompt = Array(dataset.val.prefix(min(settings.blockSize, 32)))   // 32 for the full figure; the page's shows the first 24
_ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)   // a forward pass keeps each head's queries and keys
exitOnError {
    try report.plotAttentionByLayer(model.blocks.map(\.attention.lastAttention), prompt: prompt, tokenizer: tokenizer, what: "the trained Blocks")
}

// The weights the figures draw, recomputed from the last forward pass:
// fold: Sources/Attention/MultiHead.swift MultiHead.lastAttention

// MARK: - 9. The chapter in short
//
// Every run's last val loss, from sections 4 and 7:

section("9. The chapter in short")
print("val loss after \(settings.steps) steps        seed \(settings.seed)   seed \(secondSeed.seed)")
let lastVal = trainers.map { $0.evaluations.last?.valLoss ?? .nan }
for (label, first, second) in [("plain stack", lastVal[0], Float.nan), ("LayerNorm only", lastVal[1], .nan),
                               ("residuals only", lastVal[2], checkLosses[1]), ("Blocks (both)", lastVal[3], checkLosses[2]),
                               ("Blocks, gain and bias held", checkLosses[0], .nan)] {
    print("  " + label.padding(toLength: 28, withPad: " ", startingAt: 0) + String(format: "%9.4f", first)
          + (second.isNaN ? "" : String(format: "   %9.4f", second)))
}
print(String(format: "  the unigram                 %9.4f", unigramLoss))
endOfCell()

// - Two paths decide whether a stack learns: the signal up (each character's effect on the top) and the
//   gradient down (to the first block).
// - Without residuals both shrink block by block (section 5), and at these settings (4 blocks, weights
//   from N(0, 0.02^2), learning rate 3e-3) training collapses to the unigram, with or without LayerNorm
//   (section 6: with LayerNorm, one vector shared by every position swamps the text; what makes training's
//   change so shared, beyond the pull towards the frequencies, is left open).
// - `+` keeps both paths open. LayerNorm adds a few hundredths, from both seeds; the normalizing alone
//   gives them, with its gain and bias held at 1 and 0.
// - How much LayerNorm adds depends on the settings (exercise 5, one seed each): at a tenth of the
//   learning rate the Blocks reach 2.29 and residuals alone 2.58; with two blocks, 1.91 against 2.07;
//   from PyTorch's start, residuals alone do better (1.75 against the Blocks' 1.79).

// MARK: - 10. How the library runs it fast
//
// LayerNorm's CPU kernel, forward beside backward. The forward keeps each position's mean and
// 1/sqrt(variance + eps) for the backward, which then never recomputes them; the sums run eight floats at
// a time:
// show: Sources/TensorCore/Backend/CPU/LayerNormKernels.swift CPUBackend.layerNorm CPUBackend.layerNormBackward
//
// The tests that hold it to `NaiveKernels.layerNorm` and to finite differences:
// `softmaxLayerNormAndCrossEntropyMatchTheReferences` (Tests/TensorCoreTests/KernelTests.swift) and
// `layerNorm` (GradientCheckTests.swift). The same comparison on the first Block's ln1 over the val text:

section("10. How the library runs it fast")
let normInput = withoutGradients { model.embedding(prompt, batchSize: 1, length: prompt.count) }   // (1, T, C)
let normFast = withoutGradients { model.blocks[0].norm1(normInput) }.values
let normWidth = settings.embeddingSize
let normReadable = (0..<prompt.count).flatMap { t in
    NaiveKernels.layerNorm(Array(normInput.values[(t * normWidth)..<((t + 1) * normWidth)]),
                           gain: model.blocks[0].norm1.weight.values, bias: model.blocks[0].norm1.bias.values)
}
print(String(format: "LayerNorm's kernel against NaiveKernels.layerNorm on %d positions: largest difference %.1e",
             prompt.count, zip(normFast, normReadable).map { abs($0 - $1) }.max() ?? 0))
endOfCell()

// The run's files, beside its plots: the sample and a summary (`printLoss` draws the loss curves as text on a
// terminal; when the output is a file, as for this page, it prints nothing).
exitOnError {
    try report.writeSample(sample)
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png (all four stacks), attention.png, attention-all-layers.png, sample.txt, summary.json")

// MARK: - Appendix: section 5's predictions, worked through
//
// The rules of section 5's table, multiplied out. Along one path the factors multiply, each step scaling
// what it receives. Where two parts are added (x and what a half adds to it, or the three parts of the
// Blocks' signal), they are at right angles at the start, independent random directions, so their squares
// add.
//
// The plain stack: its first block, then each block above it.
//
//   signal      first block: 0.0283 (embedding) x 0.356 (average) x 0.16 (value)
//               x 0.16 (projection) x 0.16 (expand) x 0.707 (ReLU) x 0.32 (contract)  = 9.3e-06
//               each block above: x 9.3e-04, the same Linears and ReLU (averaging
//               rows that are already averages: x 1)                    = 8.7e-09, 8.0e-12, 7.4e-15
//   last        first block: the last position averages 32 rows, the changed one at
//   character   weight 1/32; an average of 32 different rows has 1/sqrt(32) of a row's
//               size; so the change over the output is (1/32) / (1/sqrt(32))          = 0.18
//               each block above: the change is again 1 row of 32 (x 1/32); the
//               average of rows that are already alike keeps its size (x 1)  = 5.5e-03, 1.7e-04, 5.4e-06
//               (the Linears scale the change and the output alike: they cancel out)
//   gradient    each block: x 9.3e-04, the same Linears and ReLU backward, the average counted at x 1
//
// What so small a gradient does under AdamW: the first block's parameters' gradient norm is 1.5e-11 over
// its 49,536 numbers, 1.5e-11 / sqrt(49,536) = 6.7e-14 a number. AdamW divides each gradient by its
// running root mean square plus epsilon (1e-8), so a gradient g far below epsilon moves its weight by
// about the learning rate times g / epsilon: at the peak rate, 3e-3 x 6.7e-14 / 1e-8 = 2.0e-08 a step,
// against weights of about 0.02. (Without epsilon, even these would make full steps.)
//
// LayerNorm alone's gradient: one block, from its output down to its input, one factor per step. Call a
// the factor by which attention's average shrinks the rows on the way up, and a' the factor by which it
// shrinks the gradient on the way down.
//
//   feed-forward half, backward     0.32 (contract) x 0.707 (ReLU) x 0.16 (expand)       = 0.036
//   the second LayerNorm, backward  divides by the size it read, the attention half's
//                                   output: 0.16 (value) x a x 0.16 (projection)         / (0.0256 a)
//   attention half, backward        0.16 (projection) x a' x 0.16 (value)                 x 0.0256 a'
//   the first LayerNorm, backward   divides by the size of x: 0.0283 in the first block, 0.036 above
//   in all                          0.036 x (a'/a) / x's size     = 1.3 (a'/a) first, 1.0 (a'/a) above
//
// If the average shrank the gradient exactly as much as it shrank the rows, a' = a, the two would cancel,
// and the estimate (1.3, then 1.0) takes that. Measured, the gradient passes 1.3 to 1.5 times more, and
// the plain stack's average passes it at 1.2 to 1.4 where its estimate counts 1. The cell below measures
// why.
//
// The Blocks, worked through for the first Block (x is the embedding, 0.0283; each half reads LN(x), unit
// size; the attention half adds 0.16 x 0.356 x 0.16 = 0.0092, the feed-forward half 0.036):
//
//   signal      the three at right angles, so their squares add: sqrt(0.0283^2 + 0.0092^2 + 0.036^2) = 0.047
//   last        the embedding's change (x's own size, 0.0283) plus what the feed-forward half moves
//   character   with it (0.036 x 0.83, the part of ReLU's output that varies), squares added:
//               sqrt(0.0283^2 + 0.030^2) / 0.047                                             = 0.88
//   gradient    `+` hands it down whole; each half adds its own path, 1 / x's size (LayerNorm) times
//               its forward factor, at right angles: sqrt(1 + (0.0092/0.0283)^2)
//               x sqrt(1 + (0.036/0.0283)^2)                                                 = 1.70
//
// The blocks above repeat it with x's new size. `StartEstimates` (folded in section 5) does the same sums.
//
// Why the average passes the gradient at more than 1. Backward, attention's equal weights hand position s
// the sum over t >= s of 1/(t + 1) times position t's gradient. What that does to the gradient's norm
// depends on how the gradient lies along the 32 positions. Three shapes, put through that sum:
// - different at every position (independent rows): the squares add, and it shrinks by 0.36, the
//   forward's factor;
// - the same row at every position: the sums add. Position 0 gets 1 + 1/2 + ... + 1/32 = 4.06 rows of
//   it and the last position 1/32 of one; over the positions, about x 1.37;
// - all at position 0: only position 0 receives it, at weight 1/(0 + 1): x 1.
// Then where the measured gradients lie: the share of each gradient's square that sits at position 0, at
// each block's input. Spread evenly over the 32 positions, that share would be 1/32 = 0.03.

section("Appendix: section 5's predictions, worked through")
/// Backward through attention's equal weights: position s receives the sum over t >= s of g[t] / (t + 1).
/// g: (T, width), one row per position.
func equalAttentionBackward(_ g: [[Double]]) -> [[Double]] {
    g.indices.map { s in
        g[s].indices.map { c in (s..<g.count).reduce(0.0) { $0 + g[$1][c] / Double($1 + 1) } }
    }
}
/// The norm of g: the square root of the sum of its squares.
func rootSumOfSquares(_ g: [[Double]]) -> Double { g.joined().reduce(0) { $0 + $1 * $1 }.squareRoot() }
let shapeRandom = SeededRandom(seed: 17)                   // its own generator
let randomRow = { (0..<1000).map { _ in Double(shapeRandom.normal()) } }   // 1,000 channels
let oneRow = randomRow()
let shapes: [(name: String, g: [[Double]])] = [
    ("different at every position", (0..<settings.blockSize).map { _ in randomRow() }),
    ("the same row at every position", Array(repeating: oneRow, count: settings.blockSize)),
    ("all at position 0", [oneRow] + Array(repeating: oneRow.map { _ in 0 }, count: settings.blockSize - 1))]
for shape in shapes {
    print(shape.name.padding(toLength: 32, withPad: " ", startingAt: 0)
          + String(format: "the average passes it at x %.2f", rootSumOfSquares(equalAttentionBackward(shape.g)) / rootSumOfSquares(shape.g)))
}
print("\nthe share of the gradient's square at position 0, at each block's input, first block to last")
for (variant, gradients) in zip(variants, gradientsMeasured) {
    print("  " + variant.name.padding(toLength: 16, withPad: " ", startingAt: 0) + gradients.map {
        String(format: "%.2f", firstPositionShare($0, sequences: settings.batchSize, length: settings.blockSize)) }.joined(separator: " "))
}
endOfCell()

// fold: Chapters/04-Block/Measurements.swift firstPositionShare
//
// In the two stacks without residuals the gradient sits mostly at position 0 (the plain stack's: 0.92 at
// the first block's input). It gathers there because each average above did the same sum: every position
// handed its gradient to every earlier one, and position 0, earlier than all the others, collects the most,
// block after block. A gradient gathered at position 0 passes at 1. What sits at the next few positions
// is still partly alike from one position to the next, so it adds up as the same row does, towards 1.37.
// Together, between the two: the 1.2 to 1.4 measured. With residuals alone the share is 0.03 in every
// block, spread evenly: `+` hands each block the loss's own gradient, which is spread evenly. The Blocks'
// gathers a little at the first blocks (0.11); their estimate, which keeps the 0.36, still lands on the
// gradient table's 1.7, 1.3 and 1.2.

