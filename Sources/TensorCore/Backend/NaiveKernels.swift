// The naive versions, kept beside the fast ones on purpose: short enough to check by eye, and the
// reference that tests compare the fast kernels with (Tests/TensorCoreTests/KernelTests.swift). Plain
// Swift arrays, no pointers, no BLAS: what each op computes, as the chapters show it.
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

    /// The gradients of C = A B, for A (M, K), B (K, N) and the loss's gradient dC (M, N). The chain rule on
    /// c_ij = sum over p of a_ip b_pj gives dA = dC B^T and dB = A^T dC: each is one more product.
    public static func matmulBackward(_ a: [Float], _ b: [Float], outputGradient dc: [Float],
                                      m: Int, n: Int, k: Int) -> (a: [Float], b: [Float]) {
        let da = matmul(dc, b, m: m, n: k, k: n, transposeB: true)   // (M, N) @ (N, K) -> (M, K)
        let db = matmul(a, dc, m: k, n: n, k: m, transposeA: true)   // (K, M) @ (M, N) -> (K, N)
        return (da, db)
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

    /// The gradient of `crossEntropy(row, target)` with respect to the row: softmax(row) - onehot(target).
    /// (The op averages over the rows, so it divides this by their number.)
    public static func crossEntropyBackward(_ row: [Float], target: Int) -> [Float] {
        var gradient = softmax(row)
        gradient[target] -= 1
        return gradient
    }

    /// An embedding lookup: for every id, a copy of that row of the (V, C) table. (N ids) -> (N, C).
    public static func embedding(_ table: [[Float]], ids: [Int]) -> [[Float]] {
        ids.map { table[$0] }
    }

    /// Its backward: the gradient of each looked-up row goes back to the table's row it was copied from.
    /// An id used twice gets the sum of both gradients; rows never looked up get 0. (N, C) -> (V, C).
    public static func embeddingBackward(_ outputGradient: [[Float]], ids: [Int], vocabularySize: Int) -> [[Float]] {
        let width = outputGradient.first?.count ?? 0
        var tableGradient = [[Float]](repeating: [Float](repeating: 0, count: width), count: vocabularySize)
        for (i, id) in ids.enumerated() {
            for c in 0..<width { tableGradient[id][c] += outputGradient[i][c] }
        }
        return tableGradient
    }

    /// The causal softmax of a (T, T) block of attention scores: row i is query i, which may look at keys
    /// 0 ... i only. The future gets probability exactly 0, as if its score were -infinity, and the rest of
    /// the row is an ordinary softmax.
    public static func causalSoftmax(_ scores: [[Float]]) -> [[Float]] {
        scores.indices.map { i in
            let visible = softmax(Array(scores[i][0...i]))                          // keys 0 ... i
            return visible + [Float](repeating: 0, count: scores[i].count - i - 1)  // the future: 0
        }
    }

    /// The causal softmax's backward, for y = causalSoftmax(x) and the loss's gradient dy with respect to y:
    /// dx_j = y_j * (dy_j - sum over k of y_k dy_k), row by row. The future has y = 0, so its gradient is 0.
    public static func causalSoftmaxBackward(output y: [[Float]], gradient dy: [[Float]]) -> [[Float]] {
        zip(y, dy).map { yRow, dyRow in
            let dot = zip(yRow, dyRow).reduce(0) { $0 + $1.0 * $1.1 }   // sum of y_k dy_k
            return zip(yRow, dyRow).map { $0 * ($1 - dot) }
        }
    }

    /// What one query's attention computes, as the textbook writes it: a score for every key it may see,
    /// s_j = scale * (q . k_j), their softmax p, and the p-weighted sum of the values. It holds all the
    /// scores at once: a row of the (T, T) matrix.
    public static func attention(query q: [Float], keys: [[Float]], values: [[Float]], scale: Float) -> [Float] {
        let scores = keys.map { k in scale * zip(q, k).reduce(0) { $0 + $1.0 * $1.1 } }
        let p = softmax(scores)
        return (0..<q.count).map { c in zip(p, values).reduce(0) { $0 + $1.0 * $1.1[c] } }
    }

    /// One head's causal attention over a sequence, as gpt.py's masked_fill and softmax compute it: query t
    /// sees keys 0 ... t only (that is the mask), and gets the textbook attention over them.
    /// q, k, v: T rows of hs numbers each -> T rows of hs.
    public static func causalAttention(queries q: [[Float]], keys k: [[Float]], values v: [[Float]],
                                       scale: Float) -> [[Float]] {
        q.indices.map { t in attention(query: q[t], keys: Array(k[0...t]), values: Array(v[0...t]), scale: scale) }
    }

    /// The same output in one pass over the keys, holding three things instead of T scores (the online
    /// softmax): the largest score so far m, the sum of e^(s - m) so far l, and the e^(s - m)-weighted sum of
    /// the values so far o. When a score raises the maximum, l and o are rescaled by e^(old m - new m), so
    /// they stay relative to the current maximum; at the end o / l is the softmax's weighted sum. Also returns
    /// log(sum of e^s) = m + log l, all the tiled kernel keeps of a row for its backward.
    public static func onlineAttention(query q: [Float], keys: [[Float]], values: [[Float]],
                                       scale: Float) -> (output: [Float], logSumExp: Float) {
        var m = -Float.infinity, l: Float = 0, o = [Float](repeating: 0, count: q.count)
        for (k, v) in zip(keys, values) {
            let s = scale * zip(q, k).reduce(0) { $0 + $1.0 * $1.1 }
            let newMax = max(m, s)
            let rescale = exp(m - newMax), weight = exp(s - newMax)   // e^-inf = 0 on the first key
            l = l * rescale + weight
            for c in o.indices { o[c] = o[c] * rescale + weight * v[c] }
            m = newMax
        }
        return (o.map { $0 / l }, m + log(l))
    }

    /// The key/value cache's attention (chapter 05), as plain loops over the cache's storage. `keys` and
    /// `values` hold (heads, capacity, hs): head h's position j starts at index (h * capacity + j) * hs, and
    /// only the first `total` positions of each head hold data. The n new queries, (heads, n, hs), are
    /// positions total - n ..< total, whose keys and values are stored already. Query i sees positions
    /// 0 ... total - n + i: the causal mask shifted by the total - n positions cached before them.
    public static func cachedAttention(queries q: [Float], keys: [Float], values: [Float], heads: Int, newPositions n: Int,
                                       total: Int, capacity: Int, headSize hs: Int, scale: Float) -> [Float] {
        var out = [Float](repeating: 0, count: heads * n * hs)                     // (heads, n, hs)
        for h in 0..<heads {
            for i in 0..<n {
                let query = (h * n + i) * hs                                       // where q[h, i, :] starts
                let visible = total - n + i + 1                                    // keys 0 ..< visible
                var scores = [Float](repeating: 0, count: visible)
                for j in 0..<visible {
                    let key = (h * capacity + j) * hs                              // where K[h, j, :] starts
                    for c in 0..<hs { scores[j] += q[query + c] * keys[key + c] }
                    scores[j] *= scale
                }
                let p = softmax(scores)                                            // the row's weights
                for j in 0..<visible {
                    let value = (h * capacity + j) * hs                            // where V[h, j, :] starts
                    for c in 0..<hs { out[query + c] += p[j] * values[value + c] }
                }
            }
        }
        return out
    }

    /// One AdamW step for every parameter p with gradient g, as the paper writes it: decay the weight,
    /// update the running means m (of g) and v (of g²), correct their bias towards 0 in early steps,
    /// and move p by about the learning rate in the direction of m. `step` counts from 1.
    public static func adamW(parameters p: inout [Float], gradients g: [Float], firstMoment m: inout [Float],
                             secondMoment v: inout [Float], step: Int, learningRate: Float, weightDecay: Float,
                             beta1: Float = 0.9, beta2: Float = 0.99, epsilon: Float = 1e-8) {
        for i in p.indices {
            p[i] -= learningRate * weightDecay * p[i]                       // decoupled weight decay
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]                        // running mean of g
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]                 // running mean of g²
            let mHat = m[i] / (1 - pow(beta1, Float(step)))                 // both start at 0: unbias them
            let vHat = v[i] / (1 - pow(beta2, Float(step)))
            p[i] -= learningRate * mHat / (vHat.squareRoot() + epsilon)
        }
    }
}
