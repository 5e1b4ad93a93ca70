// Chapter 08 · Precision: int8 weights for streaming
// ==================================================
//
// Every number so far has been a 32-bit float. Training needs that range and precision, but generating one
// token at a time does not, and it pays for every bit: at batch 1 each new token multiplies one vector by
// every weight matrix of the model, so every weight is read from memory once per token. Once the weights no
// longer fit in the processor's caches, the speed of streaming is about (memory bandwidth) / (bytes of
// weights). Fewer bytes per weight, more tokens per second.
//
// This chapter measures what the number formats can hold, writes out llama.cpp's Q8_0 format (blocks of 32
// int8 weights with one scale each, 8.5 bits a weight) and the product with it, and then measures what it
// costs (the loss) and what it buys (tokens/s) on chapter 05's trained model and on config M, the
// larger model of docs/performance.md. `nanogpt quantize` and `nanogpt generate --weights int8` use the same
// code.
//
//   swift run -c release ch08            (--quick: a tiny model trained here, a few seconds)
//
// It measures chapter 05's checkpoint (checkpoints/05-nanogpt, written by `ch05`); without one it first
// trains chapter 05's recipe itself (3 to 4 minutes). Expected: int8 costs less than 0.001 nats of val loss,
// greedy text stays the same for a hundred tokens or more, and config M streams about 2 to 3 times as
// fast in int8 (runs on a 2-core AMD EPYC vary that much; chapter 05's model, whose weights fit in the caches,
// gains a little: 1.1 to 1.3 times).
import Attention
import ChapterSupport
import Checkpoints
import Foundation
import Layers
import NanoGPT
import Plotting
import Quantization
import TensorCore
import TextData
import Training

let (command, settings, report) = Chapter08.start(Hyperparameters.nanoGPT, plots: "08-precision", title: "Precision")
let options = command.training
print("Chapter 08 · Precision\n")

// MARK: - The model
//
// Chapter 05's trained model, from its checkpoint. With --quick, or when there is none, this chapter trains
// the recipe itself (--quick: the tiny version), on the same text with the same seed: training is
// deterministic, so that is chapter 05's model, weight for weight (its val loss is chapter 05's).

section("The model")
let saved = URL(fileURLWithPath: command.checkpoint).appendingPathComponent(Checkpoint.weightsFile)
let model: NanoGPT, tokenizer: Tokenizer, dataset: TokenDataset
if !options.quick, FileManager.default.fileExists(atPath: saved.path) {
    let text = exitOnError { try Corpus.load(path: options.data) }
    let loaded = exitOnError { try Checkpoint.load(from: URL(fileURLWithPath: command.checkpoint)) }
    (model, tokenizer) = (loaded.model, loaded.tokenizer)
    dataset = exitOnError { try TokenDataset(text: text, tokenizer: tokenizer, blockSize: model.config.blockSize) }
    print("chapter 05's model from \(saved.path), trained \(loaded.step) steps")
} else {
    print(options.quick ? "--quick: training the tiny version of chapter 05's recipe here"
                        : "no checkpoint at \(saved.path): training chapter 05's recipe here")
    let data = options.loadChapterData(settings)
    (tokenizer, dataset) = (data.tokenizer, data.dataset)
    model = NanoGPT(GPTConfig(settings, vocabularySize: tokenizer.vocabularySize), seed: settings.seed)
    let trainer = Trainer(model: model, dataset: dataset, hyperparameters: settings)
    exitOnError { try trainer.train() }
    print(String(format: "trained: val loss %.4f", trainer.evaluations.last!.valLoss))
}
print("\(model.parameterCount) parameters; C \(model.config.embeddingSize), \(model.config.layers) layers of "
      + "\(model.config.heads) heads, T \(model.config.blockSize)\n")

// MARK: - 1. What a format can hold
//
// A float is a sign, an exponent and a mantissa: x = ±1.m × 2^e. The exponent's bits set the range, the
// mantissa's the precision: the gap between 1 and the next number up is 2^-(mantissa bits), and every
// number is stored to about half that, relative to its size. bfloat16 is float32 with the mantissa cut to 7
// bits: the same range, 3 significant digits. float16 keeps 10 mantissa bits but only 5 exponent bits, so
// it overflows past 65,504. int8 holds the 255 whole numbers -127 ... 127 (-128 is left out: the range is
// symmetric, and the kernels' |w| and pairs of products, 2 × 127 × 127 = 32,258, fit in 8 and 16 bits); with one scale d per block it holds d × q, equal steps of d, whatever the weights' size.
// Swift has Float and Float16 but no bfloat16 type, so rounding to it is written out: keep the top 16 bits
// of the float32, rounding to nearest (ties to even).

section("1. What a format can hold")
func bfloat16(_ x: Float) -> Float {
    let bits = x.bitPattern
    let roundingBias = 0x7FFF + ((bits >> 16) & 1)   // round half to even on the 16 bits that are dropped
    return Float(bitPattern: (bits &+ roundingBias) & 0xFFFF_0000)
}
print("format      bits   exponent  mantissa   largest       gap after 1")
print(String(format: "float32       32          8        23   %.2e   %.2e", Float.greatestFiniteMagnitude, Float.ulpOfOne))
print(String(format: "bfloat16      16          8         7   %.2e   %.2e", bfloat16(Float(bitPattern: 0x7F7F_0000)),
             bfloat16(1.0078125) - 1))
print(String(format: "float16       16          5        10   %.2e   %.2e", Float(Float16.greatestFiniteMagnitude), Float(Float16.ulpOfOne)))
print("int8 × d       8 + 16/32                127 d          d (= max |w| / 127 of the block)\n")

// One real weight matrix: layer 0's first feed-forward weight, (4C, C), as the model trained it. Each
// format's rounding error, against the spread of the weights (their standard deviation):
let weight = model.blocks[0].feedForward.expand.weight
let weights = weight.values
let spread = (weights.reduce(0) { $0 + $1 * $1 } / Float(weights.count)).squareRoot()
let asInt8 = Int8Matrix(quantizing: weight).dequantized()
let rounded: [(String, [Float])] = [("bfloat16", weights.map(bfloat16)), ("float16", weights.map { Float(Float16($0)) }),
                                    ("int8 (Q8_0)", asInt8)]
print("\(weight.shape[0]) x \(weight.shape[1]) weights, std \(String(format: "%.4f", spread)), largest |w| "
      + String(format: "%.4f", weights.map(abs).max()!))
print("format        rms error / std   largest error / std")
for (name, values) in rounded {
    let errors = zip(values, weights).map { abs($0 - $1) }
    let rms = (errors.reduce(0) { $0 + $1 * $1 } / Float(errors.count)).squareRoot()
    print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "  %15.5f   %19.5f", rms / spread, errors.max()! / spread))
}
print()
// The histogram of each error (rounded - w, in units of the std): bfloat16's errors grow with each weight's
// size; int8's are spread evenly over ±d/2 within each block (a plateau, its width set by the blocks' d), with
// a small bump at 0: each block's largest weight, 1 in 32, is stored nearly exactly (up to d's rounding to half precision). Int8's are the larger ones here, in half the bits
// of bfloat16; section 4 measures whether the model notices.
exitOnError {
    let bins = 41, width = 0.02 / Double(bins / 2)    // ±0.02 std
    func histogram(_ values: [Float]) -> [Double] {
        var counts = [Double](repeating: 0, count: bins)
        for (value, w) in zip(values, weights) {
            let bin = Int((Double((value - w) / spread) / width).rounded()) + bins / 2
            if bin >= 0 && bin < bins { counts[bin] += 1 }
        }
        return counts.map { $0 / Double(weights.count) }
    }
    let x = (0..<bins).map { Double($0 - bins / 2) * width }
    report.drew(try Plotter.shared.lines([Series("bfloat16", x: x, y: histogram(rounded[0].1)),
                                          Series("int8, blocks of 32", x: x, y: histogram(rounded[2].1))],
                                         title: "08 · Rounding error of layer 0's feed-forward weight",
                                         xLabel: "rounded - original, in standard deviations of the weights",
                                         yLabel: "fraction of the weights", in: report.folder, name: "rounding"))
}

// MARK: - 2. Q8_0, written out
//
// Each row of a matrix is cut into blocks of 32 weights (the last one padded with zeros). A block keeps
// one scale d = max|w| / 127, stored in half precision, and each weight as the whole number q = round(w / d),
// so the largest weight of the block becomes ±127 and every weight is off by at most d/2. Blocks are small so
// that one large weight only coarsens the grid of its own 31 neighbours. 32 bytes of q and 2 of d stand for
// 128 bytes of float32: 8.5 bits a weight.
// show: Sources/Quantization/Int8Matrix.swift Int8Matrix.quantize(block:) Int8Matrix.init(quantizing:) Int8Matrix.dequantized

section("2. Q8_0, written out")
let firstBlock = Int8Matrix.quantize(block: weights[0..<32])
print(String(format: "the first block of that matrix: max |w| = %.5f, d = %.6f (as half precision)",
             weights[0..<32].map(abs).max()!, Float(firstBlock.scale)))
print(" w          q      d × q       error")
for i in 0..<6 {
    let restored = Float(firstBlock.scale) * Float(firstBlock.values[i])
    print(String(format: " %+.5f  %4d   %+.5f   %+.6f", weights[i], firstBlock.values[i], restored, restored - weights[i]))
}
print(" ... (\(Int8Matrix.blockSize) in the block)\n")

// MARK: - 3. The product with int8 weights
//
// Generation multiplies the activations of one position, a vector x, by each matrix: y_r = sum_c w_rc x_c.
// With w = d × q, one block at a time, y_r = sum over blocks of d_b × (sum of q × x in the block). The
// plain loops:
// show: Sources/Quantization/Int8Matrix.swift Int8Matrix.plainProduct
//
// llama.cpp goes one step further: it quantizes x too, per block of 32 with its own scale, so the sum of
// q × x in a block is a sum of products of int8 pairs, exact in a 32-bit integer; the two scales are applied
// once per block. That is the `.int8` activations of the library (and its default), as plain loops. (llama.cpp
// stores the activations' scale in half precision; here it stays a float, computed fresh for every product.)
// show: Sources/Quantization/Int8Matrix.swift Int8Matrix.quantizeActivations Int8Matrix.plainInt8Product
//
// How the library runs it fast (Sources/CInt8Kernels/Int8Kernels.c, in C, because Swift cannot pick
// instructions per function). The inner step of `plainInt8Product`, one block of one row, with AVX2:
// `maddubs` multiplies unsigned by signed bytes, so the signs move from w onto x (|w| times x sign(w)), and
// adds neighbouring pairs into 16 int16; `madd` against ones adds pairs of those into 8 int32; the 8 partial
// sums become floats and are multiplied by the block's two scales into the row's running sum. With
// AVX512-VNNI, one `vpdpbusd` does the multiply and both additions:
// show: Sources/CInt8Kernels/Int8Kernels.c int8_block_avx2 int8_block_vnni
//
// The row loop around it takes four rows at a time, so each block of x is loaded once for the four and four
// independent sums overlap; and it multiplies the scales eight blocks at a time (eight half-precision scales
// convert in one instruction), so the inner loop reads each block's two scales as one float, ready-made.
// One macro writes the loop for both instruction sets:
// show: Sources/CInt8Kernels/Int8Kernels.c combine_scales INT8_MATVEC_ROWS
//
// And two cores. A token's products at config M take tens of microseconds each, too short to wake a thread
// pool for every one. So while a token decodes, OpenBLAS steps down to one thread (`BLAS.lendingCores`, which
// `decode` calls, section 5), and a product of 128 KB or more hands its second half of rows to one helper
// thread, which keeps polling for the next half for 0.5 ms before it sleeps. Each row is computed whole
// by one thread, so the product is the same bit for bit (a test compares them). The products take `threads`;
// a product the helper does not take (too small, or another thread sharing one just now) runs on the caller:
// show: Sources/CInt8Kernels/Int8Kernels.c int8_matvec_int8
// The caller writes the helper's half into `share`, then counts it in `posted`; the helper polls `posted`,
// computes, and stores its number in `finished`, which the caller waits for. Before sleeping the helper says
// so in `sleeping` and then reads `posted` once more, while the caller counts first and then reads
// `sleeping`: with C11's default, sequentially consistent atomics one of the two sees the other's write,
// so a share is never posted to a helper about to sleep without waking it. `taken` keeps a second caller
// from overwriting a share in flight. The caller keeps the first rows, a multiple of the kernels' four:
// show: Sources/CInt8Kernels/Int8Sharing.c int8_share_rows helper_loop
// The helper keeps polling for up to 0.5 ms after a token, when OpenBLAS has its threads back: a refill's
// first half millisecond (of about 19 at M) has both. The lending, and what asks for it (`sharesRows` is on
// unless `bench` turns it off to compare one thread with two). useInt8Weights gives every matrix, the output
// head included, its int8 blocks, so `decode` asks the head:
// show: Sources/TensorCore/Backend/CPU/BLAS.swift BLAS.lendingCores
// show: Sources/Quantization/Int8Matrix.swift Int8Matrix.wantsCores
//
// The path is chosen at run time from the CPU's features, and the tests hold every path to the plain loops
// (Tests/ModelTests/Int8Tests.swift). A few positions (a generated token) go through the kernels; a prompt (many
// positions at once) is a matrix product instead, bounded by arithmetic, not by reading the weights: it goes
// through sgemm on the dequantized matrix, made once and kept. Two consequences: a prompt's positions meet
// the int8 blocks' values with float32 x, a new token's with int8 x (two slightly different roundings of the
// same model), and after its first prompt an int8 model holds a float32 copy of its matrices as well: the
// file is a quarter of the size, the memory in use is not.
// show: Sources/Quantization/Int8Matrix.swift Int8Matrix.product Int8Matrix.multiply Int8Matrix.rowsThroughKernels Int8Matrix.dequantizedWeight
//
// The model's own forward pass runs it: each Linear (MultiHead's packed key/query/value matrix is one too)
// holds an optional `inferenceWeight`, which its product uses when no gradient is recorded; training never
// does. Linear's side of it:
// show: Sources/Layers/Layers.swift InferenceWeight Linear
// The embedding tables stay float32: they are looked up, one row per token, not multiplied. What a token
// reads: every multiplying matrix, the biases and norms, and one row of each embedding table.
// show: Sources/Quantization/Int8Model.swift NanoGPT.multiplyingMatrices NanoGPT.useInt8Weights NanoGPT.weightBytesPerToken

section("3. The product with int8 weights")
let block0 = Int8Matrix(quantizing: weight)
let x = Tensor.normal([1, weight.shape[1]], std: 1, random: SeededRandom(seed: settings.seed))
let reference = block0.plainProduct(x.values)
// With int8 activations the kernels multiply x as quantized: the plain loop on that x is their reference.
let (xq, xScales) = x.values.withUnsafeBufferPointer { block0.quantizeActivations($0) }
let referenceInt8 = block0.plainProduct((0..<weight.shape[1]).map { Float(xq[$0]) * xScales[$0 / Int8Matrix.blockSize] })
let integerReference = block0.plainInt8Product(xq, scales: xScales)   // the same, with exact integer sums
let largest = reference.map(abs).max()!
print(String(format: "y = W x for one x: outputs up to %.3f; quantizing x too moves them by up to %.1e", largest,
             zip(referenceInt8, reference).map { abs($0 - $1) }.max()!))
print("each kernel path on this CPU against the plain loops (plainProduct for float32 x, plainInt8Product for int8 x):")
let bestPath = Int8Kernels.current
for path in Int8Kernels.Path.allCases where path.rawValue <= Int8Kernels.best.rawValue {
    Int8Kernels.current = path
    for (activations, expected) in [(Int8Matrix.Activations.float32, reference), (.int8, integerReference)] {
        Int8Matrix.activations = activations
        let y = withoutGradients { block0.product(x, bias: nil) }.values
        let label = "\(path), x as \(activations == .int8 ? "int8" : "float32")"
        print("  " + label.padding(toLength: 26, withPad: " ", startingAt: 0)
              + String(format: "largest difference from the plain loop %.1e", zip(y, expected).map { abs($0 - $1) }.max()!))
    }
}
Int8Kernels.current = bestPath
Int8Matrix.activations = .int8
print("in use: \(bestPath), x as int8\n")

// MARK: - 4. What it costs: the loss
//
// The same model, float32 and int8, on the same validation batches (the same seed draws them), and greedy
// decoding (always the most likely token, top-k 1) for 1,000 tokens from the same start: how long do the
// two texts stay the same? The loss is also in bits per character (loss / ln 2, one token per character). The
// batches are drawn from the validation text with the chapter's seed, not the batches of chapter 05's last
// estimate, so the float32 loss is close to chapter 05's, not equal. Which int8: the loss comes from batches of
// many positions, which go through sgemm on the dequantized blocks with float32 x (section 3's prompt path), so
// it measures the weights' rounding alone; the greedy tokens go through the kernels with x quantized as well,
// the path generation uses, so they see both roundings.
// `nanogpt quantize --data` measures the same for any checkpoint:
// show: Sources/Quantization/Int8Model.swift Int8Quality

section("4. What it costs: the loss")
let greedyCount = options.quick ? 200 : 1_000
let quality = Int8Quality(of: model, dataset: dataset, evaluationBatches: settings.evalIters, batchSize: settings.batchSize,
                          seed: settings.seed, greedyTokens: greedyCount, start: tokenizer.startToken)
let (float32Loss, int8Loss, agreeing) = (quality.float32Loss, quality.int8Loss, quality.agreeing)
let (float32Text, int8Text) = (quality.float32Tokens, quality.int8Tokens)
print(String(format: "val loss over %d batches: float32 %.5f (%.3f bits per character), int8 %.5f (%.3f): %+.5f nats",
             settings.evalIters, float32Loss, float32Loss / log(2), int8Loss, int8Loss / log(2), int8Loss - float32Loss))
print("greedy decoding: the first \(agreeing) of \(greedyCount) tokens are the same"
      + (agreeing < greedyCount ? "; then int8 goes its own way:" : ""))
if agreeing < greedyCount {
    let from = max(0, agreeing - 20)
    print("  float32: \(tokenizer.decode(Array(float32Text[from..<min(agreeing + 30, greedyCount)])).debugDescription)")
    print("  int8:    \(tokenizer.decode(Array(int8Text[from..<min(agreeing + 30, greedyCount)])).debugDescription)")
}
print(String(format: "weights read per token: float32 %.2f MB, int8 %.2f MB\n",
             Double(model.weightBytesPerToken(int8: false)) / 1e6, Double(model.weightBytesPerToken(int8: true)) / 1e6))
model.useFloat32Weights()

// MARK: - 5. One token without bookkeeping: the decode path
//
// At batch 1, a token's forward pass through the Tensor ops makes dozens of small tensors: each op takes an
// output buffer from the pool, wraps it in a Tensor and builds the closure of a backward that never runs. At
// chapter 05's size those cost about as much as the products. So generation runs each new token through
// `decode`: the same forward pass, module by module, on buffers made once per generation, calling the same
// backend kernels in the same order, so the same numbers come out. Each module's `decode` is in an extension
// right below the module, in the same file. Linear's and LayerNorm's, and the int8 matrix's product for one
// position (the same `multiply` as above, nothing allocated), are here:
// show: Sources/Layers/Layers.swift Linear.decode LayerNorm.decode
// show: Sources/Quantization/Int8Matrix.swift Int8Matrix.product(_:into:)
// show: Sources/NanoGPT/NanoGPT.swift NanoGPT.decode NanoGPT.DecodeBuffers
// show: Sources/Transformer/Block.swift Block.decode Block.DecodeBuffers
// show: Sources/Attention/MultiHead.swift MultiHead.decode MultiHead.DecodeBuffers
// show: Sources/Transformer/FeedForward.swift FeedForward.decode
//
// A prompt and a window refill (many positions at once: a matrix product) still go through the Tensor ops
// in one batched pass; `generateStream`'s `.decode` mode sends the rest, one new token at a time, through
// `decode`:
// show: Sources/NanoGPT/Generation.swift NanoGPT.decodingLogitsAfter
//
// Checked on chapter 05's model, float32 and then int8: 300 tokens streamed from the same seed through the
// decode path and through the Tensor ops (refills included), and the buffers each hands out for one token.

section("5. One token without bookkeeping: the decode path")
for int8 in [false, true] {
    if int8 { model.useInt8Weights() } else { model.useFloat32Weights() }
    func stream(_ mode: GenerationMode) -> [Int] {
        Array(model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: 300, random: SeededRandom(seed: settings.seed),
                                   mode: mode))
    }
    let sameTokens = stream(.decode) == stream(.keyValueCache)
    let cache = KeyValueCache(model.config), buffers = NanoGPT.DecodeBuffers(model.config)
    let (tensorOpsBuffers, decodeBuffers) = withoutGradients {
        _ = model.logits([tokenizer.startToken], batchSize: 1, length: 1, cache: cache)   // the prompt
        _ = model.decode(1, cache: cache, buffers: buffers)   // an int8 matrix makes its scratch at its first product
        var before = BufferPool.handedOut
        _ = model.logits([2], batchSize: 1, length: 1, cache: cache)             // one token, Tensor ops
        let tensorOps = BufferPool.handedOut - before
        before = BufferPool.handedOut
        _ = model.decode(3, cache: cache, buffers: buffers)                                       // one token, decode
        return (tensorOps, BufferPool.handedOut - before)
    }
    print("\(int8 ? "int8:   " : "float32:") 300 streamed tokens the same both ways: \(sameTokens ? "yes" : "no"); "
          + "buffers handed out for one token: \(tensorOpsBuffers) through the Tensor ops, \(decodeBuffers) through decode")
}
print()

// MARK: - 6. What it buys: tokens per second
//
// Streaming speed against the bytes read per token, for chapter 05's model (S: 3.2 MB of float32 weights a
// token, which fit in this machine's caches) and for config M (C 384, 6 layers of 6 heads, T 256: 42.7 MB,
// which do not; its weights are random, which changes nothing about speed). Each streams --stream-tokens
// tokens (2,000) through the key/value cache, float32 and int8 in turn, twice; the better of the two is kept.
// The cache refills from the last T/2 tokens whenever it is full (chapter 05), a forward pass over T/2
// tokens every T/2 + 1 tokens, included here. New tokens go through the decode path of section 5. The memory line: the bandwidth with which sgemv reads a 134 MB
// matrix (on all the BLAS threads), and tokens/s = bandwidth / bytes per token, the most batch-1 streaming can
// reach once the weights come from memory.
//
// Then where M's token goes: its forward pass through decode, split into the multiplying matrices alone (one
// vector through each, as a token does, in int8 quantizing x first) and the rest of the forward (attention over
// the cache, LayerNorm, the residual adds), plus its share of the window refills. The three are timed in turn,
// round after round, so that each compares with the others. The streamed rate above was timed earlier, and this
// machine's speed moves between runs (the streamed token also samples, which costs little), so compare the
// breakdown's parts with each other rather than with it.
// Int8 shrinks the products; the rest and the refills do not shrink with the weights. M's 11.4 MB of int8 would
// fit in this machine's L3 cache (printed below), but the cache is shared with whatever else runs (on a VM,
// other machines' work too), and the refills sweep the 43 MB float32 copy: divide 11.4 MB by the int8
// products' time below to see the rate they are read at, and compare it with the memory line. While a token
// decodes with int8 weights, OpenBLAS steps down to one thread and each product of 128 KB or more (all of M's
// but the output head; none of S's) shares its rows with a helper thread of the kernels' own (section 3
// shows how); the products alone are timed that way too.

section("6. What it buys: tokens per second")
let configM = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 256, embeddingSize: 384, heads: 6, layers: 6)
let quickM = GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 64, embeddingSize: 128, heads: 4, layers: 2)
let models: [(name: String, model: NanoGPT)] = [("S", model), ("M", NanoGPT(options.quick ? quickM : configM, seed: 1))]
func tokensPerSecond(_ model: NanoGPT, _ count: Int) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    _ = Array(model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: count, random: SeededRandom(seed: 2)))
    return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
}
let streamCount = options.quick ? min(command.streamTokens, 100) : command.streamTokens
var points: [(name: String, int8: Bool, megabytes: Double, rate: Double)] = []
for (name, measured) in models {
    var rates = (float32: 0.0, int8: 0.0)
    for _ in 0..<2 {
        measured.useFloat32Weights()
        rates.float32 = max(rates.float32, tokensPerSecond(measured, streamCount))
        measured.useInt8Weights()
        rates.int8 = max(rates.int8, tokensPerSecond(measured, streamCount))
    }
    for (int8, rate) in [(false, rates.float32), (true, rates.int8)] {
        points.append((name, int8, Double(measured.weightBytesPerToken(int8: int8)) / 1e6, rate))
    }
    print(name.padding(toLength: 15, withPad: " ", startingAt: 0)
          + String(format: " float32 %6.0f tokens/s (%5.2f MB a token), int8 %6.0f tokens/s (%5.2f MB): %.2fx", rates.float32,
                   points[points.count - 2].megabytes, rates.int8, points[points.count - 1].megabytes, rates.int8 / rates.float32))
    measured.useFloat32Weights()
}
// The memory line: one vector times a 134 MB float32 matrix (8192 x 4096; 17 MB with --quick), the median of 9.
let big = Tensor.zeros([options.quick ? 1024 : 8192, 4096]), vector = Tensor.zeros([1, 4096])
let sweeps = (0..<9).map { _ in
    let start = DispatchTime.now().uptimeNanoseconds
    _ = withoutGradients { matmul(vector, big, transposeB: true) }
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}.sorted()
let bandwidth = Double(big.count * 4) / sweeps[sweeps.count / 2] / 1e9   // GB/s
print(String(format: "memory bandwidth, sgemv on a %.0f MB matrix: %.1f GB/s; the line tokens/s = %.1f GB/s / bytes a token",
             Double(big.count * 4) / 1e6, bandwidth, bandwidth))
let l3 = (try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cache/index3/size", encoding: .utf8))?
    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
print("L3 cache of this CPU: \(l3)")
for point in points {
    print(String(format: "  %@ %@: the line allows %6.0f tokens/s, measured %6.0f (%.0f%%)", point.name, point.int8 ? "int8   " : "float32",
                 bandwidth * 1e3 / point.megabytes, point.rate, 100 * point.rate / (bandwidth * 1e3 / point.megabytes)))
}
// Where M's token goes, timed in turn in each of 21 rounds (medians): a new token's forward pass through decode
// (at cache positions from T/2 on, the steady state's), one vector through every multiplying matrix (the
// products alone), and a window refill (one batched pass of T/2 tokens, every T/2 + 1 tokens).
let measuredM = models[1].model, configOfM = measuredM.config
// The products as decode runs them, on storages made once: sgemv on the float32 weight, or the int8 kernel.
let inputs = measuredM.multiplyingMatrices.map { Storage.zeros(count: $0.weight.shape[1]) }
let outputs = measuredM.multiplyingMatrices.map { Storage(count: $0.weight.shape[0]) }
func milliseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
for int8 in [false, true] {
    if int8 { measuredM.useInt8Weights() } else { measuredM.useFloat32Weights() }
    // The model's own int8 matrices, in the order of `multiplyingMatrices` (the ones its decode reads).
    let int8Matrices: [InferenceWeight?] = measuredM.blocks.flatMap {
        [$0.attention.keyQueryValue.inferenceWeight, $0.attention.projection.inferenceWeight,
         $0.feedForward.expand.inferenceWeight, $0.feedForward.contract.inferenceWeight]
    } + [measuredM.languageModelHead.inferenceWeight]
    let cache = KeyValueCache(configOfM), buffers = NanoGPT.DecodeBuffers(configOfM)
    let window = (0..<(configOfM.blockSize / 2)).map { $0 % tokenizer.vocabularySize }
    var forward: [Double] = [], products: [Double] = [], refill: [Double] = []
    withoutGradients {
        for round in 0..<21 {
            refill.append(milliseconds {
                cache.clear()
                _ = measuredM.logits(window, batchSize: 1, length: window.count, cache: cache)
            })
            let extra = (round % 4) * (configOfM.blockSize / 2 - 8) / 4   // rounds at other cache lengths, room for 8 more
            for _ in 0..<extra { _ = measuredM.decode(1, cache: cache, buffers: buffers) }
            forward.append(milliseconds { for _ in 0..<8 { _ = measuredM.decode(2, cache: cache, buffers: buffers).toHost() } } / 8)
            products.append(milliseconds { BLAS.lendingCores(if: int8) {
                for (index, matrix) in measuredM.multiplyingMatrices.enumerated() {
                    let (rows, columns) = (matrix.weight.shape[0], matrix.weight.shape[1])
                    if int8 { int8Matrices[index]!.product(inputs[index], into: outputs[index]) }
                    else { Backends.current.gemm(transposeB: true, m: 1, n: rows, k: columns, a: MatrixOperand(inputs[index]),
                                                 b: MatrixOperand(matrix.weight.storage), beta: 0, c: MatrixOperand(outputs[index])) }
                }
            } })
        }
    }
    let streamed = 1e3 / points.first { $0.name == "M" && $0.int8 == int8 }!.rate
    let (f, p, r) = (median(forward), median(products), median(refill) / Double(configOfM.blockSize / 2 + 1))
    print(String(format: "M %@: forward %.2f ms (products alone %.2f, the rest %.2f) + refill share %.2f = %.2f ms; streamed: %.2f ms a token",
                 int8 ? "int8   " : "float32", f, p, f - p, r, f + r, streamed))
}
measuredM.useFloat32Weights()
print()
exitOnError {
    let x = stride(from: -0.6, through: 1.8, by: 0.1).map { pow(10, $0) }   // 0.25 ... 63 MB
    report.drew(try Plotter.shared.lines(
        [Series("memory line: \(String(format: "%.1f", bandwidth)) GB/s / bytes", x: x, y: x.map { bandwidth * 1e3 / $0 }, style: .thinLine)]
            + points.map { Series("\($0.name) \($0.int8 ? "int8" : "float32")", x: [$0.megabytes], y: [$0.rate], style: .points) },
        title: "08 · Streaming speed against the bytes read per token", xLabel: "MB of weights read per token",
        yLabel: "tokens/s", logScaleX: true, logScaleY: true, in: report.folder, name: "speed"))
}

// MARK: - 7. When it does not pay
//
// S's float32 weights (3.2 MB) already sit in the caches, so reading them is not what bounds it, and int8
// gains little there (section 6's ratio for S, about 1.1 to 1.3 from run to run on this machine): its
// products are too small to share between two threads (section 6), so its kernel runs on one core where
// sgemv uses both, and each product first quantizes x. What remains is the attention over the cache, the
// refills and sampling. And a prompt is
// processed all at once, a matrix product whose arithmetic, not its reads, sets the time: int8 runs it
// through sgemm on the dequantized weights (made at the first prompt and kept), so the wait for the first
// token after a full prompt stays about the same.

section("7. When it does not pay")
let prompt = (0..<measuredM.config.blockSize).map { $0 % tokenizer.vocabularySize }
for int8 in [false, true] {
    if int8 { measuredM.useInt8Weights() } else { measuredM.useFloat32Weights() }
    let times = (0..<5).map { _ in
        let start = DispatchTime.now().uptimeNanoseconds
        _ = Array(measuredM.generateStream(prompt: prompt, maxNewTokens: 1, random: SeededRandom(seed: 3)))
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6
    }.sorted()
    print(String(format: "M, first token after a %d-token prompt, %@: %.1f ms (median of 5)", prompt.count,
                 int8 ? "int8" : "float32", times[2]))
}
print("\nwrote \(report.folder.path)/: rounding.png, speed.png")
