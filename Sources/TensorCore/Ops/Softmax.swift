// Softmax over the last axis, optionally with a causal mask, and LayerNorm.

/// softmax over the last axis. With `causal`, the last two axes must be a square T x T block of attention
/// scores, and position i only sees positions j <= i (the rest get probability 0). `scale` (> 0) multiplies
/// the inputs first: softmax(x, scale: s) == softmax(scale(x, by: s)), without the scaled copy.
public func softmax(_ x: Tensor, causal: Bool = false, scale: Float = 1) -> Tensor {
    precondition(scale > 0, "softmax scale must be positive")
    let columns = x.shape.last!
    if causal {
        precondition(x.shape.count >= 2 && x.shape[x.shape.count - 2] == columns,
                     "a causal softmax needs square (..., T, T) scores, got \(x.shape)")
    }
    let rows = x.count / max(1, columns)
    let out = Tensor.result(x.shape, of: [x]) { out in
        let (xGrad, beta) = x.gradDestination()
        Kernels.softmaxBackward(output: out.storage, out.grad!, xGrad: xGrad, rows: rows, columns: columns,
                                causal: causal, scale: scale, overwrite: beta == 0)
    }
    Kernels.softmax(x.storage, out: out.storage, rows: rows, columns: columns, causal: causal, scale: scale)
    return out
}

/// Normalizes each position's C features to mean 0 and variance 1, then applies a learned gain and bias.
/// x (..., C), gain (C), bias (C).
public func layerNorm(_ x: Tensor, gain: Tensor, bias: Tensor, epsilon: Float = 1e-5) -> Tensor {
    let columns = x.shape.last!
    precondition(gain.shape == [columns] && bias.shape == [columns], "layerNorm: gain/bias must be (\(columns))")
    let rows = x.count / columns
    let mean = Storage(count: rows), rstd = Storage(count: rows)
    let out = Tensor.result(x.shape, of: [x, gain, bias]) { out in
        Kernels.layerNormBackward(out.grad!, x: x.storage, gain: gain.storage, mean: mean, rstd: rstd,
                                  xGrad: x.requiresGrad ? x.gradStorage() : nil,
                                  gainGrad: gain.requiresGrad ? gain.gradStorage() : nil,
                                  biasGrad: bias.requiresGrad ? bias.gradStorage() : nil, rows: rows, columns: columns)
    }
    Kernels.layerNorm(x.storage, gain: gain.storage, bias: bias.storage, out: out.storage, mean: mean, rstd: rstd,
                      rows: rows, columns: columns, epsilon: epsilon)
    return out
}

/// softmax(scale * a @ b^T) over the last axis, as one op: (..., M, K) and (..., N, K) -> (..., M, N).
/// The same numbers as `softmax(matmul(a, b, transposeB: true), causal:, scale:)`, but the products are
/// written straight into the output and normalized in place, so no (..., M, N) tensor of raw scores is kept
/// for the backward, which needs only the probabilities. In attention that is one (B, nh, T, T) tensor fewer
/// per layer: 25 MB a layer for the M benchmark model.
///
/// Causal, the products skip what the mask would throw away: query rows are cut into blocks
/// (`causalRowBlocks`), and the block of rows [r0, r1) is multiplied by keys 0..<r1 only.
///
///     backward:  dS = scale * P * (dP - rowsum(P * dP))     (the softmax backward, into a temporary)
///                dA += dS @ B,   dB += dS^T @ A               (the product's backward, same blocks)
public func softmaxOfProducts(_ a: Tensor, _ b: Tensor, causal: Bool = false, scale: Float = 1) -> Tensor {
    precondition(scale > 0, "softmax scale must be positive")
    precondition(a.shape.count >= 2 && a.shape.dropLast(2) == b.shape.dropLast(2) && a.shape.last == b.shape.last,
                 "softmaxOfProducts needs (..., M, K) and (..., N, K), got \(a.shape) and \(b.shape)")
    let (m, k, n) = (a.shape[a.shape.count - 2], a.shape.last!, b.shape[b.shape.count - 2])
    precondition(!causal || m == n, "a causal softmax needs square scores, got \(m) x \(n)")
    let batch = a.count / max(1, m * k)
    // Row block [r0, r1) of the scores needs columns 0..<r1 when causal, all n otherwise. Column block
    // [c0, c1) is fed by rows c0..<m when causal, all m otherwise.
    let blocks = causal ? causalRowBlocks(m) : [0..<m]
    let visibleColumns = { (rows: Range<Int>) in causal ? rows.upperBound : n }
    let firstRow = { (columns: Range<Int>) in causal ? columns.lowerBound : 0 }
    let columnBlocks = causal ? blocks : [0..<n]
    let out = Tensor.result(Array(a.shape.dropLast(2)) + [m, n], of: [a, b]) { out in
        let scores = Storage(count: out.count)   // d loss / d (a @ b^T), before the scale: written whole
        Kernels.softmaxBackward(output: out.storage, out.grad!, xGrad: scores, rows: batch * m, columns: n,
                                causal: causal, scale: scale, overwrite: true)
        // The row blocks cover every row of dA, the column blocks every row of dB: both are written whole.
        let aGrad = a.requiresGrad ? a.gradDestination() : nil, bGrad = b.requiresGrad ? b.gradDestination() : nil
        for i in 0..<batch {
            let dS = scores.pointer + i * m * n, ai = a.storage.pointer + i * m * k, bi = b.storage.pointer + i * n * k
            if let aGrad {
                let da = aGrad.storage.pointer + i * m * k
                for rows in blocks {   // dA[rows] += dS[rows, visible] @ B[visible]
                    BLAS.gemm(m: rows.count, n: k, k: visibleColumns(rows), a: dS + rows.lowerBound * n, lda: n,
                              b: bi, beta: aGrad.beta, c: da + rows.lowerBound * k)
                }
            }
            if let bGrad {
                let db = bGrad.storage.pointer + i * n * k
                for columns in columnBlocks {   // dB[columns] += dS[first..<m, columns]^T @ A[first..<m]
                    let first = firstRow(columns)
                    BLAS.gemm(transposeA: true, m: columns.count, n: k, k: m - first,
                              a: dS + first * n + columns.lowerBound, lda: n, b: ai + first * k, beta: bGrad.beta,
                              c: db + columns.lowerBound * k)
                }
            }
        }
    }
    for i in 0..<batch {
        let ai = a.storage.pointer + i * m * k, bi = b.storage.pointer + i * n * k, oi = out.storage.pointer + i * m * n
        for rows in blocks {   // S[rows, visible] = A[rows] @ B[visible]^T; the masked rest is never computed
            BLAS.gemm(transposeB: true, m: rows.count, n: visibleColumns(rows), k: k, a: ai + rows.lowerBound * k,
                      b: bi, beta: 0, c: oi + rows.lowerBound * n, ldc: n)
        }
    }
    // In place; causal, it reads only the computed entries and writes exact zeros over the masked ones.
    Kernels.softmax(out.storage, out: out.storage, rows: batch * m, columns: n, causal: causal, scale: scale)
    return out
}

/// The query rows of a causal T x T product, cut into up to 4 blocks of at least 64 rows (a multiple of 8).
/// Block [r0, r1) sees keys 0..<r1, so 4 blocks compute 10 of 16 tiles: 62.5% of the full product. Smaller
/// blocks would skip more, but small products lose more to per-call overhead than they save (at T = 64,
/// two blocks of 32 were no faster than one product: `bench --configs S`).
///
///     causalRowBlocks(256)   // [0..<64, 64..<128, 128..<192, 192..<256]
///     causalRowBlocks(130)   // [0..<64, 64..<128, 128..<130]
///     causalRowBlocks(64)    // [0..<64]
public func causalRowBlocks(_ rows: Int) -> [Range<Int>] {
    let size = max(64, (rows / 4 + 7) / 8 * 8)
    return stride(from: 0, to: rows, by: size).map { $0..<min(rows, $0 + size) }
}
