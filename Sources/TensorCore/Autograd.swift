import Foundation
// Reverse-mode automatic differentiation over whole tensors, in the spirit of micrograd.
//
// Every op result remembers its inputs (`parents`) and a `backwardStep` that, given its own gradient,
// computes each input's share of it (the chain rule). `backward()` orders the graph so that each tensor
// comes after everything computed from it, then runs the steps in that order.
//
// A tensor used twice gets a gradient from each use, and they add up. That bookkeeping is the engine's,
// not the ops': a step asks `GradientBuffers` where to write an input's gradient and writes all of it.
// The first gradient to reach an input is written straight into its (new) gradient buffer; a later one
// goes into a temporary that the engine then adds in.
extension Tensor {
    /// Computes d(self)/d(every tensor it depends on). `self` is usually the scalar loss, whose gradient
    /// starts at 1. For a non-scalar, pass the upstream gradient as `seed` (same count as self).
    ///
    /// Each graph is backpropagated once: its intermediate results are let go on the way, and a second
    /// `backward()` through any of them stops with a message. Pass `retainingGraph: true` to keep the
    /// graph for another backward pass (whose gradients then add to the parameters' ones, as in PyTorch).
    public func backward(seed: [Float]? = nil, retainingGraph: Bool = false) {
        precondition(requiresGrad, "backward() on a tensor that does not depend on any parameter")
        precondition(!graphReleased, "backward() on a graph that was already backpropagated (its intermediate results are "
                     + "gone); run the forward pass again, or pass retainingGraph: true to the first backward()")
        // The seed replaces whatever an earlier backward (retainingGraph) left on this result.
        if backwardStep != nil { grad = nil; gradState = .absent }
        let buffers = GradientBuffers()
        let start = buffers.destination(for: self)!
        if let seed {
            precondition(seed.count == count, "seed of \(seed.count) values for \(count) elements")
            start.copy(fromHost: seed)
        } else {
            precondition(count == 1, "backward() without a seed needs a scalar; this has shape \(shape)")
            start.fill(1)
        }
        buffers.addPending()
        // Walk from the loss back to the inputs. Once a tensor has pushed its gradient to its inputs, neither
        // that gradient nor the graph below it is needed again, so both are let go at once; memory then
        // shrinks during backward instead of growing. (So, as in PyTorch, a graph can be backpropagated once.)
        var pending = topologicalOrder()
        while let node = pending.popLast() {
            if let step = node.backwardStep, node.grad != nil {
                step(node, buffers)
                buffers.addPending()
            }
            if node.backwardStep != nil {
                if !retainingGraph { node.releaseGraph() }
                if node !== self { node.grad = nil; node.gradState = .absent }   // an intermediate's; leaves keep theirs
            }
        }
    }

    /// Every tensor this one depends on, each listed after its inputs (iterative depth-first search,
    /// so deep graphs cannot overflow the stack).
    func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(tensor: Tensor, nextParent: Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (tensor, nextParent) = stack.last {
            if nextParent < tensor.parents.count {
                stack[stack.count - 1].nextParent += 1
                let parent = tensor.parents[nextParent]
                precondition(!parent.graphReleased, "backward() through a result whose graph was already backpropagated "
                             + "(by another loss that used it); pass retainingGraph: true to the first backward()")
                if parent.requiresGrad, visited.insert(ObjectIdentifier(parent)).inserted { stack.append((parent, 0)) }
            } else {
                order.append(tensor)
                stack.removeLast()
            }
        }
        return order
    }
}

/// Inference does not need the tape. Inside `withoutGradients`, ops on this thread record nothing (like
/// PyTorch's torch.no_grad()): no parents are kept and no backward closures are made, so evaluation and
/// generation run lighter. The numbers computed are exactly the same.
public func withoutGradients<Result>(_ body: () throws -> Result) rethrows -> Result {
    let mode = ThreadMode.current
    let previous = mode.recordsGradients
    mode.recordsGradients = false
    defer { mode.recordsGradients = previous }
    return try body()
}

/// False inside `withoutGradients` on this thread: ops record nothing for a backward pass.
public var recordsGradients: Bool { ThreadMode.current.recordsGradients }

/// Builds a model whose weights are about to be overwritten (loaded from a checkpoint) without drawing
/// their random initialization first: inside `body`, `Tensor.normal` leaves its values undefined (as
/// Hugging Face accelerate's init_empty_weights does). Only for weights that are then all written.
public func withoutInitialization<Result>(_ body: () throws -> Result) rethrows -> Result {
    let mode = ThreadMode.current
    let previous = mode.skipsInitialization
    mode.skipsInitialization = true
    defer { mode.skipsInitialization = previous }
    return try body()
}

/// What a tensor's `grad` holds during and between backward passes.
enum GradientState {
    case absent    // no buffer (grad == nil)
    case zeroed    // a buffer of zeros: a parameter's arena gradient after zeroGrad
    case holding   // a gradient; another one must be added to it
}

/// Where a backward step writes its inputs' gradients. The step writes every element of the buffer it is
/// given (`destination`), or adds into a buffer of zeros when its kernel only touches some rows
/// (`zeroedDestination`: an embedding's scatter). The engine does the rest:
///
///     input has no gradient yet      -> a new buffer, which becomes input.grad
///     input.grad holds zeros         -> input.grad itself (a parameter after zeroGrad)
///     input.grad holds a gradient    -> a temporary, added into input.grad once the step returns
public final class GradientBuffers {
    private var pending: [(temporary: Storage, into: Tensor)] = []

    /// nil when `input` does not want a gradient.
    public func destination(for input: Tensor) -> Storage? {
        guard input.requiresGrad else { return nil }
        switch input.gradState {
        case .absent:
            let fresh = Storage(count: input.count, on: input.backend)
            input.grad = fresh
            input.gradState = .holding
            return fresh
        case .zeroed:
            input.gradState = .holding
            return input.grad!
        case .holding:
            let temporary = Storage(count: input.count, on: input.backend)
            pending.append((temporary, input))
            return temporary
        }
    }

    /// Like `destination`, but the buffer starts at zero, for kernels that add into it.
    public func zeroedDestination(for input: Tensor) -> Storage? {
        guard input.requiresGrad else { return nil }
        switch input.gradState {
        case .absent:
            let fresh = Storage.zeros(count: input.count, on: input.backend)
            input.grad = fresh
            input.gradState = .holding
            return fresh
        case .zeroed, .holding:   // adding into a gradient is adding the new one to it
            input.gradState = .holding
            return input.grad!
        }
    }

    /// Adds the temporaries of the step that just ran into their tensors' gradients.
    func addPending() {
        for (temporary, input) in pending { input.backend.accumulate(temporary, into: input.grad!) }
        pending.removeAll(keepingCapacity: true)
    }
}

/// The per-thread switches of `withoutGradients` and `withoutInitialization`.
final class ThreadMode {
    var recordsGradients = true
    var skipsInitialization = false

    private static let perThread = PerThread { ThreadMode() }
    @inline(__always) static var current: ThreadMode { perThread.current }
}
