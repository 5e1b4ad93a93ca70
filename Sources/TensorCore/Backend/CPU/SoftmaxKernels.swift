// Softmax over the last axis (optionally causal) and the fused cross-entropy, forward beside backward.
// Eight values at a time (VectorMath.swift); NaiveKernels.swift has the plain versions the tests compare with.
import Foundation

extension CPUBackend {
    /// out[r, :] = softmax(x[r, :]) for `rows` rows of `columns` values.
    ///
    /// Causal: rows come in blocks of `causal.queries` (attention scores, query i against key j) and query i
    /// may only look at keys j <= offset + i. Masked entries get probability exactly 0, as if their score
    /// were -inf (and are never read, so they may hold anything).
    /// Subtracting the row maximum first keeps exp() finite for any input (logits of +-1e4 included).
    /// `scale` multiplies the inputs first (attention's 1/sqrt(hs), fused so no scaled copy is made).
    public func softmax(_ x: Storage, out: Storage, rows: Int, columns: Int, causal: CausalMask?, scale: Float) {
        let x = x.pointer, o = out.pointer
        for r in 0..<rows {
            let row = r &* columns
            let visible = causal?.visibleKeys(row: r) ?? columns
            let maximum = VectorMath.maximum(x + row, visible)
            // scale > 0, so the maximum stays the maximum.
            let total = VectorMath.shiftedExp(x + row, shift: maximum, scale: scale, out: o + row, visible)
            VectorMath.scale(o + row, by: 1 / total, visible)
            for j in visible..<columns { o[row &+ j] = 0 }
        }
    }

    /// With y = softmax(scale * x):  dx_j = scale * y_j * (dy_j - sum_k y_k dy_k). Masked entries have
    /// y = 0, so they get gradient 0.
    public func softmaxBackward(output: Storage, _ g: Storage, xGrad: Storage, rows: Int, columns: Int,
                                       causal: CausalMask?, scale: Float) {
        let y = output.pointer, g = g.pointer, d = xGrad.pointer
        for r in 0..<rows {
            let row = r &* columns
            let visible = causal?.visibleKeys(row: r) ?? columns
            let dot = VectorMath.dot(y + row, g + row, visible)
            let yr = y + row, gr = g + row, dr = d + row
            let scale8 = Float8(repeating: scale), dot8 = Float8(repeating: dot)
            var j = 0
            while j &+ 8 <= visible {
                let update = scale8 * VectorMath.load(yr, j) * (VectorMath.load(gr, j) - dot8)
                VectorMath.store(update, dr, j)
                j &+= 8
            }
            while j < visible {
                let update = scale * yr[j] * (gr[j] - dot)
                dr[j] = update
                j &+= 1
            }
            (dr + visible).update(repeating: 0, count: columns &- visible)
        }
    }

    /// Mean over rows of -log softmax(logits[r])[target[r]], computed as logsumexp - logit[target], which
    /// stays finite for huge logits. Also leaves the probabilities in `probabilities` for the backward.
    public func crossEntropy(logits: Storage, targets: [Int], probabilities: Storage, loss: Storage, rows: Int,
                             classes: Int) {
        let x = logits.pointer, p = probabilities.pointer
        var total = 0.0
        for r in 0..<rows {
            let row = r &* classes
            let maximum = VectorMath.maximum(x + row, classes)
            let sum = VectorMath.shiftedExp(x + row, shift: maximum, scale: 1, out: p + row, classes)
            VectorMath.scale(p + row, by: 1 / sum, classes)
            let logSumExp = maximum + logf(sum)
            total += Double(logSumExp - x[row &+ targets[r]])
        }
        loss.pointer[0] = Float(total / Double(rows))
    }

    /// d loss / d logits = (softmax - onehot(target)) * upstream / rows: the softmax and the log cancel,
    /// so the backward never divides by a probability.
    public func crossEntropyBackward(probabilities: Storage, targets: [Int], upstream: Storage,
                                     logitsGrad: Storage, rows: Int, classes: Int) {
        let p = probabilities.pointer, d = logitsGrad.pointer
        let scale = upstream.pointer[0] / Float(rows)
        let scale8 = Float8(repeating: scale)
        for r in 0..<rows {
            let pr = p + r &* classes, dr = d + r &* classes
            var j = 0
            while j &+ 8 <= classes { VectorMath.store(scale8 * VectorMath.load(pr, j), dr, j); j &+= 8 }
            while j < classes { dr[j] = scale * pr[j]; j &+= 1 }
            dr[targets[r]] -= scale
        }
    }
}
