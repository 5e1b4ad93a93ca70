// The naive versions, kept beside the fast ones on purpose: short enough to check by eye, and the
// reference that tests compare the fast kernels with. Plain Swift arrays, no pointers, no BLAS.
import Foundation

public enum NaiveKernels {
    /// C = op(A) op(B), as three nested loops. A is (M, K) or (K, M) when transposed; B is (K, N) or (N, K).
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int,
                              transposeA: Bool = false, transposeB: Bool = false) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total: Float = 0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * m + i] : a[i * k + p]
                    let bValue = transposeB ? b[j * k + p] : b[p * n + j]
                    total += aValue * bValue
                }
                c[i * n + j] = total
            }
        }
        return c
    }

    /// softmax of one row, in Double, by the textbook formula exp(x_j) / sum_k exp(x_k) after
    /// subtracting the maximum.
    public static func softmax(_ row: [Float]) -> [Float] {
        let maximum = row.max() ?? 0
        let exps = row.map { exp(Double($0 - maximum)) }
        let total = exps.reduce(0, +)
        return exps.map { Float($0 / total) }
    }

    /// LayerNorm of one row, in Double.
    public static func layerNorm(_ row: [Float], gain: [Float], bias: [Float], epsilon: Double = 1e-5) -> [Float] {
        let n = Double(row.count)
        let mean = row.reduce(0.0) { $0 + Double($1) } / n
        let variance = row.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return row.indices.map { Float((Double(row[$0]) - mean) / (variance + epsilon).squareRoot()) * gain[$0] + bias[$0] }
    }

    /// -log softmax(row)[target], in Double.
    public static func crossEntropy(_ row: [Float], target: Int) -> Float {
        let maximum = Double(row.max() ?? 0)
        let logSum = log(row.reduce(0.0) { $0 + exp(Double($1) - maximum) }) + maximum
        return Float(logSum - Double(row[target]))
    }
}
