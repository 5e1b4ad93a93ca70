// The CPU backend's products: every matrix product goes through `BLAS.gemm`, one call to OpenBLAS:
// cblas_sgemm, or cblas_sgemv when the product has a single row. Transposes are passed as flags, never
// materialized; leading dimensions let a call work on a block inside a larger matrix.
import COpenBLAS
import Foundation

public enum BLAS {
    /// OpenBLAS worker threads. Defaults to all cores; `--threads` in every chapter sets it.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The CPU kernel OpenBLAS picked at start-up (for example "Zen" or "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// When true, every gemm call adds its wall time and FLOPs here, so a benchmark can compare a whole
    /// training step with the matrix products inside it.
    nonisolated(unsafe) public static var isTiming = false
    nonisolated(unsafe) public static var timedSeconds = 0.0
    nonisolated(unsafe) public static var timedFlops = 0.0

    /// C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is M x K, op(B) is K x N, C is M x N.
    /// A is stored M x K, or K x M when `transposeA`; B is stored K x N, or N x K when `transposeB`.
    /// The leading dimensions (the distance between rows) default to the row lengths; pass them to work on
    /// a block inside a larger matrix, as the causal attention products do.
    @inline(__always)
    public static func gemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                            b: UnsafePointer<Float>, ldb: Int? = nil,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        guard m > 0, n > 0 else { return }
        let start = isTiming ? DispatchTime.now().uptimeNanoseconds : 0
        if m == 1 {
            // One row (a single token at generation): a matrix-vector product. sgemm would first copy ("pack")
            // all of B, which costs more than the product itself; sgemv reads B where it lies.
            // c (N) = op(B)^T a:  B stored N x K (transposed) is used as is, B stored K x N is read transposed.
            // (With transposeA, the one row of op(A) is a column of A: its elements lie lda apart.)
            let strideA = transposeA ? (lda ?? m) : 1
            cblas_sgemv(CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, Int32(transposeB ? n : k),
                        Int32(transposeB ? k : n), alpha, b, Int32(ldb ?? (transposeB ? k : n)), a, Int32(strideA),
                        beta, c, 1)
        } else {
            cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha,
                        a, Int32(lda ?? (transposeA ? m : k)), b, Int32(ldb ?? (transposeB ? k : n)),
                        beta, c, Int32(ldc ?? n))
        }
        if isTiming {
            timedSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            timedFlops += 2 * Double(m) * Double(n) * Double(k)
        }
    }
}
