// Reductions to a scalar: the fused cross-entropy loss, sum and mean.

/// The mean negative log-likelihood of `targets` under softmax(logits).
/// logits (..., V) with one target class per row; returns a scalar (shape []).
/// Before training, with uniform predictions, this is ln(V): about 4.17 for 65 characters.
public func crossEntropy(_ logits: Tensor, targets: [Int]) -> Tensor {
    let classes = logits.shape.last!, rows = logits.count / classes
    precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits")
    precondition(targets.allSatisfy { $0 >= 0 && $0 < classes }, "crossEntropy: target outside [0, \(classes))")
    let probabilities = Storage(count: logits.count)
    let out = Tensor.result([], of: [logits]) { out in
        Kernels.crossEntropyBackward(probabilities: probabilities, targets: targets, upstream: out.grad!.pointer[0],
                                     logitsGrad: logits.gradStorage(), rows: rows, classes: classes)
    }
    out.storage.pointer[0] = Kernels.crossEntropy(logits: logits.storage, targets: targets,
                                                  probabilities: probabilities, rows: rows, classes: classes)
    return out
}

/// The sum of all elements, as a scalar.
public func sum(_ x: Tensor) -> Tensor {
    let out = Tensor.result([], of: [x]) { out in
        Kernels.add(out.grad!.pointer[0], toEvery: x.gradStorage())
    }
    out.storage.pointer[0] = Kernels.sum(x.storage)
    return out
}

/// The mean of all elements, as a scalar.
public func mean(_ x: Tensor) -> Tensor { scale(sum(x), by: 1 / Float(max(1, x.count))) }
