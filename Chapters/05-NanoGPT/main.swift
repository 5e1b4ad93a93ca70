// Chapter 05 · NanoGPT: the whole model, and streaming generation
// ================================================================
//
// Everything so far, assembled and scaled up: token + position embedding, a stack of Blocks, a final
// LayerNorm and a Linear layer to vocabulary logits. This is Karpathy's gpt.py, at the size nanoGPT trains
// on a CPU. We train it, then generate two ways. `generate()` returns the whole sequence at the end.
// `generateStream()` hands over each token the moment it is sampled, and the chapter prints it at once.
// The stream keeps a key/value cache: every layer's keys and values of the positions so far. So each new
// token runs one position through the model, not the whole context (its attention still reads every
// cached key). When the cache is full, at T positions, it is refilled from the last T/2 tokens.
//
//   swift run -c release ch05            (--quick for a few seconds, --help for every flag)
//
// Expected: text with speakers' names and line breaks, many real words among Shakespeare-shaped inventions. Measured on a 2-core AMD EPYC
// (OpenBLAS, 2 threads), release build, `swift run -c release ch05 --data tinyshakespeare.txt`:
// val loss about 1.6 after 5000 steps.
import ArgumentParser
import Attention
import ChapterSupport
import Checkpoints
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

// MARK: - Hyperparameters
//
// The sizes nanoGPT trains on a CPU, trained longer; chapter 06 and `nanogpt train` share them, so they live
// in the library:
// show: Sources/NanoGPT/Recipe.swift Hyperparameters.nanoGPT

let defaults = Hyperparameters.nanoGPT
let (command, settings, report) = Chapter05.start(defaults, plots: "05-nanogpt", title: "NanoGPT")   // the flags: Flags.swift
let options = command.training
print("Chapter 05 · NanoGPT\n")
section("Hyperparameters")
print("\(settings.table)\n")

// MARK: - 1. The data (as in chapter 01)

section("1. The data (as in chapter 01)")
let (text, tokenizer, dataset) = options.loadChapterData(settings)   // text, tokenizer, 90/10 split; absurd sizes refused
print("\(text.count) characters, vocabulary: \(tokenizer.summary)\n")

// MARK: - 2. The model
//
//   ids (B, T)
//   -> token embedding (B, T, C) + position embedding (T, C) -> dropout
//   -> Block x N                  each: x + MultiHead(LN(x)), then x + FeedForward(LN(x))
//   -> LayerNorm (B, T, C) -> Linear (B, T, V): logits
//
// The model lives in the library (NanoGPT/NanoGPT.swift): `nanogpt train`, `nanogpt generate` and chapter 06
// use it too. Here is the whole class, gpt.py's GPTLanguageModel: its layers, their initialization, the
// forward pass and the parameters' names. Against chapter 04's stack it adds the config, dropout after the
// embeddings and the final LayerNorm. (Generation's forward, with a cache, is section 4's.)
// show: Sources/NanoGPT/NanoGPT.swift NanoGPT
//
// Every piece inside the class comes from an earlier chapter. Each is the line of gpt.py beside it, and its
// Swift, whole, is in section 7 at the end of the page, so that this section goes on to what is new:
//
// | piece | chapter | gpt.py |
// |---|---|---|
// | `TokenAndPositionEmbedding` | 02 | `token_embedding_table(idx) + position_embedding_table(torch.arange(T))` |
// | `MultiHead` | 03 | `MultiHeadAttention`: every head's `softmax(q k^T / sqrt(hs))`, masked, times `v`, concatenated, projected |
// | `FeedForward` | 04 | `nn.Sequential(nn.Linear(C, 4 * C), nn.ReLU(), nn.Linear(4 * C, C), nn.Dropout(dropout))` |
// | `Linear`, `LayerNorm` | 02, 04 | `nn.Linear`, `nn.LayerNorm(C)` |
//
// Dropout after the embeddings is new in the model; the Blocks' came in chapter 04. While training, it
// zeroes each activation with probability p and scales the rest by 1/(1 - p), so the expected value stays
// the same. At evaluation and generation it does nothing. It is off in this run (p = 0; `--dropout 0.2`
// turns it on), and its code is in section 7.
//
// Each Block is chapter 04's, gpt.py's `x = x + self.sa(self.ln1(x)); x = x + self.ffwd(self.ln2(x))`:
// show: Sources/Transformer/Block.swift Block.callAsFunction
//
// The model's shape, from the settings: one initializer turns the knobs above into the model's sizes.
// show: Sources/NanoGPT/NanoGPT.swift GPTConfig.init(_:vocabularySize:)

section("2. The model")
let config = GPTConfig(settings, vocabularySize: tokenizer.vocabularySize)
let model = NanoGPT(config, seed: settings.seed)
// The parameters as a checkpoint names them: gpt.py's names, so a PyTorch state dict looks them up by name.
// (Each Block trains its keys, queries and values as chapter 03's one packed matrix; a checkpoint writes
// it under gpt.py's per-head names, with `stateDictionary`, section 7.) The Swift names of the same
// things, against gpt.py's:
//
//   n_embd -> embeddingSize          n_head -> heads              n_layer -> layers
//   block_size -> blockSize          batch_size -> batchSize      max_iters -> steps
//   lm_head -> languageModelHead     ln_f -> finalNorm            sa -> attention
//   ffwd -> feedForward              ln1, ln2 -> norm1, norm2     proj -> projection
//   forward(idx, targets) -> (logits, loss): here logits(...), then crossEntropy(logits, targets) in the Trainer
//
// nanoGPT's model.py, the other model people know, differs in a few details: it ties the token embedding to
// the output layer, uses GELU where gpt.py and this chapter use ReLU, adds dropout after the embeddings (as
// this model does, 0 here), packs its heads' weights in the order q, k, v (ours: k, q, v), scales the initial output projections down by 1/sqrt(2 × n_layer), leaves the biases out of its
// Linear and LayerNorm layers by default (`bias=False`), and names its parameters its own way.
print("parameters: \(model.parameterCount) (\(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M), named as in PyTorch:")
for (name, tensor) in model.stateDictionary.prefix(12) { print("  \(name.padding(toLength: 36, withPad: " ", startingAt: 0)) \(tensor.shape)") }
print("  ... \(model.stateDictionary.count - 12) more\n")

// MARK: - 3. Training
//
// nanoGPT's recipe, not gpt.py's: 5,000 steps of 12 x 64 tokens, a warmup and then a cosine decay of the
// learning rate (chapter 01's schedule), the global gradient norm clipped at 1, and AdamW's weight decay on
// the matrices and embedding tables only. (gpt.py trains at a constant 3e-4, with AdamW's default betas 0.9
// and 0.999, and no clipping.) The Trainer's step, and the loss it minimizes, the cross-entropy of the
// logits against the next tokens (chapter 01):
// show: Sources/Training/Trainer.swift Trainer.trainStep Trainer.lossAndGradient Trainer.loss
//
// Every piece of the step comes from chapter 01. Each is the line of gpt.py or PyTorch beside it, and its
// Swift is in section 7:
//
// | piece | gpt.py, nanoGPT or PyTorch |
// |---|---|
// | `TokenDataset.batch` | `get_batch`: B random windows of T + 1 tokens, the targets shifted by one |
// | `crossEntropy` | `F.cross_entropy(logits, targets)`: the mean of -log softmax(logits)[target] |
// | `LearningRateSchedule.rate` | nanoGPT's `get_lr`: linear warmup, then a cosine from the peak to the final rate |
// | `Parameters.clipGradNorm` | `torch.nn.utils.clip_grad_norm_(params, 1.0)` |
// | `AdamW.update` | `optimizer.step()` (chapter 01 writes it out as a plain loop) |
// | `Parameters.init` | nanoGPT's `configure_optimizers`: tensors of two or more dimensions decay, biases and gains do not |
// | `Trainer.train`, `estimateLoss` | the training loop, and `estimate_loss` |
//
// How the Trainer is set up (its initializer and AdamW's are in section 7):
//
// - it adopts the model's parameters, packed in one flat buffer, and builds AdamW with the settings' weight
//   decay (0.1) and the library's betas, 0.9 and 0.99 (nanoGPT's Shakespeare config; gpt.py keeps
//   PyTorch's 0.999);
// - training batches and evaluation batches come from two generators of their own;
// - the loop around the step estimates the loss at step 0, every 500 steps and at the end: gpt.py's
//   estimate_loss, the mean loss over 100 random batches of each split, with no gradients and dropout off.
//   Each estimate is logged and kept in `evaluations`. A step whose loss is not finite stops the run.
//
// Under everything are earlier chapters' ops, each with its backward beside its forward:
//
// - the embedding lookup (chapter 01): a copy of the id's row;
// - `layerNorm` (chapter 04): (x - mean) / sqrt(variance + 1e-5) × gain + bias;
// - `causalAttention` (chapter 03): section 7's plain loops, computed a tile of keys at a time (chapter 05b);
// - `backward()` (chapter 00): runs each op's recorded backward, from the loss back to the parameters.
//
// Expect the val loss near 1.6 at the end (chapter 04 reached 1.88), and the train loss below it by a gap of
// about 0.17 that opens in the first 1,500 steps and then stays between 0.16 and 0.21 while both keep falling: the
// model fits its training text a little better than the rest, but what it learns still carries over.
// (In the loss figure, grey is each step's batch loss, green its running mean over the last 2% of the steps,
// 100 here, and the dots the estimates. While the loss falls fast, in the first few hundred steps, the
// trailing mean lags above the batch losses.)
// The sample before training starts, as every sample does, from the newline character (`startToken`,
// section 4), so it opens with a fresh line.

section("3. Training")
let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
let untrained = model.generate(prompt: [tokenizer.startToken], maxNewTokens: 100, random: SeededRandom(seed: settings.seed, stream: .untrainedSample))
print("sample before training:\n---\n\(tokenizer.decode(untrained))\n---")
print(String(format: "The first log line (step 0) is the loss before training: about ln(%d) = %.2f.\n",
             tokenizer.vocabularySize, log(Double(tokenizer.vocabularySize))))
exitOnError { try trainer.train() }
let after = trainer.evaluations.last!
print(String(format: "\nloss after training: train %.4f, val %.4f  (%.0f training tokens/s)",
             after.trainLoss, after.valLoss, trainer.tokensPerSecond))
exitOnError { try report.plotLoss(trainer) }

// MARK: - 4. Generation, whole and streamed
//
// Two ways to generate, one sampling loop. Both run chapter 01's `TokenStream`: each `next()` asks for the
// logits after the context, samples a token from them and appends it. They differ in how they get those
// logits:
//
// - `generate()` (chapter 01's) runs the whole context, cropped to the last blockSize tokens, through the
//   model for every token: gpt.py's `idx[:, -block_size:]`. It returns the tokens at the end. It is written
//   once for every `LanguageModel`, on `logitsAfter(_:)` below, so it recomputes on NanoGPT too.
// - NanoGPT's own `generateStream(..., mode:)` hands over each token the moment it is sampled, and gets the
//   logits through a key/value cache (below), `mode: .keyValueCache`; `mode: .recompute` is `generate()`'s
//   way. (A third mode, `.decode`, is chapter 08's.)
//
// Generation never prints: the caller decides, here one character at a time, flushed, so you watch the text
// appear. The section streams with the cache, then times the cache against recomputing:
// show: Sources/Training/Sampling.swift TokenStream LanguageModel.generate LanguageModel.logitsAfter
//
// The sampling step's options: the temperature divides the logits before the softmax (below 1 sharpens,
// above 1 flattens), top-k keeps only the k most likely tokens, and top-p the smallest set of most likely
// tokens whose probabilities add up to p. This chapter's flags set the first two (`--temperature`, 0.8
// by default, and `--top-k`, 0 for all); `nanogpt generate` also takes `--top-p`. The step itself is
// chapter 01's `sampleToken`, gpt.py's `torch.multinomial(F.softmax(logits / temperature, dim=-1), 1)` after
// the top-k and top-p cuts; its code is in section 7. Both generations start from one token, `startToken`:
// the newline (id 0, the first character in sorted order).
//
// What NanoGPT adds is a faster way to get the logits after the context: a key/value cache. In a causal
// model the keys and values of earlier positions never change when a token is appended: position t's key
// is computed from tokens 0 ... t only, and the mask keeps later tokens out. So keep them, for every layer,
// and compute only the new position: its logits are recomputation's, up to float rounding.
//
// How the cache runs, before its code: `logitsAfter(_:cache:)` (below) drives it. The first call fills the cache with the whole
// prompt in one forward pass; every later call runs the newest token alone. The model has only T position embeddings, so a full
// cache cannot take one more position: it is cleared and refilled from the last T/2 tokens, whose
// positions restart at 0. Why T/2: a refill is a forward pass over the tokens it keeps. Refilling from
// all T tokens would slide exactly like recomputation, but the cache would be full again at once, so
// every token would pay a whole forward pass; refilling from 1 token would be cheap but leave the next
// tokens almost no context. From T/2, the T/2 tokens after a refill go in one at a time, so a refill
// comes once every T/2 + 1 tokens, and every window holds at least T/2 tokens, the newest included.
// Worked by hand at T = 8, from a one-token prompt p (t1, t2, ... are the sampled tokens; each call returns the
// logits of the last row it ran, and the next token is sampled from them):
//
//   call   context ends in   runs through the model               at positions   count after
//   1      p                 p (the whole prompt)                 0              1
//   2      t1                t1                                   1              2
//   ...
//   8      t7                t7                                   7              8: full
//   9      t8                t5 t6 t7 t8 (cleared, then refilled)  0 1 2 3        4
//   10     t9                t9                                   4              5
//   ...
//   13     t12               t12                                  7              8: full
//   14     t13               t10 t11 t12 t13 (refilled)           0 1 2 3        4
//
// Within the block size (here 64 new tokens, after a one-token prompt) it samples exactly what recomputation
// would (a test checks it:
// `theKeyValueCacheGivesTheTokensOfFullRecomputationWithinTheBlock`, Tests/ModelTests/ModelTests.swift);
// past it, the two slide their windows differently. They may still go on agreeing for a while: both streams
// draw the same uniform numbers from the same seed, and sampling by the cumulative probabilities picks the
// same token whenever the two slightly different distributions put that draw in the same token's interval.
// After the stream, the section replays its tokens through a fresh cache and prints how many positions it holds
// after each one: 1 ... T while it fills, then T/2 ... T after each refill, and how far its logits are from
// recomputation's while the window has not yet slid (the first T tokens).
//
// The code, from the top down. First `generateStream`, which picks how the stream gets its logits:
// show: Sources/NanoGPT/Generation.swift NanoGPT.generateStream
// Then `logitsAfter(_:cache:)`, with the refill:
// show: Sources/NanoGPT/Generation.swift NanoGPT.logitsAfter
//
// Under `logitsAfter(_:cache:)`, the model's forward pass with a cache, beside the training one of section 2.
// The position embedding starts at the cache's count (`firstPosition`, section 7), there is no dropout, every Block is
// called with the cache and its layer number, and `advance` counts the new positions once every layer has
// stored them:
// show: Sources/NanoGPT/Generation.swift NanoGPT.logits(_:batchSize:length:cache:)
// The Block passes the cache on to its attention:
// show: Sources/Transformer/Block.swift Block.callAsFunction(_:cache:layer:)
// and each MultiHead stores its new keys and values, then attends over all stored ones:
// show: Sources/Attention/MultiHead.swift MultiHead.callAsFunction(_:cache:layer:)
//
// The cache, whole (its `rows` are B × nh: one per sequence and head; here B = 1), and the initializer
// that sizes it from the model's config:
// show: Sources/Attention/KeyValueCache.swift KeyValueCache
// show: Sources/NanoGPT/Generation.swift KeyValueCache.init
//
// The attention over the cache lets query i of the n new positions see every cached position up to its
// own: the causal mask, shifted by the count already cached. As plain loops over the cache's own storage:
// for every head and every new query, the scores against the keys it may see (the shifted mask is the
// loop's end, `visible`), their softmax, and the weighted sum of the values. (The op `MultiHead` calls,
// `cachedAttention`, section 7, hands this to two CPU-backend kernels built on sgemm; these loops stand in
// for them here, and the test `cachedAttentionMatchesTheDefinition` holds the kernels to them.)
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.cachedAttention

section("4. Generation, whole and streamed")
let whole = model.generate(prompt: [tokenizer.startToken], maxNewTokens: 60, random: SeededRandom(seed: 7))   // its own seed: a different text from the stream's
print("generate(), 60 tokens (temperature 1, every token kept), returned at once:\n---\n\(tokenizer.decode(whole))\n---")

let sampling = SamplingOptions(temperature: command.temperature, topK: command.topK > 0 ? command.topK : nil)
print("\ngenerateStream(), \(settings.maxNewTokens) tokens, temperature \(command.temperature)"
      + (command.topK > 0 ? ", top-k \(command.topK)" : "") + ", printed as they arrive:\n---")
var streamed: [Int] = []
var printable = tokenizer.streamingDecoder()   // holds back half a character until its other bytes arrive (chapter 06)
let generationStart = Date()
for token in model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, options: sampling,
                                  random: SeededRandom(seed: settings.seed, stream: .sampling), mode: .keyValueCache) {
    print(printable.text(after: token), terminator: "")
    fflush(stdout)
    streamed.append(token)
}
print(printable.finish() + "\n---")
let generationRate = Double(streamed.count) / max(Date().timeIntervalSince(generationStart), 1e-9)
endOfCell()
// The same stream timed again without printing, once with the cache and once recomputing the whole context
// for every token (the rate above includes printing and flushing each token). What to expect: over 500
// tokens, recomputing runs about 60 positions a token (up to 64). The cache runs 1.94 in steady state: in
// every 33 tokens after the first fill, 32 passes of one position and one refill pass of 32 positions, 64
// positions for 33 tokens (about 1.87 over these 500 tokens, counting the first fill's 64 single positions). That is about 30 times less arithmetic. Expect the cache to win by about ten times, not
// thirty: at one position, every op's fixed cost (a Tensor made, a kernel called) weighs as much as its
// arithmetic.
let (_, cacheRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    Array(model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, options: sampling,
                               random: SeededRandom(seed: settings.seed, stream: .sampling), mode: .keyValueCache))
}
let (recomputed, recomputeRate) = measureTokensPerSecond(count: settings.maxNewTokens) {
    Array(model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens, options: sampling,
                               random: SeededRandom(seed: settings.seed, stream: .sampling), mode: .recompute))
}
let sameUntil = zip(streamed, recomputed).prefix { $0 == $1 }.count
// The cache's count after each of the first 2T + 4 tokens: it fills up to T, is refilled from the last T/2 tokens,
// fills again. Replayed on the streamed tokens with a fresh cache, one `logitsAfter` call per token, as the stream
// made them.
let replay = KeyValueCache(config)
var replayed = [tokenizer.startToken], counts: [Int] = [], largestLogitDifference: Float = 0
for token in streamed.prefix(2 * settings.blockSize + 4) {
    let cached = withoutGradients { model.logitsAfter(replayed, cache: replay) }   // as the stream calls it: no autograd records
    if replayed.count <= settings.blockSize {   // the window has not slid yet: recomputation sees the same context
        let recomputedLogits = withoutGradients { model.logitsAfter(replayed) }
        largestLogitDifference = max(largestLogitDifference, zip(cached, recomputedLogits).map { abs($0 - $1) }.max()!)
    }
    counts.append(replay.count)
    replayed.append(token)
}
print(String(format: "streamed and printed: %.0f tokens/s. Not printed: %.0f tokens/s with the key/value cache, %.0f recomputing "
             + "the context for every token, %.1f times slower; the two give the same first %d tokens, then slide their "
             + "windows differently\n", generationRate, cacheRate, recomputeRate, cacheRate / recomputeRate, sameUntil))
let starts = counts.indices.filter { $0 == 0 || counts[$0] != counts[$0 - 1] + 1 }   // the first call, and each refill
let runs = zip(starts, starts.dropFirst() + [counts.count]).map { "\(counts[$0]) ... \(counts[$1 - 1])" }
print("positions in the cache after each of the first \(counts.count) tokens: \(runs.joined(separator: " | refill | "))")
print(String(format: "over the first %d tokens, the cache's logits and recomputation's differ by at most %.1e\n",
             settings.blockSize, largestLogitDifference))

// MARK: - 5. Save the model
//
// safetensors: gpt.py's parameter names and shapes (those of the state dict that the parity tests' PyTorch
// reference writes), and the config and vocabulary in the file's metadata, so the model can be loaded
// again for generation without this chapter. Written atomically: a kill in the middle leaves the previous
// file whole.
// show: Sources/Checkpoints/Checkpoint.swift Checkpoint.save
// The metadata, every value a string (safetensors' rule):
// fold: Sources/Checkpoints/Checkpoint.swift Checkpoint.metadata

section("5. Save the model")
let checkpointFolder = URL(fileURLWithPath: command.checkpoint)
exitOnError { try Checkpoint.save(model, tokenizer: tokenizer, step: trainer.step, to: checkpointFolder) }
print("saved the model to \(checkpointFolder.appendingPathComponent(Checkpoint.weightsFile).path)\n")

// MARK: - 6. Every head of every layer, the sample and the summary
//
// 16 heads, as in chapter 04 (4 layers of 4). The page shows the first layer's four on the first 24 characters of the
// val text, large enough to read them; the linked full-size figure has every layer on all 32 (one row of
// panels per layer). Compare how far back each head looks: head 1 of layer 0 is almost purely the previous
// character (the line just left of the diagonal), except on a few rows that look at themselves (the
// newline after "GREMIO:", the last space); head 0 mostly the previous character too, a little more
// spread, head 2 the last two or three characters, and head 3 spreads its weight thinly over the recent past.
// In the full-size figure some deeper heads draw vertical stripes (layer 1's head 2, layer 2's head 1):
// row after row looks at one key, the newline that ends "GREMIO:", the start of the speech. The weights are recomputed from the queries and
// keys of this forward pass (training never stores them), and the plot cuts each to its first 24 positions.
// On the axes, ⏎ is a newline and ␣ a space:
// show: Sources/Attention/MultiHead.swift MultiHead.lastAttention
//
// Then the run's files: sample.txt is section 4's streamed text, summary.json the numbers `compare` reads
// (losses, speeds, settings). On a terminal `printLoss` also draws the loss curves in text; when the output
// is a file, as for this page, it prints nothing.

section("6. Every head of every layer, the sample and the summary")
let prompt = Array(dataset.val.prefix(min(settings.blockSize, 32)))   // 32 for the full figure; the page's shows the first 24
_ = model.logits(prompt, batchSize: 1, length: prompt.count, training: false)   // a forward pass keeps each head's queries and keys
exitOnError {
    try report.plotAttentionByLayer(model.lastAttention, prompt: prompt, tokenizer: tokenizer, what: "the trained model")
    try report.writeSample(tokenizer.decode(streamed))
    try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: generationRate)
}
report.printLoss(trainer.evaluations)
print("wrote \(report.folder.path)/: loss.png, attention.png, attention-all-layers.png, sample.txt, summary.json")

// MARK: - 7. The pieces from earlier chapters
//
// The code behind sections 2 and 3's tables, in their order, and section 4's sampling step, for the reader
// rebuilding the model from this page alone.
//
// The embedding (chapter 02). Positions start at `firstPosition`, 0 in training; generation with a cache
// starts them after the cached ones (section 4):
// fold: Sources/Layers/TokenAndPositionEmbedding.swift TokenAndPositionEmbedding.init TokenAndPositionEmbedding.callAsFunction
// Dropout, section 2's, off in this run: the layer, and the op that draws each mask:
// fold: Sources/Layers/Dropout.swift Dropout
// fold: Sources/TensorCore/Ops/Elementwise.swift dropout
// MultiHead (chapter 03) and the Block's layers: one packed (3C, C) product makes every head's keys, queries
// and values; `splitHeads` cuts it into (B, nh, T, hs) each; without dropout, as here, `causalSelfAttention`
// runs `causalAttention`, which computes what the plain loops below do (the causal mask: query t over keys
// 0 ... t), a tile of keys at a time (chapter 05b):
// fold: Sources/Attention/MultiHead.swift MultiHead.init MultiHead.callAsFunction MultiHead.causalSelfAttention MultiHead.joinHeads MultiHead.scoreScale
// fold: Sources/Transformer/Block.swift Block.init
// fold: Sources/TensorCore/Ops/Shape.swift splitHeads
// fold: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.causalAttention NaiveKernels.attention
// FeedForward (chapter 04), Linear and LayerNorm (chapters 02 and 04; chapter 08 adds int8 weights to Linear
// for generation), and what the embedding lookup and LayerNorm compute, as plain loops:
// fold: Sources/Transformer/FeedForward.swift FeedForward
// fold: Sources/Layers/Layers.swift Linear LayerNorm
// fold: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.embedding NaiveKernels.layerNorm
// The attention over the cache as the library runs it (section 4): the masked softmax(q K^T * scale) into
// `weights`, then their product with V, each one backend kernel; and the mask's two numbers (query i sees
// keys 0 ... offset + i):
// fold: Sources/TensorCore/Ops/CachedAttention.swift cachedAttention
// fold: Sources/TensorCore/Backend/Backend.swift CausalMask
// The checkpoint's names for the packed matrix's rows, and the per-head views they are read from:
// fold: Sources/NanoGPT/NanoGPT.swift NanoGPT.stateDictionary
// fold: Sources/Attention/MultiHead.swift MultiHead.perHeadViews
// The training step's pieces (chapter 01), then where `decays` is set, and the loop with its loss estimate:
// fold: Sources/TextData/TokenDataset.swift TokenDataset.batch
// fold: Sources/TensorCore/Ops/Loss.swift crossEntropy
// fold: Sources/Training/Hyperparameters.swift Hyperparameters.schedule
// fold: Sources/TensorCore/Optimization/LearningRateSchedule.swift LearningRateSchedule.rate
// fold: Sources/TensorCore/Optimization/Parameters.swift Parameters.gradNorm Parameters.clipGradNorm
// fold: Sources/TensorCore/Optimization/AdamW.swift AdamW.init AdamW.update
// fold: Sources/TensorCore/Optimization/Parameters.swift Parameters.init
// fold: Sources/Training/Trainer.swift Trainer.init Trainer.train Trainer.estimateLoss Trainer.meanLoss
// Sampling one token (chapter 01): the weights e^((logit - max) / temperature) (the same softmax as
// e^(logit / temperature), the maximum subtracted so that nothing overflows) after the top-k and top-p
// cuts, then a uniform number against their running sum; and the options:
// fold: Sources/Training/Sampling.swift sampleToken samplingWeights drawIndex SamplingOptions

section("7. The pieces from earlier chapters")
