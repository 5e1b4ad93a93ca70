// Attention without the T x T matrix (chapter 05b): softmax(scale Q K^T) V computed a tile at a time.
//
// For a block of query rows, the keys are visited a block at a time. Each row keeps its largest score so
// far (m), the sum of exp(scale (s - m)) so far (l) and the weighted sum of values so far (o, in place in
// the output). A new block's scores may raise m: then l and o are first multiplied by exp(scale (old m -
// new m)), so everything stays relative to the current maximum (the online softmax; NaiveKernels
// .onlineAttention is the same thing for one row, as plain loops). At the end o / l is the output, and
// only scale m + log l, the row's log-sum-exp, is kept for the backward. Every tile's two products are
// sgemm calls on blocks that stay in the core's cache; tiles above the causal diagonal are never visited.
//
// The backward recomputes each tile's probabilities from the saved log-sum-exp, P = exp(scale S - lse),
// instead of reading stored ones, and forms the same gradients as the weights path does:
//     dV += P^T dO      dP = dO V^T      dS = scale P (dP - D)   with D = rowsum(dO * O)
//     dQ += dS K        dK += dS^T Q
// (rowsum(P dP) = dO . (P V) = dO . O, so D needs no weights either.)
//
// A head whose scores are a single tile (short contexts) keeps that tile's weights instead of the
// log-sum-exp, and its backward reads them: there is no T x T matrix to avoid, and recomputing costs time.
import Foundation

extension CPUBackend {
    /// Query rows per tile.
    public static let queryTile = 64
    /// Keys per tile: as many as keep a tile's products (64 x keys x d) small enough that OpenBLAS runs each
    /// on its caller's thread (`BLAS.largestUnthreadedProduct`), so that the heads can be split between
    /// threads here: 64 keys at head size 64, 128 at 32.
    public static func keyTile(headSize d: Int) -> Int {
        max(32, min(256, BLAS.largestUnthreadedProduct / (queryTile * d) / 8 * 8))
    }

    /// Whether a head's (m, n) scores are one tile (T up to 64 at head size 64, chapter 05's T = 64 at 32).
    /// Then there is no T x T matrix to avoid: the forward keeps the tile's weights, as small as a tile,
    /// and the backward reads them instead of computing them again (which cost chapter 05's model about 4%
    /// of its step: `bench --time-steps 200 --configs S`, eight interleaved rounds).
    static func isOneTile(m: Int, n: Int, d: Int) -> Bool { m <= queryTile && n <= keyTile(headSize: d) }

    /// The multiply-adds of a head's largest tile product, which decide whether its batch is worth splitting
    /// between threads (`BLAS.forEachProduct`): the tile's, or the whole head's when it is smaller. At T = 8
    /// (config T) the heads' 8 x 8 x 32 products are too little work to wake a second thread for.
    static func largestTileProduct(m: Int, n: Int, d: Int) -> Int { min(queryTile, m) * min(keyTile(headSize: d), n) * d }

    /// The log-sum-exp of every row, or a one-tile head's weights.
    public func tiledAttentionSavedCount(batch: Int, m: Int, n: Int, d: Int) -> Int {
        Self.isOneTile(m: m, n: n, d: d) ? batch * m * n : batch * m
    }

    public func tiledAttention(queries: Storage, keys: Storage, values: Storage, keysBatchStride: Int, out: Storage,
                               saved: Storage, batch: Int, m: Int, n: Int, d: Int, causal: CausalMask, scale: Float) {
        precondition(causal.queries == m && causal.fits(keys: n), "causal mask \(causal) for \(m) x \(n) scores")
        let (tile, keyTile, oneTile) = (Self.queryTile, Self.keyTile(headSize: d), Self.isOneTile(m: m, n: n, d: d))
        BLAS.forEachProduct(batch: batch, size: Self.largestTileProduct(m: m, n: n, d: d)) { i in
            let q = queries.pointer + i * m * d, k = keys.pointer + i * keysBatchStride, v = values.pointer + i * keysBatchStride
            let o = out.pointer + i * m * d, lse = saved.pointer + i * m
            withUnsafeTemporaryAllocation(of: Float.self, capacity: tile * keyTile + 2 * tile) { scratch in
                let maxima = scratch.baseAddress! + tile * keyTile, sums = maxima + tile
                // The scores' tile: scratch, or for a one-tile head its place in `saved`, kept for the backward.
                let (s, ls) = oneTile ? (saved.pointer + i * m * n, n) : (scratch.baseAddress!, keyTile)
                for r0 in stride(from: 0, to: m, by: tile) {
                    let rows = min(tile, m - r0), visible = causal.offset + r0 + rows
                    maxima.update(repeating: -.infinity, count: rows)
                    sums.update(repeating: 0, count: rows)
                    (o + r0 * d).update(repeating: 0, count: rows * d)
                    for c0 in stride(from: 0, to: visible, by: keyTile) {
                        let columns = min(keyTile, visible - c0)
                        // S = Q[rows] K[columns]^T, raw scores (rows, columns), rows `tile` apart.
                        BLAS.gemm(transposeB: true, m: rows, n: columns, k: d, a: q + r0 * d, b: k + c0 * d, beta: 0,
                                  c: s, ldc: ls)
                        for r in 0..<rows {
                            let row = s + r * ls
                            // The keys of this tile that row r may see: up to its own position.
                            let seen = Swift.min(columns, causal.offset + r0 + r + 1 - c0)
                            guard seen > 0 else { row.update(repeating: 0, count: columns); continue }
                            let newMax = Swift.max(maxima[r], VectorMath.maximum(row, seen))
                            if oneTile {   // the row's only tile: nothing so far to correct
                                sums[r] = VectorMath.shiftedExp(row, shift: newMax, scale: scale, out: row, seen)
                            } else {
                                let correction = VectorMath.exp(Float8(repeating: (maxima[r] - newMax) * scale))[0]
                                sums[r] = sums[r] * correction + VectorMath.shiftedExp(row, shift: newMax, scale: scale, out: row, seen)
                                if correction != 1 { VectorMath.scale(o + (r0 + r) * d, by: correction, d) }
                            }
                            if seen < columns { (row + seen).update(repeating: 0, count: columns - seen) }
                            maxima[r] = newMax
                        }
                        // o[rows] += P V[columns]
                        BLAS.gemm(m: rows, n: d, k: columns, a: s, lda: ls, b: v + c0 * d, beta: 1, c: o + r0 * d)
                    }
                    for r in 0..<rows {
                        VectorMath.scale(o + (r0 + r) * d, by: 1 / sums[r], d)
                        if oneTile { VectorMath.scale(s + r * ls, by: 1 / sums[r], n) }   // the weights themselves
                        else { lse[r0 + r] = maxima[r] * scale + log(sums[r]) }
                    }
                }
            }
        }
    }

    public func tiledAttentionBackward(_ g: Storage, queries: Storage, keys: Storage, values: Storage, out: Storage,
                                       saved: Storage, queriesGrad: Storage?, keysGrad: Storage?, valuesGrad: Storage?,
                                       batch: Int, m: Int, n: Int, d: Int, causal: CausalMask, scale: Float) {
        let (tile, keyTile, oneTile) = (Self.queryTile, Self.keyTile(headSize: d), Self.isOneTile(m: m, n: n, d: d))
        BLAS.forEachProduct(batch: batch, size: Self.largestTileProduct(m: m, n: n, d: d)) { i in
            let q = queries.pointer + i * m * d, k = keys.pointer + i * n * d, v = values.pointer + i * n * d
            let o = out.pointer + i * m * d, dO = g.pointer + i * m * d, lse = saved.pointer + i * m
            let dq = queriesGrad.map { $0.pointer + i * m * d }, dk = keysGrad.map { $0.pointer + i * n * d }
            let dv = valuesGrad.map { $0.pointer + i * n * d }
            dq?.update(repeating: 0, count: m * d)
            dk?.update(repeating: 0, count: n * d)
            dv?.update(repeating: 0, count: n * d)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * tile * keyTile + tile) { scratch in
                let dS = scratch.baseAddress! + tile * keyTile, rowDot = dS + tile * keyTile
                // The weights' tile: recomputed into scratch, or a one-tile head's, kept by the forward.
                let (p, lp) = oneTile ? (saved.pointer + i * m * n, n) : (scratch.baseAddress!, keyTile)
                for r0 in stride(from: 0, to: m, by: tile) {
                    let rows = min(tile, m - r0), visible = causal.offset + r0 + rows
                    for r in 0..<rows { rowDot[r] = VectorMath.dot(dO + (r0 + r) * d, o + (r0 + r) * d, d) }   // D
                    for c0 in stride(from: 0, to: visible, by: keyTile) {
                        let columns = min(keyTile, visible - c0)
                        if !oneTile {   // P = exp(scale Q K^T - lse), recomputed; masked entries 0.
                            BLAS.gemm(transposeB: true, m: rows, n: columns, k: d, a: q + r0 * d, b: k + c0 * d, beta: 0,
                                      c: p, ldc: lp)
                            for r in 0..<rows {
                                let row = p + r * lp
                                let seen = Swift.max(0, Swift.min(columns, causal.offset + r0 + r + 1 - c0))
                                _ = VectorMath.shiftedExp(row, shift: lse[r0 + r] / scale, scale: scale, out: row, seen)
                                if seen < columns { (row + seen).update(repeating: 0, count: columns - seen) }
                            }
                        }
                        if let dv {   // dV[columns] += P^T dO[rows]
                            BLAS.gemm(transposeA: true, m: columns, n: d, k: rows, a: p, lda: lp, b: dO + r0 * d, beta: 1,
                                      c: dv + c0 * d)
                        }
                        guard dq != nil || dk != nil else { continue }
                        // dP = dO[rows] V[columns]^T, then dS = scale P (dP - D) in place.
                        BLAS.gemm(transposeB: true, m: rows, n: columns, k: d, a: dO + r0 * d, b: v + c0 * d, beta: 0,
                                  c: dS, ldc: keyTile)
                        for r in 0..<rows {
                            let pr = p + r * lp, dr = dS + r * keyTile, shift = rowDot[r]
                            for j in 0..<columns { dr[j] = scale * pr[j] * (dr[j] - shift) }
                        }
                        if let dq {   // dQ[rows] += dS K[columns]
                            BLAS.gemm(m: rows, n: d, k: columns, a: dS, lda: keyTile, b: k + c0 * d, beta: 1, c: dq + r0 * d)
                        }
                        if let dk {   // dK[columns] += dS^T Q[rows]
                            BLAS.gemm(transposeA: true, m: columns, n: d, k: rows, a: dS, lda: keyTile, b: q + r0 * d, beta: 1,
                                      c: dk + c0 * d)
                        }
                    }
                }
            }
        }
    }
}
