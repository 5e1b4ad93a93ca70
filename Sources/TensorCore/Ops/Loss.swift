// Reductions to a scalar: the fused cross-entropy loss, sum and mean.

/// The mean negative log-likelihood of `targets` under softmax(logits).
/// logits (..., V) with one target class per row; returns a scalar (shape []).
/// Before training, with uniform predictions, this is ln(V): about 4.17 for 65 characters.
public func crossEntropy(_ logits: Tensor, targets: [Int]) -> Tensor {
    let classes = logits.shape.last!, rows = logits.count / classes
    precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits")
    precondition(targets.allSatisfy { $0 >= 0 && $0 < classes }, "crossEntropy: target outside [0, \(classes))")
    let backend = logits.backend, probabilities = Storage(count: logits.count, on: backend)
    let out = Tensor.result([], of: [logits]) { out, grads in
        guard let dLogits = grads.destination(for: logits) else { return }
        backend.crossEntropyBackward(probabilities: probabilities, targets: targets, upstream: out.grad!,
                                     logitsGrad: dLogits, rows: rows, classes: classes)
    }
    backend.crossEntropy(logits: logits.storage, targets: targets, probabilities: probabilities, loss: out.storage,
                         rows: rows, classes: classes)
    return out
}

/// The sum of all elements, as a scalar.
public func sum(_ x: Tensor) -> Tensor {
    let backend = x.backend
    let out = Tensor.result([], of: [x]) { out, grads in
        guard let dx = grads.destination(for: x) else { return }
        backend.broadcastScalar(out.grad!, scaledBy: 1, out: dx)
    }
    backend.sum(x.storage, out: out.storage)
    return out
}

/// The mean of all elements, as a scalar.
public func mean(_ x: Tensor) -> Tensor { scale(sum(x), by: 1 / Float(max(1, x.count))) }
