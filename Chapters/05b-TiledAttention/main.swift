// Chapter 05b · Attention without the T x T matrix
// ================================================
//
// An aside after chapter 05. Attention as chapters 02 to 05 wrote it makes, for every head, a (T, T) matrix
// of scores, turns it into weights with a softmax, and multiplies the weights by the values. Training keeps
// those weights for the backward pass: B x heads x T x T numbers per layer, which grows with the square of
// the context. At T = 1024 and 6 heads, a batch of 4 keeps 96 MB per layer (MB of 2^20 bytes, as everywhere
// on this page); GPT-2's 12 heads at T 1024 would keep 48 MB per sequence per layer.
//
// The weights are never needed all at once. The softmax of a row can be computed in one pass, keeping only a
// running maximum and a running sum (the online softmax), and the weighted sum of values can ride along in
// the same pass. Attention then works a tile of keys at a time, each tile's products stay in the core's
// cache, and the backward pass recomputes each tile's weights instead of reading stored ones. This is the
// idea of FlashAttention, and of PyTorch's scaled_dot_product_attention on a CPU. Every model in this
// project trains and evaluates this way, unless dropout on the attention weights asks for the weights
// (generation's key/value cache, chapter 05, attends a few new queries at a time through the weights path).
//
//   swift run -c release ch05b            (--quick: shorter contexts, a few seconds)
//
// Expected (2-core AMD EPYC): the one-pass softmax gives the textbook's numbers; the tiled kernel agrees with
// the weights path to about 1e-6; at T = 1024 it keeps 0.1 MB where the weights path keeps 96 MB; forward
// and backward it has run 1.1 to 2.5 times as fast in runs on this machine, except one run that had the
// weights path ahead at T = 128 and 256.
import ChapterSupport
import Foundation
import Plotting
import TensorCore

let options = Chapter05b.parseOrExitWithOneLine()   // the flags: Flags.swift
if let threads = options.threads { BLAS.threadCount = threads }
let random = SeededRandom(seed: options.seed)
print("Chapter 05b · Attention without the T x T matrix\n")
func show(_ values: [Float]) -> String { "[" + values.map { String(format: "%.4f", $0) }.joined(separator: ", ") + "]" }

// MARK: - 1. The softmax of one row, in one pass
//
// The textbook softmax of scores s_1 ... s_n is e^(s_j) / sum_k e^(s_k). Computed as written it overflows:
// e^89 is already beyond the largest Float. So it is computed in two passes: first the maximum m, then
// e^(s_j - m) / sum_k e^(s_k - m), the same numbers since the e^-m cancels (NaiveKernels.softmax).
//
// One pass is enough. Walk the row keeping the largest score so far, m, and the sum of e^(s - m) so far, l.
// When a new score s raises the maximum to m', everything summed so far was relative to the old m: multiply
// l by e^(m - m') to make it relative to m', then add e^(s - m'). At the end l is sum_k e^(s_k - m), and
// the softmax is e^(s_j - m) / l. By hand on a short row:

section("1. The softmax of one row, in one pass")
let row: [Float] = [2, 1, 3, 0.5, 3.5]
print("row: \(show(row))")
print("two passes (max, then sums): \(show(NaiveKernels.softmax(row)))")
var (runningMax, runningSum) = (-Float.infinity, Float(0))
print(" score   max so far m   sum so far l = l * e^(old m - m) + e^(s - m)")
for s in row {
    let newMax = max(runningMax, s)
    runningSum = runningSum * exp(runningMax - newMax) + exp(s - newMax)
    runningMax = newMax
    print(String(format: " %5.2f   %12.2f   %.4f", s, runningMax, runningSum))
}
print("one pass, then e^(s - m) / l: \(show(row.map { exp($0 - runningMax) / runningSum }))")
print(String(format: "log-sum-exp = m + log l = %.4f (log of sum e^s, computed directly: %.4f)\n",
             runningMax + log(runningSum), log(row.reduce(0) { $0 + exp($1) })))

// MARK: - 2. The weighted sum of values, in the same pass
//
// Attention for one query needs more than the softmax: its output is sum_j p_j v_j, the values weighted by
// the softmax of the scores s_j = (q . k_j) / sqrt(hs). Keep a third running quantity, o, the sum of
// e^(s - m) v so far, and rescale it by the same factor whenever the maximum grows. At the end o / l is the
// output. Nothing of size T is stored: m, l and o are all a query needs, key after key. The textbook form
// holds all the scores at once; the one-pass form is a few lines longer:
// show: Sources/TensorCore/Backend/NaiveKernels.swift NaiveKernels.attention NaiveKernels.onlineAttention

section("2. The weighted sum of values, in the same pass")
let headSize = 4, keyCount = 6
let query = (0..<headSize).map { _ in random.normal() }
let keys = (0..<keyCount).map { _ in (0..<headSize).map { _ in random.normal() } }
let values = (0..<keyCount).map { _ in (0..<headSize).map { _ in random.normal() } }
let scale = 1 / Float(headSize).squareRoot()
let textbook = NaiveKernels.attention(query: query, keys: keys, values: values, scale: scale)
let (online, logSumExp) = NaiveKernels.onlineAttention(query: query, keys: keys, values: values, scale: scale)
print("one query against \(keyCount) keys, head size \(headSize)")
print("textbook (all scores, softmax, weighted sum): \(show(textbook))")
print("one pass (m, l and o only):                   \(show(online))")
print(String(format: "largest difference %.1e; the row's log-sum-exp %.4f\n",
             zip(textbook, online).map { abs($0 - $1) }.max()!, logSumExp))

// MARK: - 3. Tiles: which are computed, which the mask skips
//
// The kernel does this for a block of 64 queries at once, against a tile of keys at a time, so that every
// step is two matrix products on blocks that fit in the core's cache: S = Q K^T for the tile's scores, then
// O += P V after the running maxima and sums of the tile's rows are updated (and O's rows rescaled). Causal
// attention lets query i see keys 0 ... i only, so the tiles above the diagonal are never visited and the
// tiles on it are masked inside. At T = 256 with tiles of 64 (this machine's tile at head size 64): 10 of
// the 16 tiles are computed, the 4 on the diagonal partly. Each query row keeps one number for the backward:
// its log-sum-exp.

section("3. Tiles: which are computed, which the mask skips")
let gridT = 256, tile = 64, tiles = gridT / tile
var tileKinds: [Float] = []
print("             " + (0..<tiles).map { String(format: "keys %3d-%-3d", $0 * tile, $0 * tile + tile - 1) }.joined(separator: "  "))
for r in 0..<tiles {
    let kinds: [Float] = (0..<tiles).map { c in c < r ? 1 : c == r ? 0.5 : 0 }
    tileKinds += kinds
    print(String(format: "queries %3d-%-3d ", r * tile, r * tile + tile - 1)
          + kinds.map { $0 == 1 ? "  computed   " : $0 == 0.5 ? "  diagonal   " : "  skipped    " }.joined(separator: " "))
}
print("\(tileKinds.filter { $0 > 0 }.count) of \(tiles * tiles) tiles computed; kept per query row: 1 number (its log-sum-exp)\n")
let report = exitOnError { try ChapterReport(chapter: "05b-tiled-attention", title: "Attention without the T x T matrix", out: options.out) }
exitOnError {
    let labels = (0..<tiles).map { "\($0 * tile)" }   // each tile's first position
    report.drew(try Plotter.shared.heatmaps(
        [Heatmap("1 computed, 0.5 diagonal, 0 skipped", rows: tiles, columns: tiles, values: tileKinds)],
        rowLabels: labels, columnLabels: labels, title: "05b · Tiles at T = 256",
        xLabel: "keys from", yLabel: "queries from", colorRange: 0...1, in: report.folder, name: "tiles"))
}

// MARK: - 4. The kernel, and the op every model calls
//
// The tiled kernel, forward and backward. The forward is sections 1 and 2 for 64 rows at once, with the two
// products of each tile through sgemm. The backward recomputes each tile's weights from the saved
// log-sum-exp, P = e^(scale S - lse), and forms the same gradients as the weights path: dV = P^T dO,
// dP = dO V^T, dS = scale P (dP - D) with D = rowsum(dO * O), dQ = dS K and dK = dS^T Q. D needs no weights
// either: the sum over a row of P * dP is dO . (P V) = dO . O.
// show: Sources/TensorCore/Backend/CPU/TiledAttentionKernels.swift CPUBackend.tiledAttention CPUBackend.tiledAttentionBackward
//
// The tile sizes, and what is kept (a head whose scores are one tile keeps that tile's weights):
// show: Sources/TensorCore/Backend/CPU/TiledAttentionKernels.swift CPUBackend.queryTile CPUBackend.keyTile CPUBackend.isOneTile CPUBackend.tiledAttentionSavedCount
//
// `shiftedExp` writes e^((x - shift) * scale) for a row and returns their sum, eight floats at a time
// (SIMD8<Float>: eight 32-bit floats in one register; `VectorMath.exp` is e^x for all eight at once):
// show: Sources/TensorCore/Backend/CPU/VectorMath.swift VectorMath.shiftedExp
//
// The op records the backward closure with the log-sum-exp it needs, and MultiHead calls it (the weights
// path stays for dropout on the attention weights, which needs them):
// show: Sources/TensorCore/Ops/TiledAttention.swift causalAttention
// show: Sources/Attention/MultiHead.swift MultiHead.callAsFunction MultiHead.causalSelfAttention

section("4. The kernel, and the op every model calls")
let shape = [2, 4, 150, 32]   // 150 positions: tiles of 64, 64 and a ragged 22
let upstream = Tensor.normal(shape, std: 1, random: random).values
let start = (0..<3).map { _ in Tensor.normal(shape, std: 1, random: random).values }
func attentionAndGradients(tiled: Bool) -> [[Float]] {
    let (q, k, v) = (Tensor(shape: shape, values: start[0], requiresGrad: true), Tensor(shape: shape, values: start[1], requiresGrad: true),
                     Tensor(shape: shape, values: start[2], requiresGrad: true))
    let out = tiled ? causalAttention(q, k, v, scale: 1 / Float(32).squareRoot())
                    : causalMatmul(softmaxOfProducts(q, k, causal: true, scale: 1 / Float(32).squareRoot()), v)
    out.backward(seed: upstream)
    return [out.values, q.gradValues!, k.gradValues!, v.gradValues!]
}
let (tiledResults, weightsResults) = (attentionAndGradients(tiled: true), attentionAndGradients(tiled: false))
print("B 2, 4 heads, T 150, head size 32: the tiled kernel against the weights path (softmax of the products, then the weighted sum)")
for (name, (a, b)) in zip(["output", "dQ", "dK", "dV"], zip(tiledResults, weightsResults)) {
    print(String(format: "  %-6@ largest difference %.1e", name, zip(a, b).map { abs($0 - $1) }.max()!))
}
print()

// MARK: - 5. Memory and time against the context length
//
// One attention layer of config L in `bench` (chapter 05's model grown to C 384 with 6 heads of 64, at a
// batch of 4), forward and backward, for T from 128 up. The weights path keeps its (B, heads, T, T) weights
// from the forward to the backward and makes two more matrices that size during the backward (dP and dS);
// the tiled kernel keeps one log-sum-exp per row and works in a few tiles per thread. Times are medians
// (of 5 runs at long contexts, of more at short ones, where one run takes a few milliseconds). Both figures
// have logarithmic axes: a quantity that grows as T^2 is a straight line of slope 2, one that grows as T a
// line of slope 1, so each doubling of T moves the weights path's memory up four times and the tiled one's two.

section("5. Memory and time against the context length")
let (batch, heads, size) = (4, 6, 64)
let lengths = options.quick ? [128, 256, 512] : [128, 256, 512, 1024, 2048]
func repeats(_ t: Int) -> Int { options.quick ? 2 : max(5, 40 * 256 * 256 / (t * t)) }   // short contexts: more repeats
func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}
func timed(t: Int, tiled: Bool) -> (forward: Double, backward: Double) {
    let shape = [batch, heads, t, size]
    let (q, k, v) = (Tensor.normal(shape, std: 1, random: random, requiresGrad: true), Tensor.normal(shape, std: 1, random: random, requiresGrad: true),
                     Tensor.normal(shape, std: 1, random: random, requiresGrad: true))
    let gradient = Tensor.normal(shape, std: 1, random: random).values
    var forward: [Double] = [], backward: [Double] = []
    for _ in 0...repeats(t) {   // the first round warms up
        [q, k, v].forEach { $0.clearGrad() }
        var out = q
        forward.append(seconds {
            out = tiled ? causalAttention(q, k, v, scale: 0.125) : causalMatmul(softmaxOfProducts(q, k, causal: true, scale: 0.125), v)
        })
        backward.append(seconds { out.backward(seed: gradient) })
    }
    return (median(Array(forward.dropFirst())), median(Array(backward.dropFirst())))
}
func megabytes(_ floats: Int) -> Double { Double(floats) * 4 / 1_048_576 }
var rows: [(t: Int, tiled: (Double, Double), weights: (Double, Double))] = []
print("    T   kept for backward, MB        largest backward temporary, MB   forward + backward, ms      speed-up")
print("        weights path    tiled        weights path    tiled            weights path    tiled")
for t in lengths {
    let weights = timed(t: t, tiled: false), tiled = timed(t: t, tiled: true)
    rows.append((t, tiled, weights))
    let kept = (megabytes(batch * heads * t * t), megabytes(batch * heads * t))
    let (queryTile, keyTile) = (CPUBackend.queryTile, CPUBackend.keyTile(headSize: size))
    let temporary = (megabytes(2 * batch * heads * t * t), megabytes(BLAS.threadCount * (2 * queryTile * keyTile + queryTile)))
    print(String(format: "%5d   %12.1f   %8.2f       %12.1f   %8.2f          %12.1f   %8.1f        %5.2fx", t, kept.0, kept.1,
                 temporary.0, temporary.1, (weights.forward + weights.backward) * 1e3, (tiled.forward + tiled.backward) * 1e3,
                 (weights.forward + weights.backward) / (tiled.forward + tiled.backward)))
}
print("(B \(batch), \(heads) heads of \(size); \(BLAS.threadCount) thread(s); the tiled kernel's temporaries: two tiles per thread)\n")
exitOnError {
    let x = rows.map { Double($0.t) }
    report.drew(try Plotter.shared.lines(
        [Series("weights path", x: x, y: rows.map { ($0.weights.0 + $0.weights.1) * 1e3 }),
         Series("tiled (online softmax)", x: x, y: rows.map { ($0.tiled.0 + $0.tiled.1) * 1e3 })],
        title: "Chapter 05b · One attention layer, forward + backward (B 4, 6 heads of 64)", xLabel: "context length T",
        yLabel: "ms", logScaleX: true, logScaleY: true, in: report.folder, name: "time"))
    report.drew(try Plotter.shared.lines(
        [Series("weights path: the (B, heads, T, T) weights", x: x, y: rows.map { megabytes(batch * heads * $0.t * $0.t) }),
         Series("tiled: one log-sum-exp per row", x: x, y: rows.map { megabytes(batch * heads * $0.t) })],
        title: "Chapter 05b · What attention keeps for its backward", xLabel: "context length T", yLabel: "MB",
        logScaleX: true, logScaleY: true, in: report.folder, name: "memory"))
}

// MARK: - 6. The backward's trade: recompute instead of store
//
// Per tile the weights path does 2 products forward (S, then P V) and 4 backward (dP, dV, dQ, dK); the
// tiled kernel does the same 2 forward and 5 backward, S again among them: 7 products instead of 6, a sixth
// more arithmetic in attention. It buys back memory traffic: the weights path writes T x T weights in the
// forward and reads and writes three such matrices in the backward, all far larger than the caches at long
// contexts, while a tile's 64 x 64 scores never leave them. Measured above, the backward alone:

section("6. The backward's trade: recompute instead of store")
print("    T   backward, weights path   backward, tiled   forward, weights path   forward, tiled")
for row in rows {
    print(String(format: "%5d   %17.1f ms   %12.1f ms   %18.1f ms   %11.1f ms", row.t, row.weights.1 * 1e3, row.tiled.1 * 1e3,
                 row.weights.0 * 1e3, row.tiled.0 * 1e3))
}
