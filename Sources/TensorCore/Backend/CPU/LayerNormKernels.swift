// LayerNorm over the last axis, forward beside backward (the llm.c layernorm_forward/backward pair).
//
//   mean = sum(x) / C,  rstd = 1 / sqrt(sum((x - mean)^2) / C + eps),  norm = (x - mean) * rstd
//   out  = norm * gain + bias
//
// Each row's sums use eight lanes at a time (VectorMath.swift); NaiveKernels.layerNorm is the plain version.
extension CPUBackend {
    /// Keeps `mean` and `rstd` (one per row) for the backward.
    public func layerNorm(_ x: Storage, gain: Storage, bias: Storage, out: Storage, mean: Storage,
                          rstd: Storage, rows: Int, columns: Int, epsilon: Float) {
        let w = gain.pointer, b = bias.pointer
        for r in 0..<rows {
            let x = x.pointer + r &* columns, o = out.pointer + r &* columns
            let m = VectorMath.sum(x, columns) / Float(columns)
            let m8 = Float8(repeating: m)
            var squares = Float8(repeating: 0)
            var j = 0
            while j &+ 8 <= columns { let d = VectorMath.load(x, j) - m8; squares.addProduct(d, d); j &+= 8 }
            var variance = squares.sum()
            while j < columns { let d = x[j] - m; variance += d * d; j &+= 1 }
            let s = 1 / (variance / Float(columns) + epsilon).squareRoot()
            let s8 = Float8(repeating: s)
            j = 0
            while j &+ 8 <= columns {
                let normalized = (VectorMath.load(x, j) - m8) * s8
                VectorMath.store(normalized * VectorMath.load(w, j) + VectorMath.load(b, j), o, j)
                j &+= 8
            }
            while j < columns { o[j] = (x[j] - m) * s * w[j] + b[j]; j &+= 1 }
            mean.pointer[r] = m
            rstd.pointer[r] = s
        }
    }

    /// dnorm = g * gain;  dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm));
    /// dgain = sum over rows of g * norm;  dbias = sum over rows of g.  All three are written.
    public func layerNormBackward(_ g: Storage, x: Storage, gain: Storage, mean: Storage, rstd: Storage,
                                         xGrad: Storage?, gainGrad: Storage?, biasGrad: Storage?,
                                  rows: Int, columns: Int) {
        let w = gain.pointer
        gainGrad.map { fill($0, with: 0) }
        biasGrad.map { fill($0, with: 0) }
        for r in 0..<rows {
            let g = g.pointer + r &* columns, x = x.pointer + r &* columns
            let m = mean.pointer[r], s = rstd.pointer[r]
            let m8 = Float8(repeating: m), s8 = Float8(repeating: s)
            // Pass 1: the two means. Pass 2: the three gradients, each in one sweep.
            var sumDNorm8 = Float8(repeating: 0), sumDNormTimesNorm8 = Float8(repeating: 0)
            var j = 0
            while j &+ 8 <= columns {
                let norm = (VectorMath.load(x, j) - m8) * s8
                let dNorm = VectorMath.load(g, j) * VectorMath.load(w, j)
                sumDNorm8 += dNorm
                sumDNormTimesNorm8.addProduct(dNorm, norm)
                j &+= 8
            }
            var meanDNorm = sumDNorm8.sum(), meanDNormTimesNorm = sumDNormTimesNorm8.sum()
            while j < columns {
                let norm = (x[j] - m) * s, dNorm = g[j] * w[j]
                meanDNorm += dNorm
                meanDNormTimesNorm += dNorm * norm
                j &+= 1
            }
            meanDNorm /= Float(columns)
            meanDNormTimesNorm /= Float(columns)
            if let biasGrad { VectorMath.add(g, into: biasGrad.pointer, columns) }
            if let gainGrad {
                let d = gainGrad.pointer
                j = 0
                while j &+ 8 <= columns {
                    let norm = (VectorMath.load(x, j) - m8) * s8
                    VectorMath.store(VectorMath.load(d, j) + VectorMath.load(g, j) * norm, d, j)
                    j &+= 8
                }
                while j < columns { d[j] += g[j] * (x[j] - m) * s; j &+= 1 }
            }
            if let xGrad {
                let d = xGrad.pointer + r &* columns
                let mean8 = Float8(repeating: meanDNorm), meanTimesNorm8 = Float8(repeating: meanDNormTimesNorm)
                j = 0
                while j &+ 8 <= columns {
                    let norm = (VectorMath.load(x, j) - m8) * s8
                    let dNorm = VectorMath.load(g, j) * VectorMath.load(w, j)
                    VectorMath.store(s8 * (dNorm - mean8 - norm * meanTimesNorm8), d, j)
                    j &+= 8
                }
                while j < columns {
                    let norm = (x[j] - m) * s, dNorm = g[j] * w[j]
                    d[j] = s * (dNorm - meanDNorm - norm * meanDNormTimesNorm)
                    j &+= 1
                }
            }
        }
    }
}
