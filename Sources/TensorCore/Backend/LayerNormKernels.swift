// LayerNorm over the last axis, forward beside backward (the llm.c layernorm_forward/backward pair).
//
//   mean = sum(x) / C,  rstd = 1 / sqrt(sum((x - mean)^2) / C + eps),  norm = (x - mean) * rstd
//   out  = norm * gain + bias
extension Kernels {
    /// Keeps `mean` and `rstd` (one per row) for the backward.
    public static func layerNorm(_ x: Storage, gain: Storage, bias: Storage, out: Storage, mean: Storage,
                                 rstd: Storage, rows: Int, columns: Int, epsilon: Float) {
        let x = x.pointer, w = gain.pointer, b = bias.pointer, o = out.pointer
        for r in 0..<rows {
            let row = r &* columns
            var sum: Float = 0
            for j in 0..<columns { sum += x[row &+ j] }
            let m = sum / Float(columns)
            var variance: Float = 0
            for j in 0..<columns { let d = x[row &+ j] - m; variance += d * d }
            let s = 1 / (variance / Float(columns) + epsilon).squareRoot()
            for j in 0..<columns { o[row &+ j] = (x[row &+ j] - m) * s * w[j] + b[j] }
            mean.pointer[r] = m
            rstd.pointer[r] = s
        }
    }

    /// dnorm = g * gain;  dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm));
    /// dgain += g * norm;  dbias += g.
    public static func layerNormBackward(_ g: Storage, x: Storage, gain: Storage, mean: Storage, rstd: Storage,
                                         xGrad: Storage?, gainGrad: Storage?, biasGrad: Storage?,
                                         rows: Int, columns: Int) {
        let g = g.pointer, x = x.pointer, w = gain.pointer
        for r in 0..<rows {
            let row = r &* columns
            let m = mean.pointer[r], s = rstd.pointer[r]
            var meanDNorm: Float = 0, meanDNormTimesNorm: Float = 0
            for j in 0..<columns {
                let norm = (x[row &+ j] - m) * s
                let dNorm = g[row &+ j] * w[j]
                meanDNorm += dNorm
                meanDNormTimesNorm += dNorm * norm
            }
            meanDNorm /= Float(columns)
            meanDNormTimesNorm /= Float(columns)
            for j in 0..<columns {
                let norm = (x[row &+ j] - m) * s
                if let biasGrad { biasGrad.pointer[j] += g[row &+ j] }
                if let gainGrad { gainGrad.pointer[j] += g[row &+ j] * norm }
                if let xGrad {
                    let dNorm = g[row &+ j] * w[j]
                    xGrad.pointer[row &+ j] += s * (dNorm - meanDNorm - norm * meanDNormTimesNorm)
                }
            }
        }
    }
}
