// Ops that rearrange numbers: embedding lookup, reshape, axis swap, concatenation and split along the
// last axis.

/// Looks up one row of `table` (V, C) per id. `ids` holds `shape.reduce(1, *)` indices in [0, V);
/// the result has shape `shape + [C]`, e.g. (B, T) ids -> (B, T, C).
public func embedding(_ table: Tensor, ids: [Int], shape: [Int]) -> Tensor {
    precondition(table.shape.count == 2, "an embedding table is (V, C), got \(table.shape)")
    precondition(ids.count == shape.reduce(1, *), "\(ids.count) ids for shape \(shape)")
    let vocabulary = table.shape[0], width = table.shape[1]
    precondition(ids.allSatisfy { $0 >= 0 && $0 < vocabulary }, "embedding id outside [0, \(vocabulary))")
    let backend = table.backend
    let out = Tensor.result(shape + [width], of: [table]) { out, grads in
        guard let dTable = grads.zeroedDestination(for: table) else { return }   // only the rows of ids get gradient
        backend.embeddingBackward(out.grad!, ids: ids, tableGrad: dTable, width: width)
    }
    backend.embedding(table: table.storage, ids: ids, out: out.storage, width: width)
    return out
}

/// The same numbers with another shape of the same size. Shares storage with x (no copy).
public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
    precondition(shape.reduce(1, *) == x.count, "cannot reshape \(x.shape) to \(shape)")
    let tracked = x.requiresGrad && ThreadMode.current.recordsGradients
    return Tensor(shape: shape, storage: x.storage, requiresGrad: tracked, parents: tracked ? [x] : [],
                  backward: tracked ? { out, grads in grads.destination(for: x).map { x.backend.copy(out.grad!, to: $0) } } : nil)
}

/// Swaps two axes, e.g. (B, T, nh, hs) -> (B, nh, T, hs) with axes 1 and 2. Copies into a contiguous result.
public func swapAxes(_ x: Tensor, _ first: Int, _ second: Int) -> Tensor {
    precondition(first < x.shape.count && second < x.shape.count, "swapAxes(\(first), \(second)) on \(x.shape)")
    var shape = x.shape
    shape.swapAt(first, second)
    let backend = x.backend
    let out = Tensor.result(shape, of: [x]) { out, grads in
        guard let dx = grads.destination(for: x) else { return }
        backend.swapAxes(out.grad!, shape: shape, first, second, out: dx)
    }
    backend.swapAxes(x.storage, shape: x.shape, first, second, out: out.storage)
    return out
}

/// Joins tensors side by side along the last axis: (..., c1), (..., c2) -> (..., c1 + c2).
/// This is how MultiHead puts the outputs of its heads back together.
public func concatenate(_ parts: [Tensor]) -> Tensor {
    precondition(!parts.isEmpty, "concatenate needs at least one tensor")
    let leading = Array(parts[0].shape.dropLast())
    precondition(parts.allSatisfy { Array($0.shape.dropLast()) == leading }, "concatenate: leading shapes differ")
    let widths = parts.map { $0.shape.last! }, total = widths.reduce(0, +), rows = leading.reduce(1, *)
    let offsets = widths.indices.map { widths.prefix($0).reduce(0, +) }
    let backend = parts[0].backend
    let out = Tensor.result(leading + [total], of: parts) { out, grads in
        for (part, offset) in zip(parts, offsets) {
            guard let dPart = grads.destination(for: part) else { continue }
            backend.copyColumns(from: out.grad!, sourceWidth: total, sourceOffset: offset, to: dPart,
                                destinationWidth: part.shape.last!, destinationOffset: 0, width: part.shape.last!, rows: rows)
        }
    }
    for (part, offset) in zip(parts, offsets) {
        backend.copyColumns(from: part.storage, sourceWidth: part.shape.last!, sourceOffset: 0, to: out.storage,
                            destinationWidth: total, destinationOffset: offset, width: part.shape.last!, rows: rows)
    }
    return out
}

/// Cuts a packed (B, T, parts * C) tensor, such as keys, queries and values computed by one Linear layer,
/// into `parts` tensors of shape (B, nh, T, hs) with hs = C / nh: one copy per part, where
/// a cut of the columns + `reshape` + `swapAxes` would make two.
///
///     (B, T, 3C) -> 3 x (B, nh, T, hs)        part p, head h, position t = columns p*C + h*hs ..< +hs of row (b, t)
public func splitHeads(_ packed: Tensor, parts: Int, heads: Int) -> [Tensor] {
    precondition(packed.shape.count == 3 && packed.shape[2] % (parts * heads) == 0,
                 "splitHeads needs (B, T, parts * heads * hs), got \(packed.shape) for \(parts) parts of \(heads) heads")
    let (batch, time, width) = (packed.shape[0], packed.shape[1], packed.shape[2])
    let channels = width / parts, headSize = channels / heads
    return (0..<parts).map { part in
        let backend = packed.backend
        // Each part's gradient fills only its columns of the packed one: added into a zeroed buffer.
        let out = Tensor.result([batch, heads, time, headSize], of: [packed]) { out, grads in
            guard let dPacked = grads.zeroedDestination(for: packed) else { return }
            backend.moveHeads(packed: dPacked, heads: out.grad!, batch: batch, time: time, width: width,
                              offset: part * channels, headCount: heads, headSize: headSize, toHeads: false)
        }
        backend.moveHeads(packed: packed.storage, heads: out.storage, batch: batch, time: time, width: width,
                          offset: part * channels, headCount: heads, headSize: headSize, toHeads: true)
        return out
    }
}
