// Softmax over the last axis (optionally causal) and the fused cross-entropy, forward beside backward.
import Foundation

extension Kernels {
    /// out[r, :] = softmax(x[r, :]) for `rows` rows of `columns` values.
    ///
    /// Causal: rows come in square T x T blocks (attention scores, query i against key j) and query i may
    /// only look at keys j <= i. Masked entries get probability exactly 0, as if their score were -inf.
    /// Subtracting the row maximum first keeps exp() finite for any input (logits of +-1e4 included).
    /// `scale` multiplies the inputs first (attention's 1/sqrt(hs), fused so no scaled copy is made).
    public static func softmax(_ x: Storage, out: Storage, rows: Int, columns: Int, causal: Bool, scale: Float = 1) {
        let x = x.pointer, o = out.pointer
        for r in 0..<rows {
            let row = r &* columns
            let visible = causal ? (r % columns) + 1 : columns
            var maximum = -Float.infinity
            for j in 0..<visible { maximum = max(maximum, x[row &+ j]) }
            var total: Float = 0
            for j in 0..<visible {
                let e = expf((x[row &+ j] - maximum) * scale)   // scale > 0, so the maximum stays the maximum
                o[row &+ j] = e
                total += e
            }
            let inverse = 1 / total
            for j in 0..<visible { o[row &+ j] *= inverse }
            for j in visible..<columns { o[row &+ j] = 0 }
        }
    }

    /// With y = softmax(scale * x):  dx_j = scale * y_j * (dy_j - sum_k y_k dy_k). Masked entries have
    /// y = 0, so they get no gradient.
    public static func softmaxBackward(output: Storage, _ g: Storage, xGrad: Storage, rows: Int, columns: Int,
                                       causal: Bool, scale: Float = 1) {
        let y = output.pointer, g = g.pointer, d = xGrad.pointer
        for r in 0..<rows {
            let row = r &* columns
            let visible = causal ? (r % columns) + 1 : columns
            var dot: Float = 0
            for j in 0..<visible { dot += y[row &+ j] * g[row &+ j] }
            for j in 0..<visible { d[row &+ j] += scale * y[row &+ j] * (g[row &+ j] - dot) }
        }
    }

    /// Mean over rows of -log softmax(logits[r])[target[r]], computed as logsumexp - logit[target], which
    /// stays finite for huge logits. Also leaves the probabilities in `probabilities` for the backward.
    public static func crossEntropy(logits: Storage, targets: [Int], probabilities: Storage, rows: Int,
                                    classes: Int) -> Float {
        let x = logits.pointer, p = probabilities.pointer
        var total = 0.0
        for r in 0..<rows {
            let row = r &* classes
            var maximum = -Float.infinity
            for j in 0..<classes { maximum = max(maximum, x[row &+ j]) }
            var sum: Float = 0
            for j in 0..<classes {
                let e = expf(x[row &+ j] - maximum)
                p[row &+ j] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0..<classes { p[row &+ j] *= inverse }
            let logSumExp = maximum + logf(sum)
            total += Double(logSumExp - x[row &+ targets[r]])
        }
        return Float(total / Double(rows))
    }

    /// d loss / d logits = (softmax - onehot(target)) * upstream / rows: the softmax and the log cancel,
    /// so the backward never divides by a probability.
    public static func crossEntropyBackward(probabilities: Storage, targets: [Int], upstream: Float,
                                            logitsGrad: Storage, rows: Int, classes: Int) {
        let p = probabilities.pointer, d = logitsGrad.pointer
        let scale = upstream / Float(rows)
        for r in 0..<rows {
            let row = r &* classes
            for j in 0..<classes { d[row &+ j] += scale * p[row &+ j] }
            d[row &+ targets[r]] -= scale
        }
    }
}
