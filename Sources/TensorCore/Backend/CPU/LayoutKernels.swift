// Kernels that move numbers: embedding lookup (its backward adds rows), axis swaps, the move between the
// packed (B, T, 3C) and per-head (B, nh, T, hs) layouts, and column slices (for concatenation and split
// along the last axis). Forward beside backward.
extension CPUBackend {
    /// out[i, :] = table[ids[i], :]
    public func embedding(table: Storage, ids: [Int], out: Storage, width: Int) {
        for (i, id) in ids.enumerated() {
            (out.pointer + i * width).update(from: table.pointer + id * width, count: width)
        }
    }

    /// tableGrad[ids[i], :] += g[i, :]  (a token seen twice collects both gradients)
    public func embeddingBackward(_ g: Storage, ids: [Int], tableGrad: Storage, width: Int) {
        for (i, id) in ids.enumerated() {
            let source = g.pointer + i * width, target = tableGrad.pointer + id * width
            VectorMath.add(source, into: target, width)
        }
    }

    /// Copies `x` (shape `shape`, row-major) into `out` with axes `first` and `second` swapped.
    /// The backward of a swap is the same swap.
    public func swapAxes(_ x: Storage, shape: [Int], _ first: Int, _ second: Int, out: Storage) {
        // Strides of x, then the strides x must be read with to walk `out` in order.
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        var outShape = shape
        outShape.swapAt(first, second)
        var readStrides = strides
        readStrides.swapAt(first, second)
        // The last axis is walked by an inner loop; all others by an odometer.
        let rank = shape.count, inner = outShape[rank - 1], innerStride = readStrides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var source = 0, target = 0
        let x = x.pointer, o = out.pointer
        while target < out.count {
            for j in 0..<inner { o[target &+ j] = x[source &+ j &* innerStride] }
            target += inner
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                source += readStrides[axis]
                if index[axis] < outShape[axis] { break }
                source -= readStrides[axis] * outShape[axis]
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { break }
        }
    }

    /// Between a packed (B, T, width) tensor and one (B, nh, T, hs) tensor of heads whose columns start at
    /// `offset`: heads[b, h, t, :] = packed[b, t, offset + h*hs ..< +hs]. `toHeads` copies that way; otherwise
    /// it adds the heads back into the packed layout (the backward).
    public func moveHeads(packed: Storage, heads: Storage, batch: Int, time: Int, width: Int, offset: Int,
                                 headCount: Int, headSize: Int, toHeads: Bool) {
        for b in 0..<batch {
            for h in 0..<headCount {
                for t in 0..<time {
                    let packedRow: Int = (b &* time &+ t) &* width
                    let headRow: Int = ((b &* headCount &+ h) &* time &+ t) &* headSize
                    let p = packed.pointer + (packedRow &+ offset &+ h &* headSize)
                    let q = heads.pointer + headRow
                    if toHeads { q.update(from: p, count: headSize) } else { VectorMath.add(q, into: p, headSize) }
                }
            }
        }
    }

    /// For every row: destination[row, destinationOffset ..< +width] = source[row, sourceOffset ..< +width].
    public func copyColumns(from source: Storage, sourceWidth: Int, sourceOffset: Int,
                                   to destination: Storage, destinationWidth: Int, destinationOffset: Int,
                                   width: Int, rows: Int) {
        for r in 0..<rows {
            let s = source.pointer + r * sourceWidth + sourceOffset
            let d = destination.pointer + r * destinationWidth + destinationOffset
            d.update(from: s, count: width)
        }
    }
}
