// The tensor: Float32 numbers in a contiguous row-major buffer, with a shape, and (when it takes part in
// training) a gradient and a note of how it was made.

public final class Tensor {
    /// For example [B, T, C]: batch, time (position in the sequence), channels.
    public let shape: [Int]
    /// Number of elements: the product of `shape` (1 for a scalar, whose shape is []).
    public let count: Int
    /// The numbers. A parameter's storage is re-pointed into its `Parameters` arena; see Parameters.swift.
    public internal(set) var storage: Storage
    /// d(loss)/d(self), same shape, once a backward pass has reached it. A parameter's lives in its arena.
    public internal(set) var grad: Storage?
    /// What `grad` holds: nothing yet, zeros (a parameter's after zeroGrad), or a gradient that a later
    /// one must be added to. The autograd engine keeps it (Autograd.swift).
    var gradState = GradientState.absent
    /// Whether gradients should flow to this tensor. Parameters say yes; data says no; results of ops
    /// say yes when any input does.
    public let requiresGrad: Bool

    // The autograd tape, one entry per op result: the inputs, and a closure that pushes this tensor's
    // gradient back into theirs. Defined by each op next to its forward (see Ops/).
    private(set) var parents: [Tensor]
    private(set) var backwardStep: ((Tensor, GradientBuffers) -> Void)?

    /// Forgets how this tensor was made (after its backward step has run), so the tensors it was made
    /// from can be freed as soon as nothing else needs them.
    func releaseGraph() {
        parents = []
        backwardStep = nil
        graphReleased = true
    }

    /// Set once this op result's backward step has run and its graph was let go: a later `backward()`
    /// through it could not reach the tensors it was made from.
    private(set) var graphReleased = false

    init(shape: [Int], storage: Storage, requiresGrad: Bool, parents: [Tensor],
         backward: ((Tensor, GradientBuffers) -> Void)?) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(storage.count == shape.reduce(1, *), "storage of \(storage.count) for shape \(shape)")
        self.shape = shape
        self.count = storage.count
        self.storage = storage
        self.requiresGrad = requiresGrad
        self.parents = parents
        self.backwardStep = backward
    }

    /// A leaf tensor (data or a parameter) holding `values`.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(shape: shape, storage: Storage(host: values), requiresGrad: requiresGrad, parents: [], backward: nil)
    }

    /// A constant tensor that reads `storage` in place (no copy): for example the optimizer's moments,
    /// written to a file as they lie.
    public convenience init(shape: [Int], sharing storage: Storage) {
        self.init(shape: shape, storage: storage, requiresGrad: false, parents: [], backward: nil)
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: .zeros(count: shape.reduce(1, *)), requiresGrad: requiresGrad,
               parents: [], backward: nil)
    }

    public static func filled(_ shape: [Int], with value: Float, requiresGrad: Bool = false) -> Tensor {
        let storage = Storage(count: shape.reduce(1, *))
        storage.fill(value)
        return Tensor(shape: shape, storage: storage, requiresGrad: requiresGrad, parents: [], backward: nil)
    }

    /// Normal(0, std^2) values, the GPT initialization for weights (std 0.02). Inside
    /// `withoutInitialization` nothing is drawn and the values are left undefined.
    public static func normal(_ shape: [Int], std: Float, random: SeededRandom, requiresGrad: Bool = false) -> Tensor {
        if ThreadMode.current.skipsInitialization {
            return Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *)), requiresGrad: requiresGrad, parents: [], backward: nil)
        }
        let values = (0..<shape.reduce(1, *)).map { _ in std * random.normal() }
        return Tensor(shape: shape, values: values, requiresGrad: requiresGrad)
    }

    /// The result of an op: fresh storage on the inputs' backend, and the backward step when any input
    /// wants gradients. The step gets the result (whose `grad` is set) and the buffers to write its
    /// inputs' gradients into.
    static func result(_ shape: [Int], of inputs: [Tensor], backward: @escaping (Tensor, GradientBuffers) -> Void) -> Tensor {
        let tracked = ThreadMode.current.recordsGradients && inputs.contains { $0.requiresGrad }
        return Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), on: inputs[0].backend), requiresGrad: tracked,
                      parents: tracked ? inputs : [], backward: tracked ? backward : nil)
    }

    /// The backend this tensor's numbers live on; ops run there.
    public var backend: any Backend { storage.backend }

    // MARK: Reading numbers (host copies)

    public var values: [Float] { storage.toHost() }
    public var gradValues: [Float]? { grad.map { $0.toHost() } }

    /// The single number of a scalar (shape [] or [1]).
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with shape \(shape)")
        return storage[0]
    }

    /// The element at a multi-dimensional index, e.g. `x[0, 2, 1]` (one host copy each way).
    public subscript(_ index: Int...) -> Float {
        get { storage[offset(index)] }
        set { storage[offset(index)] = newValue }
    }

    private func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var offset = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "index \(index) outside shape \(shape)")
            offset = offset * shape[axis] + i
        }
        return offset
    }

    /// Forgets the gradient. A parameter's gradient lives in its arena, where the optimizer reads it, so
    /// there it is zeroed in place instead: dropping it would detach the parameter from the optimizer.
    public func clearGrad() {
        if let grad, gradIsSharedView { grad.fill(0); gradState = .zeroed } else { grad = nil; gradState = .absent }
    }

    /// True when `grad` is a view into a larger gradient: a parameter's slot in its arena (set by
    /// `Parameters`), or rows of a matrix's gradient (`Tensor.rows`). Such a gradient is cleared in place.
    var gradIsSharedView = false
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

import Foundation
