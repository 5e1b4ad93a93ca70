// Matrix products: `matmul` (plain and batched), `causalMatmul` (attention weights @ values, skipping the
// masked blocks) and `linear` (x @ W^T + b, PyTorch's nn.Linear). Every product is one cblas_sgemm per batch
// element (per row block for causalMatmul); transposes are flags, never copies.
//
// For C = op(A) op(B) the chain rule gives dop(A) = dC op(B)^T and dop(B) = op(A)^T dC. Written out for
// each transpose flag, every gradient is again one gemm, added into the input's gradient (beta = 1), or
// written over a fresh buffer when it is the first to arrive (beta = 0: see `Tensor.gradDestination`).

/// (..., M, K) @ (..., K, N) -> (..., M, N).
///
/// `a` and `b` either have the same leading (batch) dimensions, or one of them is a plain matrix that is
/// used for every batch element. With `transposeA` the last two axes of `a` are read swapped (it is stored
/// (..., K, M)); likewise `transposeB` reads `b` stored (..., N, K). Example: attention scores are
/// `matmul(q, k, transposeB: true)`, (B,T,hs) @ (B,hs,T) -> (B,T,T).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.shape.count >= 2 && b.shape.count >= 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
    let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
    precondition(aBatch == bBatch || aBatch.isEmpty || bBatch.isEmpty,
                 "matmul batch dimensions differ: \(a.shape) and \(b.shape)")
    let (aRows, aColumns) = (a.shape[a.shape.count - 2], a.shape[a.shape.count - 1])
    let (bRows, bColumns) = (b.shape[b.shape.count - 2], b.shape[b.shape.count - 1])
    let (m, k) = transposeA ? (aColumns, aRows) : (aRows, aColumns)
    let (kB, n) = transposeB ? (bColumns, bRows) : (bRows, bColumns)
    precondition(k == kB, "matmul inner dimensions differ: \(a.shape) and \(b.shape)")

    // A batch of A's against one shared B (a Linear layer): one big gemm over all B*T rows.
    if bBatch.isEmpty && !aBatch.isEmpty && !transposeA {
        let rows = aBatch.reduce(1, *) * m
        return matmul2D(a, b, outShape: aBatch + [m, n], m: rows, n: n, k: k, transposeA: false, transposeB: transposeB)
    }
    let batchShape = aBatch.isEmpty ? bBatch : aBatch
    let batch = batchShape.reduce(1, *)
    let strideA = aBatch.isEmpty ? 0 : m * k, strideB = bBatch.isEmpty ? 0 : k * n, strideC = m * n

    let out = Tensor.result(batchShape + [m, n], of: [a, b]) { out in
        let g = out.grad!.pointer
        for i in 0..<batch {
            let gi = g + i * strideC, ai = a.storage.pointer + i * strideA, bi = b.storage.pointer + i * strideB
            if a.requiresGrad {
                let da = a.gradStorage().pointer + i * strideA
                if !transposeA { BLAS.gemm(transposeB: !transposeB, m: m, n: k, k: n, a: gi, b: bi, beta: 1, c: da) }
                else { BLAS.gemm(transposeA: transposeB, transposeB: true, m: k, n: m, k: n, a: bi, b: gi, beta: 1, c: da) }
            }
            if b.requiresGrad {
                let db = b.gradStorage().pointer + i * strideB
                if !transposeB { BLAS.gemm(transposeA: !transposeA, m: k, n: n, k: m, a: ai, b: gi, beta: 1, c: db) }
                else { BLAS.gemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: m, a: gi, b: ai, beta: 1, c: db) }
            }
        }
    }
    for i in 0..<batch {
        BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a: a.storage.pointer + i * strideA, b: b.storage.pointer + i * strideB,
                  beta: 0, c: out.storage.pointer + i * strideC)
    }
    return out
}

/// Attention's weighted sum of the values, `weights @ values`, for causal weights: (..., T, T) @ (..., T, hs).
///
/// The caller promises that `weights` is lower triangular (query i gives weight exactly 0 to keys j > i,
/// as a causal softmax, with or without dropout after it, leaves it). So, as in `softmaxOfProducts`, the
/// query rows go in blocks (`causalRowBlocks`) and the block of rows [r0, r1) reads values 0..<r1 only.
/// The same numbers as `matmul(weights, values)` (tested), with 62.5% of the work at T = 256.
///
///     backward:  dW[rows, 0..<r1] += dOut[rows] @ V[0..<r1]^T      (dW's skipped tiles get nothing: those
///                dV[cols] += W[c0..<T, cols]^T @ dOut[c0..<T]        weights are 0 whatever the parameters)
public func causalMatmul(_ weights: Tensor, _ values: Tensor) -> Tensor {
    let t = weights.shape.last!, size = values.shape.last!
    precondition(weights.shape.count >= 2 && weights.shape[weights.shape.count - 2] == t
                    && values.shape.dropLast() == weights.shape.dropLast(),
                 "causalMatmul needs (..., T, T) weights and (..., T, hs) values, got \(weights.shape) and \(values.shape)")
    let batch = weights.count / max(1, t * t), blocks = causalRowBlocks(t)
    let out = Tensor.result(values.shape, of: [weights, values]) { out in
        let g = out.grad!.pointer
        let valuesGrad = values.requiresGrad ? values.gradDestination() : nil   // the column blocks cover all of dV
        for i in 0..<batch {
            let gi = g + i * t * size, wi = weights.storage.pointer + i * t * t, vi = values.storage.pointer + i * t * size
            if weights.requiresGrad {
                let dw = weights.gradStorage().pointer + i * t * t
                for rows in blocks {
                    BLAS.gemm(transposeB: true, m: rows.count, n: rows.upperBound, k: size, a: gi + rows.lowerBound * size,
                              b: vi, beta: 1, c: dw + rows.lowerBound * t, ldc: t)
                }
            }
            if let valuesGrad {
                let dv = valuesGrad.storage.pointer + i * t * size
                for columns in blocks {
                    let first = columns.lowerBound
                    BLAS.gemm(transposeA: true, m: columns.count, n: size, k: t - first, a: wi + first * t + first, lda: t,
                              b: gi + first * size, beta: valuesGrad.beta, c: dv + first * size)
                }
            }
        }
    }
    for i in 0..<batch {
        let wi = weights.storage.pointer + i * t * t, vi = values.storage.pointer + i * t * size
        for rows in blocks {
            BLAS.gemm(m: rows.count, n: size, k: rows.upperBound, a: wi + rows.lowerBound * t, lda: t, b: vi, beta: 0,
                      c: out.storage.pointer + i * t * size + rows.lowerBound * size)
        }
    }
    return out
}

/// One gemm: `a` viewed as an (m, k) matrix (or (k, m) when transposed) against the matrix `b`.
private func matmul2D(_ a: Tensor, _ b: Tensor, outShape: [Int], m: Int, n: Int, k: Int,
                      transposeA: Bool, transposeB: Bool) -> Tensor {
    let out = Tensor.result(outShape, of: [a, b]) { out in
        let g = out.grad!.pointer
        if a.requiresGrad {   // dA = dC op(B)^T
            let (da, beta) = a.gradDestination()
            BLAS.gemm(transposeB: !transposeB, m: m, n: k, k: n, a: g, b: b.storage.pointer, beta: beta, c: da.pointer)
        }
        if b.requiresGrad {   // dB = A^T dC, or (dC^T A) when B is stored transposed
            let (db, beta) = b.gradDestination()
            if !transposeB { BLAS.gemm(transposeA: true, m: k, n: n, k: m, a: a.storage.pointer, b: g, beta: beta, c: db.pointer) }
            else { BLAS.gemm(transposeA: true, m: n, n: k, k: m, a: g, b: a.storage.pointer, beta: beta, c: db.pointer) }
        }
    }
    BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
              a: a.storage.pointer, b: b.storage.pointer, beta: 0, c: out.storage.pointer)
    return out
}

/// y = x @ W^T + b: x (..., in), weight (out, in) as PyTorch stores it, bias (out) -> (..., out).
///
/// Fused: the bias is copied into every output row first and the gemm adds onto it (beta = 1), so the bias
/// costs no separate pass over the output.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let inputs = x.shape.last!, outputs = weight.shape[0]
    precondition(weight.shape == [outputs, inputs], "linear: weight \(weight.shape) does not take inputs \(x.shape)")
    precondition(bias == nil || bias!.shape == [outputs], "linear: bias \(bias!.shape) for \(outputs) outputs")
    let rows = x.count / inputs
    let out = Tensor.result(Array(x.shape.dropLast()) + [outputs], of: bias.map { [x, weight, $0] } ?? [x, weight]) { out in
        let g = out.grad!
        if x.requiresGrad {   // dx (rows, in) += dy (rows, out) @ W (out, in)
            let (dx, beta) = x.gradDestination()
            BLAS.gemm(m: rows, n: inputs, k: outputs, a: g.pointer, b: weight.storage.pointer, beta: beta, c: dx.pointer)
        }
        if weight.requiresGrad {   // dW (out, in) += dy^T (out, rows) @ x (rows, in)
            BLAS.gemm(transposeA: true, m: outputs, n: inputs, k: rows, a: g.pointer, b: x.storage.pointer,
                      beta: 1, c: weight.gradStorage().pointer)
        }
        if let bias, bias.requiresGrad { Kernels.addBroadcastBackward(g, aGrad: nil, bGrad: bias.gradStorage()) }
    }
    if let bias { Kernels.repeatRows(bias.storage, into: out.storage) }
    BLAS.gemm(transposeB: true, m: rows, n: outputs, k: inputs, a: x.storage.pointer, b: weight.storage.pointer,
              beta: bias == nil ? 0 : 1, c: out.storage.pointer)
    return out
}
