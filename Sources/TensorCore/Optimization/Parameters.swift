// Parameters live in one flat arena, the way llm.c keeps them: all values in one buffer, all gradients in
// another, each parameter tensor a view into both. The optimizer is then one loop over flat memory, the
// gradient norm is one reduction, and a training step never allocates a gradient.

public final class Parameters {
    /// Every parameter, named as in the PyTorch state dict (e.g. "blocks.0.ln1.weight").
    public let named: [(name: String, tensor: Tensor)]
    /// All parameter values, back to back.
    public let values: Storage
    /// All gradients, in the same layout as `values`.
    public let grads: Storage
    /// Where each parameter sits in the arena, and whether weight decay applies to it.
    public let slots: [(offset: Int, count: Int, decays: Bool)]

    public var count: Int { values.count }

    /// Copies each tensor into the arena and re-points it there (its old buffer is released).
    /// Weight decay applies to matrices (rank >= 2: Linear weights, embeddings), never to biases or
    /// LayerNorm gains, as in nanoGPT.
    public init(_ named: [(String, Tensor)]) {
        precondition(Set(named.map(\.0)).count == named.count, "parameter names must be unique")
        precondition(named.allSatisfy { $0.1.requiresGrad }, "parameters must be created with requiresGrad: true")
        precondition(named.allSatisfy { !$0.1.gradIsSharedView }, "these parameters are already in an arena (a model's "
                     + "own: use it, as Trainer does with parameterArena); packing them again would detach it")
        self.named = named.map { (name: $0.0, tensor: $0.1) }
        let total = named.reduce(0) { $0 + $1.1.count }
        values = Storage(count: total)
        grads = Storage.zeros(count: total)
        var slots: [(offset: Int, count: Int, decays: Bool)] = []
        var offset = 0
        for (_, tensor) in named {
            let value = Storage(viewing: values, offset: offset, count: tensor.count)
            values.backend.copy(tensor.storage, to: value)
            tensor.storage = value
            tensor.grad = Storage(viewing: grads, offset: offset, count: tensor.count)
            tensor.gradState = .zeroed
            tensor.gradIsSharedView = true
            slots.append((offset, tensor.count, tensor.shape.count >= 2))
            offset += tensor.count
        }
        self.slots = slots
    }

    public subscript(name: String) -> Tensor? { named.first { $0.name == name }?.tensor }

    public func zeroGrad() {
        grads.fill(0)
        for (_, tensor) in named { tensor.gradState = .zeroed }
    }

    /// sqrt of the sum of every gradient element squared.
    public func gradNorm() -> Float {
        Float(grads.backend.sumOfSquares(grads).squareRoot())
    }

    /// Scales all gradients down so their global norm is at most `maxNorm` (PyTorch's
    /// clip_grad_norm_, with the same 1e-6 guard). Returns the norm before clipping.
    @discardableResult
    public func clipGradNorm(to maxNorm: Float) -> Float {
        let norm = gradNorm()
        let coefficient = maxNorm / (norm + 1e-6)
        if coefficient < 1 { grads.backend.scale(grads, by: coefficient, out: grads) }
        return norm
    }
}

extension Tensor {
    /// Rows `range` of a matrix, sharing its numbers and (when it has one) its gradient: no copy. For reading,
    /// loading and checking a slice of a parameter (the reference model's per-head weights inside MultiHead's
    /// packed matrix), not for computing with: no gradient flows through it as an op.
    public static func rows(_ range: Range<Int>, of matrix: Tensor) -> Tensor {
        precondition(matrix.shape.count == 2 && range.lowerBound >= 0 && range.upperBound <= matrix.shape[0],
                     "rows \(range) of a \(matrix.shape) matrix")
        let width = matrix.shape[1], start = range.lowerBound * width, count = range.count * width
        // requiresGrad false: an op given this view records nothing, so no gradient can reach the matrix
        // behind the engine's back. Its `grad` is the matrix's gradient rows, to read.
        let view = Tensor(shape: [range.count, width], storage: Storage(viewing: matrix.storage, offset: start, count: count),
                          requiresGrad: false, parents: [], backward: nil)
        if let grad = matrix.grad {
            view.grad = Storage(viewing: grad, offset: start, count: count)
            view.gradIsSharedView = true   // clearGrad zeroes its rows of the matrix's gradient
        }
        return view
    }
}
