// Reverse-mode automatic differentiation over whole tensors, in the spirit of micrograd.
//
// Every op result remembers its inputs (`parents`) and a `backwardStep` that, given its own gradient,
// passes the right amount on to each input's gradient (the chain rule): the first gradient to reach an
// input is written into a fresh buffer, later ones are added to it. `backward()` orders the graph so
// that each tensor comes after everything computed from it, then runs the steps in that order.
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
        let start = gradStorage()
        if let seed {
            precondition(seed.count == count, "seed of \(seed.count) values for \(count) elements")
            seed.withUnsafeBufferPointer { start.pointer.update(from: $0.baseAddress!, count: count) }
        } else {
            precondition(count == 1, "backward() without a seed needs a scalar; this has shape \(shape)")
            start.fill(1)
        }
        // Walk from the loss back to the inputs. Once a tensor has pushed its gradient to its inputs, neither
        // that gradient nor the graph below it is needed again, so both are let go at once; memory then
        // shrinks during backward instead of growing. (So, as in PyTorch, a graph can be backpropagated once.)
        var pending = topologicalOrder()
        while let node = pending.popLast() {
            if let step = node.backwardStep, node.grad != nil { step(node) }
            if node.backwardStep != nil {
                if !retainingGraph { node.releaseGraph() }
                if node !== self { node.grad = nil }   // an intermediate's gradient; leaves keep theirs
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
    let shelves = BufferPool.shelves
    let previous = shelves.recordsGradients
    shelves.recordsGradients = false
    defer { shelves.recordsGradients = previous }
    return try body()
}
