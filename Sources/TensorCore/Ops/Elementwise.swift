// Elementwise ops: add (with broadcasting), scale, ReLU, dropout. Forward, then backward, for each.

/// a + b, where b has the shape of a, or of a suffix of a's shape: a bias (C) added to every (B, T)
/// position, or a position embedding (T, C) added to every sequence in the batch. Commutative.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    if b.shape.count > a.shape.count { return add(b, a) }
    precondition(Array(a.shape.suffix(b.shape.count)) == b.shape, "cannot broadcast \(b.shape) onto \(a.shape)")
    let backend = a.backend
    let out = Tensor.result(a.shape, of: [a, b]) { out, grads in
        if let da = grads.destination(for: a) { backend.copy(out.grad!, to: da) }
        if let db = grads.destination(for: b) { backend.sumRepetitions(out.grad!, out: db) }
    }
    backend.addBroadcast(a.storage, b.storage, out: out.storage)
    return out
}

public func + (a: Tensor, b: Tensor) -> Tensor { add(a, b) }

/// x * alpha, for a constant alpha (for example the attention scale 1/sqrt(head size)).
public func scale(_ x: Tensor, by alpha: Float) -> Tensor {
    let backend = x.backend
    let out = Tensor.result(x.shape, of: [x]) { out, grads in
        if let dx = grads.destination(for: x) { backend.scale(out.grad!, by: alpha, out: dx) }
    }
    backend.scale(x.storage, by: alpha, out: out.storage)
    return out
}

public func * (x: Tensor, alpha: Float) -> Tensor { scale(x, by: alpha) }

/// max(0, x)
public func relu(_ x: Tensor) -> Tensor {
    let backend = x.backend
    let out = Tensor.result(x.shape, of: [x]) { out, grads in
        if let dx = grads.destination(for: x) { backend.reluBackward(output: out.storage, out.grad!, xGrad: dx) }
    }
    backend.relu(x.storage, out: out.storage)
    return out
}

/// During training, zeroes each element with probability `probability` and scales the survivors by
/// 1/(1 - probability), so the expected value is unchanged; at evaluation it returns x untouched.
/// The mask is a function of (`seed`, `stream`, element) only (Philox, Random.swift): give every mask of a
/// run its own stream.
public func dropout(_ x: Tensor, probability: Float, training: Bool, seed: UInt64, stream: UInt64) -> Tensor {
    precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
    guard training, probability > 0 else { return x }
    let backend = x.backend, mask = Storage(count: x.count, on: backend)
    backend.dropoutMask(probability: probability, seed: seed, stream: stream, mask: mask)
    let out = Tensor.result(x.shape, of: [x]) { out, grads in
        if let dx = grads.destination(for: x) { backend.multiply(out.grad!, mask, out: dx) }
    }
    backend.multiply(x.storage, mask, out: out.storage)
    return out
}
