// The CPU backend: host memory from BufferPool, products through OpenBLAS (BLAS.swift), and loops of
// eight floats at a time (VectorMath.swift) for everything else, one file per family of kernels.
// This file has memory, host copies and the products; the attention products skip what a causal mask
// throws away (block by block: CausalBlocks.swift), and a batch of products too small for OpenBLAS to thread is shared between threads
// (`BLAS.forEachProduct`).

public final class CPUBackend: Backend {
    public static let shared = CPUBackend()

    public var name: String { "CPU (OpenBLAS \(BLAS.coreName), \(BLAS.threadCount) thread(s))" }

    // MARK: Memory

    public func allocate(count: Int) -> AnyObject { HostMemory(count: count) }

    public func copy(fromHost source: UnsafeBufferPointer<Float>, to storage: Storage, at element: Int) {
        guard let base = source.baseAddress else { return }
        (storage.pointer + element).update(from: base, count: source.count)
    }

    public func copy(_ storage: Storage, range: Range<Int>, toHost destination: UnsafeMutableBufferPointer<Float>) {
        guard let base = destination.baseAddress else { return }
        base.initialize(from: storage.pointer + range.lowerBound, count: range.count)
    }

    public func fill(_ storage: Storage, with value: Float) { storage.pointer.update(repeating: value, count: storage.count) }

    public func copy(_ x: Storage, to y: Storage) {
        precondition(x.count == y.count, "copy of \(x.count) floats into \(y.count)")
        y.pointer.update(from: x.pointer, count: x.count)
    }

    /// The CPU's buffers are host memory: lent in place, no copy.
    public func withHostBuffer(_ storage: Storage, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    // MARK: Products

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: MatrixOperand,
                     b: MatrixOperand, beta: Float, c: MatrixOperand, batch: Int) {
        let pa = a.storage.pointer + a.offset, pb = b.storage.pointer + b.offset, pc = c.storage.pointer + c.offset
        BLAS.forEachProduct(batch: batch, size: m * n * k) { i in
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: pa + i * a.batchStride, lda: a.leadingDimension, b: pb + i * b.batchStride, ldb: b.leadingDimension,
                      beta: beta, c: pc + i * c.batchStride, ldc: c.leadingDimension)
        }
    }

    /// Causal, the query rows go in blocks (`causalQueryBlocks`) and the block of rows [r0, r1) is multiplied
    /// by keys 0 ..< offset + r1 only; the softmax then writes exact zeros over the rest.
    public func attentionWeights(queries: Storage, keys: Storage, keysBatchStride: Int, out: Storage, batch: Int,
                                 m: Int, n: Int, d: Int, causal: CausalMask?, scale: Float) {
        precondition(causal.map { $0.queries == m && $0.fits(keys: n) } ?? true, "causal mask \(causal!) for \(m) x \(n) scores")
        let blocks = causalQueryBlocks(queries: m, keys: n, causal: causal)
        BLAS.forEachProduct(batch: batch, size: m * n * d) { i in
            let q = queries.pointer + i * m * d, k = keys.pointer + i * keysBatchStride, o = out.pointer + i * m * n
            for (rows, visible) in blocks {   // S[rows, visible] = Q[rows] K[visible]^T
                BLAS.gemm(transposeB: true, m: rows.count, n: visible, k: d, a: q + rows.lowerBound * d, b: k, beta: 0,
                          c: o + rows.lowerBound * n, ldc: n)
            }
        }
        // In place; causal, it reads only the computed entries and writes exact zeros over the masked ones.
        softmax(out, out: out, rows: batch * m, columns: n, causal: causal, scale: scale)
    }

    ///     dS = scale * P * (dP - rowsum(P * dP))     (the softmax backward, into `scratch`)
    ///     dQ = dS K,   dK = dS^T Q                    (the products' backward, the same blocks)
    public func attentionWeightsBackward(probabilities: Storage, _ g: Storage, queries: Storage, keys: Storage,
                                         queriesGrad: Storage?, keysGrad: Storage?, scratch: Storage, batch: Int,
                                         m: Int, n: Int, d: Int, causal: CausalMask?, scale: Float) {
        softmaxBackward(output: probabilities, g, xGrad: scratch, rows: batch * m, columns: n, causal: causal, scale: scale)
        let rowBlocks = causalQueryBlocks(queries: m, keys: n, causal: causal)
        let keyBlocks = causalKeyBlocks(queries: m, keys: n, causal: causal)
        BLAS.forEachProduct(batch: batch, size: m * n * d) { i in
            let dS = scratch.pointer + i * m * n, q = queries.pointer + i * m * d, k = keys.pointer + i * n * d
            if let queriesGrad {   // dQ[rows] = dS[rows, visible] K[visible]
                let dq = queriesGrad.pointer + i * m * d
                for (rows, visible) in rowBlocks {
                    BLAS.gemm(m: rows.count, n: d, k: visible, a: dS + rows.lowerBound * n, lda: n, b: k, beta: 0,
                              c: dq + rows.lowerBound * d)
                }
            }
            if let keysGrad {   // dK[keys] = dS[first..<m, keys]^T Q[first..<m]: rows before `first` cannot see them
                let dk = keysGrad.pointer + i * n * d
                for (columns, first) in keyBlocks {
                    if first == m { (dk + columns.lowerBound * d).update(repeating: 0, count: columns.count * d); continue }
                    BLAS.gemm(transposeA: true, m: columns.count, n: d, k: m - first, a: dS + first * n + columns.lowerBound,
                              lda: n, b: q + first * d, beta: 0, c: dk + columns.lowerBound * d)
                }
            }
        }
    }

    /// The block of query rows [r0, r1) reads values 0 ..< offset + r1 only: the weights beyond are 0.
    public func weightedSum(weights: Storage, values: Storage, valuesBatchStride: Int, out: Storage, batch: Int,
                            m: Int, n: Int, d: Int, causal: CausalMask) {
        precondition(causal.queries == m && causal.fits(keys: n), "causal mask \(causal) for \(m) x \(n) weights")
        let blocks = causalQueryBlocks(queries: m, keys: n, causal: causal)
        BLAS.forEachProduct(batch: batch, size: m * n * d) { i in
            let w = weights.pointer + i * m * n, v = values.pointer + i * valuesBatchStride, o = out.pointer + i * m * d
            for (rows, visible) in blocks {
                BLAS.gemm(m: rows.count, n: d, k: visible, a: w + rows.lowerBound * n, lda: n,
                          b: v, beta: 0, c: o + rows.lowerBound * d)
            }
        }
    }

    ///     dW[rows, 0 ..< offset + r1] = dOut[rows] V[visible]^T     (the masked rest of dW is written 0)
    ///     dV[keys] = W[first ..< m, keys]^T dOut[first ..< m]
    public func weightedSumBackward(_ g: Storage, weights: Storage, values: Storage, weightsGrad: Storage?,
                                    valuesGrad: Storage?, batch: Int, m: Int, n: Int, d: Int, causal: CausalMask) {
        let rowBlocks = causalQueryBlocks(queries: m, keys: n, causal: causal)
        let keyBlocks = causalKeyBlocks(queries: m, keys: n, causal: causal)
        BLAS.forEachProduct(batch: batch, size: m * n * d) { i in
            let gi = g.pointer + i * m * d, w = weights.pointer + i * m * n, v = values.pointer + i * n * d
            if let weightsGrad {
                let dw = weightsGrad.pointer + i * m * n
                for (rows, visible) in rowBlocks {
                    BLAS.gemm(transposeB: true, m: rows.count, n: visible, k: d, a: gi + rows.lowerBound * d, b: v, beta: 0,
                              c: dw + rows.lowerBound * n, ldc: n)
                    if visible < n { for r in rows { (dw + r * n + visible).update(repeating: 0, count: n - visible) } }
                }
            }
            if let valuesGrad {
                let dv = valuesGrad.pointer + i * n * d
                for (columns, first) in keyBlocks {
                    if first == m { (dv + columns.lowerBound * d).update(repeating: 0, count: columns.count * d); continue }
                    BLAS.gemm(transposeA: true, m: columns.count, n: d, k: m - first, a: w + first * n + columns.lowerBound,
                              lda: n, b: gi + first * d, beta: 0, c: dv + columns.lowerBound * d)
                }
            }
        }
    }
}
