// Elementwise ops: add (with broadcasting), scale, ReLU, dropout. Forward, then backward, for each.

/// a + b, where b has the shape of a, or of a suffix of a's shape: a bias (C) added to every (B, T)
/// position, or a position embedding (T, C) added to every sequence in the batch. Commutative.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    if b.shape.count > a.shape.count { return add(b, a) }
    precondition(Array(a.shape.suffix(b.shape.count)) == b.shape, "cannot broadcast \(b.shape) onto \(a.shape)")
    let out = Tensor.result(a.shape, of: [a, b]) { out in
        let aGrad = a.requiresGrad ? a.gradDestination() : nil   // written whole: copied when it is the first
        Kernels.addBroadcastBackward(out.grad!, aGrad: aGrad?.storage, overwriteA: aGrad?.beta == 0,
                                     bGrad: b.requiresGrad ? b.gradStorage() : nil)
    }
    Kernels.addBroadcast(a.storage, b.storage, out: out.storage)
    return out
}

public func + (a: Tensor, b: Tensor) -> Tensor { add(a, b) }

/// x * alpha, for a constant alpha (for example the attention scale 1/sqrt(head size)).
public func scale(_ x: Tensor, by alpha: Float) -> Tensor {
    let out = Tensor.result(x.shape, of: [x]) { out in
        Kernels.accumulate(out.grad!, scaledBy: alpha, into: x.gradStorage())
    }
    Kernels.scale(x.storage, by: alpha, out: out.storage)
    return out
}

public func * (x: Tensor, alpha: Float) -> Tensor { scale(x, by: alpha) }

/// max(0, x)
public func relu(_ x: Tensor) -> Tensor {
    let out = Tensor.result(x.shape, of: [x]) { out in
        let (xGrad, beta) = x.gradDestination()
        Kernels.reluBackward(output: out.storage, out.grad!, xGrad: xGrad, overwrite: beta == 0)
    }
    Kernels.relu(x.storage, out: out.storage)
    return out
}

/// During training, zeroes each element with probability `probability` and scales the survivors by
/// 1/(1 - probability), so the expected value is unchanged; at evaluation it returns x untouched.
public func dropout(_ x: Tensor, probability: Float, training: Bool, random: SeededRandom) -> Tensor {
    precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
    guard training, probability > 0 else { return x }
    let mask = Storage(count: x.count)
    Kernels.dropoutMask(probability: probability, random: random, mask: mask)
    let out = Tensor.result(x.shape, of: [x]) { out in
        Kernels.multiplyAccumulate(out.grad!, mask, into: x.gradStorage())
    }
    Kernels.multiply(x.storage, mask, out: out.storage)
    return out
}
