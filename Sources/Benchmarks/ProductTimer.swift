// Which part of a training step is matrix products: for the length of one `measure`, BLAS's two entry
// points are swapped for wrappers that time every call. The library's own `gemm` never times anything.
import COpenBLAS
import Foundation
import Synchronization
import TensorCore

enum ProductTimer {
    /// One product's shape as OpenBLAS sees it (sgemv: m = 1).
    struct Shape: Hashable, Comparable {
        let m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool
        static func < (a: Shape, b: Shape) -> Bool { (a.m, a.n, a.k) < (b.m, b.n, b.k) }
    }
    struct Totals { var seconds = 0.0, calls = 0 }
    struct Measurement {
        var seconds = 0.0        // wall time while at least one product ran (side-by-side products count once)
        var flops = 0.0          // 2 m n k per product
        var byShape: [Shape: Totals] = [:]   // each call's own time, summed per shape
    }
    private struct State { var running = 0, since: UInt64 = 0, measurement = Measurement() }
    private static let state = Mutex(State())

    /// Runs `body` with every product timed.
    static func measure(_ body: () -> Void) -> Measurement {
        state.withLock { $0 = State() }
        BLAS.sgemm = { order, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            let start = ProductTimer.begin()
            cblas_sgemm(order, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            ProductTimer.end(start, Shape(m: Int(m), n: Int(n), k: Int(k), transposeA: transposeA.rawValue == CblasTrans.rawValue,
                                          transposeB: transposeB.rawValue == CblasTrans.rawValue))
        }
        BLAS.sgemv = { order, transpose, rows, columns, alpha, a, lda, x, incx, beta, y, incy in
            let start = ProductTimer.begin()
            cblas_sgemv(order, transpose, rows, columns, alpha, a, lda, x, incx, beta, y, incy)
            let transposed = transpose.rawValue == CblasTrans.rawValue   // y (columns) = A^T x: n outputs of k inputs
            ProductTimer.end(start, Shape(m: 1, n: Int(transposed ? columns : rows), k: Int(transposed ? rows : columns),
                                          transposeA: false, transposeB: !transposed))
        }
        body()
        BLAS.sgemm = cblas_sgemm
        BLAS.sgemv = cblas_sgemv
        return state.withLock { $0.measurement }
    }

    /// The summed time of the Linear layers' products: in this model every one of them, forward, dX and dW,
    /// has the batch's B x T rows as its m or its k, and no attention tile does (a tile has at most one
    /// sequence's T rows).
    static func linearSeconds(_ measurement: Measurement, rows: Int) -> Double {
        measurement.byShape.filter { $0.key.m == rows || $0.key.k == rows }.values.reduce(0) { $0 + $1.seconds }
    }

    private static func begin() -> UInt64 {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { if $0.running == 0 { $0.since = now }; $0.running += 1 }
        return now
    }

    private static func end(_ start: UInt64, _ shape: Shape) {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { s in
            s.running -= 1
            if s.running == 0 { s.measurement.seconds += Double(now - s.since) * 1e-9 }
            s.measurement.flops += 2 * Double(shape.m) * Double(shape.n) * Double(shape.k)
            s.measurement.byShape[shape, default: Totals()].seconds += Double(now - start) * 1e-9
            s.measurement.byShape[shape, default: Totals()].calls += 1
        }
    }
}
