// The CPU backend's products: every matrix product goes through `BLAS.gemm`, one call to OpenBLAS:
// cblas_sgemm, or cblas_sgemv when the product has a single row. Transposes are passed as flags, never
// materialized; leading dimensions let a call work on a block inside a larger matrix. A batch of products
// too small for OpenBLAS to thread is split between threads here (`forEachProduct`).
import COpenBLAS
import Foundation
import Synchronization

public enum BLAS {
    /// OpenBLAS worker threads. Defaults to all cores; `--threads` in every chapter sets it.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Threads that `lendingCores` has taken from OpenBLAS for kernels of our own (0 outside it).
    nonisolated(unsafe) public private(set) static var lentThreads = 0

    /// Runs `body` with OpenBLAS on one thread, lending the other cores to kernels that split their work
    /// themselves (the int8 products, which share each product with one helper thread: Int8Sharing.c,
    /// chapter 08); with `lend` false, or a single thread, runs it as it is. Two pools polling for work on
    /// the same cores slow each other down: with both, config M's int8 stream ran at half the speed of one
    /// thread. OpenBLAS's thread count is the process's, so lend from one thread at a time (one stream
    /// decoding), as generation does.
    @inline(__always)
    public static func lendingCores<T>(if lend: Bool, _ body: () -> T) -> T {
        let threads = threadCount
        guard lend, threads > 1, lentThreads == 0 else { return body() }
        openblas_set_num_threads(1)
        lentThreads = threads - 1
        defer { lentThreads = 0; openblas_set_num_threads(Int32(threads)) }
        return body()
    }

    /// The CPU kernel OpenBLAS picked at start-up (for example "Zen" or "Haswell").
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The two OpenBLAS entry points every product goes through. `bench` swaps in timed wrappers
    /// (Sources/Benchmarks/ProductTimer.swift) to see the products inside a training step; nothing else
    /// replaces them, and `gemm` itself never times anything.
    nonisolated(unsafe) public static var sgemm = cblas_sgemm
    nonisolated(unsafe) public static var sgemv = cblas_sgemv

    /// Batches that `forEachProduct` is running on several threads just now (0 or 1 in a training run;
    /// while one runs, any other batch runs on its caller's thread).
    private static let splitBatches = Atomic(0)

    /// OpenBLAS 0.3.21 computes a product of at most 65,536 x 4 multiply-adds (m n k <= 262,144) on the
    /// calling thread alone (interface/gemm.c). Attention's per-head products are that small at T = 64
    /// (config S: 64 x 64 x 32), so a batch of them would leave the other cores idle.
    public static let largestUnthreadedProduct = 262_144

    /// Runs `product(i)` for every i in 0 ..< batch, where each item's largest product has at most `size`
    /// = m n k multiply-adds, on `shareCount` threads: each takes a contiguous share of the batch. The
    /// items must write disjoint memory; each is computed exactly as it would be alone, so the results do
    /// not depend on the split (a test checks them bit for bit).
    static func forEachProduct(batch: Int, size: Int, _ product: (Int) -> Void) {
        let threads = shareCount(batch: batch, size: size, threads: threadCount)
        guard threads > 1, splitBatches.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged else {
            for i in 0..<batch { product(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: threads) { share in
            for i in (share * batch / threads)..<((share + 1) * batch / threads) { product(i) }
        }
        splitBatches.store(0, ordering: .releasing)
    }

    /// Threads for a batch of products: one per BLAS thread when OpenBLAS would run each product on one
    /// thread and the batch holds enough work to pay for waking the others (a million multiply-adds, about
    /// 50 µs on one core here); else 1. Config S's attention (48 products of 64 x 64 x 32 per layer) is split, and its
    /// training step took 12% less time for it (`bench --time-steps 200 --configs S`, six rounds against
    /// the build before, interleaved); T's products are too few and small, M's large enough for OpenBLAS.
    static func shareCount(batch: Int, size: Int, threads: Int) -> Int {
        guard threads > 1, batch > 1, size <= largestUnthreadedProduct, batch * size >= 1_000_000 else { return 1 }
        return Swift.min(threads, batch)
    }

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
        if m == 1 {
            // One row (a single token at generation): a matrix-vector product. sgemm would first copy ("pack")
            // all of B, which costs more than the product itself; sgemv reads B where it lies.
            // c (N) = op(B)^T a:  B stored N x K (transposed) is used as is, B stored K x N is read transposed.
            // (With transposeA, the one row of op(A) is a column of A: its elements lie lda apart.)
            let strideA = transposeA ? (lda ?? m) : 1
            sgemv(CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, Int32(transposeB ? n : k),
                        Int32(transposeB ? k : n), alpha, b, Int32(ldb ?? (transposeB ? k : n)), a, Int32(strideA),
                        beta, c, 1)
        } else {
            sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha,
                        a, Int32(lda ?? (transposeA ? m : k)), b, Int32(ldb ?? (transposeB ? k : n)),
                        beta, c, Int32(ldc ?? n))
        }
    }
}
