// Matrix products: `matmul` (plain and batched), `causalMatmul` (attention weights @ values, skipping the
// masked blocks) and `linear` (x @ W^T + b, PyTorch's nn.Linear). A batch of products is one strided
// batched gemm on the backend; transposes are flags, never copies.
//
// For C = op(A) op(B) the chain rule gives dop(A) = dC op(B)^T and dop(B) = op(A)^T dC. Written out for
// each transpose flag, every gradient is again one (batched) gemm.

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
        return matmul2D(a, b, outShape: aBatch + [m, n], m: rows, n: n, k: k, transposeB: transposeB)
    }
    let batchShape = aBatch.isEmpty ? bBatch : aBatch
    let batch = batchShape.reduce(1, *), backend = a.backend
    let strideA = aBatch.isEmpty ? 0 : m * k, strideB = bBatch.isEmpty ? 0 : k * n, strideC = m * n

    let out = Tensor.result(batchShape + [m, n], of: [a, b]) { out, grads in
        // Batch elements first ..< first + count of each operand.
        func operands(_ first: Int) -> (g: MatrixOperand, a: MatrixOperand, b: MatrixOperand) {
            (MatrixOperand(out.grad!, offset: first * strideC, batchStride: strideC),
             MatrixOperand(a.storage, offset: first * strideA, batchStride: strideA),
             MatrixOperand(b.storage, offset: first * strideB, batchStride: strideB))
        }
        // A batched operand's gradient is one batched product; a shared one sums over the batch, so the
        // first product writes it and the others add to it.
        func overBatch(_ gradient: Storage, stride: Int, _ product: (Int, Int, Float, MatrixOperand) -> Void) {
            if stride > 0 || batch == 1 { product(0, batch, 0, MatrixOperand(gradient, batchStride: stride)) }
            else { for i in 0..<batch { product(i, 1, i == 0 ? 0 : 1, MatrixOperand(gradient)) } }
        }
        if let da = grads.destination(for: a) {
            overBatch(da, stride: strideA) { first, count, beta, da in
                let (g, _, b) = operands(first)
                if !transposeA {   // dA (m, k) = dC op(B)^T
                    backend.gemm(transposeA: false, transposeB: !transposeB, m: m, n: k, k: n, alpha: 1, a: g, b: b,
                                 beta: beta, c: da, batch: count)
                } else {           // A stored (k, m): dA = op(B) dC^T
                    backend.gemm(transposeA: transposeB, transposeB: true, m: k, n: m, k: n, alpha: 1, a: b, b: g,
                                 beta: beta, c: da, batch: count)
                }
            }
        }
        if let db = grads.destination(for: b) {
            overBatch(db, stride: strideB) { first, count, beta, db in
                let (g, a, _) = operands(first)
                if !transposeB {   // dB (k, n) = op(A)^T dC
                    backend.gemm(transposeA: !transposeA, transposeB: false, m: k, n: n, k: m, alpha: 1, a: a, b: g,
                                 beta: beta, c: db, batch: count)
                } else {           // B stored (n, k): dB = dC^T op(A)
                    backend.gemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: m, alpha: 1, a: g, b: a,
                                 beta: beta, c: db, batch: count)
                }
            }
        }
    }
    backend.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                 a: MatrixOperand(a.storage, batchStride: strideA), b: MatrixOperand(b.storage, batchStride: strideB),
                 beta: 0, c: MatrixOperand(out.storage, batchStride: strideC), batch: batch)
    return out
}

/// Attention's weighted sum of the values, `weights @ values`, for causal weights: (..., T, T) @ (..., T, hs).
///
/// The caller promises that `weights` is lower triangular (query i gives weight exactly 0 to keys j > i,
/// as a causal softmax, with or without dropout after it, leaves it). So the backend cuts the query rows
/// into blocks (`causalRowBlocks`) and the block of rows [r0, r1) reads values 0..<r1 only: the same
/// numbers as `matmul(weights, values)` (tested), with 62.5% of the work at T = 256.
///
///     backward:  dW[rows, 0..<r1] = dOut[rows] @ V[0..<r1]^T      (dW is only defined where the mask keeps
///                dV[cols] = W[c0..<T, cols]^T @ dOut[c0..<T]        weights: the causal softmax's backward
///                                                                    reads nothing else; skipped tiles are 0)
public func causalMatmul(_ weights: Tensor, _ values: Tensor) -> Tensor {
    let t = weights.shape.last!, size = values.shape.last!
    precondition(weights.shape.count >= 2 && weights.shape[weights.shape.count - 2] == t
                    && values.shape.dropLast() == weights.shape.dropLast(),
                 "causalMatmul needs (..., T, T) weights and (..., T, hs) values, got \(weights.shape) and \(values.shape)")
    let batch = weights.count / max(1, t * t), backend = weights.backend, mask = CausalMask(queries: t)
    let out = Tensor.result(values.shape, of: [weights, values]) { out, grads in
        backend.weightedSumBackward(out.grad!, weights: weights.storage, values: values.storage,
                                    weightsGrad: grads.destination(for: weights), valuesGrad: grads.destination(for: values),
                                    batch: batch, m: t, n: t, d: size, causal: mask)
    }
    backend.weightedSum(weights: weights.storage, values: values.storage, valuesBatchStride: t * size, out: out.storage,
                        batch: batch, m: t, n: t, d: size, causal: mask)
    return out
}

/// One gemm: `a` viewed as an (m, k) matrix against the matrix `b` (or b^T when `transposeB`).
private func matmul2D(_ a: Tensor, _ b: Tensor, outShape: [Int], m: Int, n: Int, k: Int, transposeB: Bool) -> Tensor {
    let backend = a.backend
    let out = Tensor.result(outShape, of: [a, b]) { out, grads in
        let g = MatrixOperand(out.grad!)
        if let da = grads.destination(for: a) {   // dA = dC op(B)^T
            backend.gemm(transposeB: !transposeB, m: m, n: k, k: n, a: g, b: MatrixOperand(b.storage), beta: 0,
                         c: MatrixOperand(da))
        }
        if let db = grads.destination(for: b) {   // dB = A^T dC, or (dC^T A) when B is stored transposed
            if !transposeB {
                backend.gemm(transposeA: true, m: k, n: n, k: m, a: MatrixOperand(a.storage), b: g, beta: 0, c: MatrixOperand(db))
            } else {
                backend.gemm(transposeA: true, m: n, n: k, k: m, a: g, b: MatrixOperand(a.storage), beta: 0, c: MatrixOperand(db))
            }
        }
    }
    backend.gemm(transposeB: transposeB, m: m, n: n, k: k, a: MatrixOperand(a.storage), b: MatrixOperand(b.storage),
                 beta: 0, c: MatrixOperand(out.storage))
    return out
}

/// y = x @ W^T + b: x (..., in), weight (out, in) as PyTorch stores it, bias (out) -> (..., out).
///
/// Fused: the bias is copied into every output row first and the gemm adds onto it (beta = 1), so the bias
/// costs no separate pass over the output.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let inputs = x.shape.last!, outputs = weight.shape[0], backend = x.backend
    precondition(weight.shape == [outputs, inputs], "linear: weight \(weight.shape) does not take inputs \(x.shape)")
    precondition(bias == nil || bias!.shape == [outputs], "linear: bias \(bias!.shape) for \(outputs) outputs")
    let rows = x.count / inputs
    let out = Tensor.result(Array(x.shape.dropLast()) + [outputs], of: bias.map { [x, weight, $0] } ?? [x, weight]) { out, grads in
        let g = MatrixOperand(out.grad!)
        if let dx = grads.destination(for: x) {        // dx (rows, in) = dy (rows, out) @ W (out, in)
            backend.gemm(m: rows, n: inputs, k: outputs, a: g, b: MatrixOperand(weight.storage), beta: 0, c: MatrixOperand(dx))
        }
        if let dw = grads.destination(for: weight) {   // dW (out, in) = dy^T (out, rows) @ x (rows, in)
            backend.gemm(transposeA: true, m: outputs, n: inputs, k: rows, a: g, b: MatrixOperand(x.storage), beta: 0,
                         c: MatrixOperand(dw))
        }
        if let bias, let db = grads.destination(for: bias) { backend.sumRepetitions(out.grad!, out: db) }
    }
    if let bias { backend.repeatRows(bias.storage, into: out.storage) }
    backend.gemm(transposeB: true, m: rows, n: outputs, k: inputs, a: MatrixOperand(x.storage),
                 b: MatrixOperand(weight.storage), beta: bias == nil ? 0 : 1, c: MatrixOperand(out.storage))
    return out
}
