// Chapter 02's warm-up: "every position averages the positions before it", done three ways that
// give the same numbers. The third one is the shape of self-attention.
import TensorCore

public enum AveragingThePast {
    /// 1. Loops: out[b, t] = mean of x[b, 0...t]. Obvious and slow.   x (B, T, C) -> (B, T, C)
    public static func byLoop(_ x: Tensor) -> Tensor {
        let (batch, time, channels) = (x.shape[0], x.shape[1], x.shape[2])
        var values = [Float](repeating: 0, count: x.count)
        for b in 0..<batch {
            for t in 0..<time {
                for c in 0..<channels {
                    var total: Float = 0
                    for previous in 0...t { total += x[b, previous, c] }
                    values[(b * time + t) * channels + c] = total / Float(t + 1)
                }
            }
        }
        return Tensor(shape: x.shape, values: values)
    }

    /// The (T, T) lower-triangular matrix whose row t holds 1/(t+1) in columns 0...t:
    ///   [[1,   0,   0  ],
    ///    [1/2, 1/2, 0  ],
    ///    [1/3, 1/3, 1/3]]
    public static func averagingWeights(_ time: Int) -> Tensor {
        var values = [Float](repeating: 0, count: time * time)
        for t in 0..<time { for previous in 0...t { values[t * time + previous] = 1 / Float(t + 1) } }
        return Tensor(shape: [time, time], values: values)
    }

    /// 2. One matrix product: weights (T, T) @ x (B, T, C) -> (B, T, C). Each output row is a weighted
    ///    sum of input rows, and the lower triangle keeps the future out.
    public static func byMatmul(_ x: Tensor) -> Tensor {
        matmul(averagingWeights(x.shape[1]), x)
    }

    /// 3. Softmax of all-zero scores under a causal mask: the future gets -infinity, so probability 0,
    ///    and the past shares probability equally. Same weights as (2). Replace the zeros with learned,
    ///    data-dependent scores (query . key) and this is self-attention.
    public static func bySoftmax(_ x: Tensor) -> Tensor {
        let time = x.shape[1]
        let weights = softmax(Tensor.zeros([time, time]), causal: true)   // (T, T)
        return matmul(weights, x)                                          // (T, T) @ (B, T, C) -> (B, T, C)
    }
}
