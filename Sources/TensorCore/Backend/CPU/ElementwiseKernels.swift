// Loops over numbers, the CPU backend's share of the contract (Backend.swift). Each kernel's backward
// sits right after its forward, and writes every element of the gradient it is given: whether that buffer
// is the gradient itself or a temporary that is then added in is the autograd engine's business.

// MARK: - Accumulate, broadcast, repeat

extension CPUBackend {
    /// y += x
    public func accumulate(_ x: Storage, into y: Storage) {
        precondition(x.count == y.count, "accumulate \(x.count) floats into \(y.count)")
        VectorMath.add(x.pointer, into: y.pointer, y.count)
    }

    /// out = a + b, where b's shape is a suffix of a's (a bias, a position embedding)
    public func addBroadcast(_ a: Storage, _ b: Storage, out: Storage) {
        let a = a.pointer, bCount = b.count, b = b.pointer, o = out.pointer
        var start = 0
        while start < out.count {
            for j in 0..<bCount { o[start &+ j] = a[start &+ j] + b[j] }
            start += bCount
        }
    }

    /// out = g summed over every repetition of a row of out.count (the gradient of the repeated b)
    public func sumRepetitions(_ g: Storage, out: Storage) {
        let gp = g.pointer, width = out.count, o = out.pointer
        o.update(from: gp, count: width)
        var start = width
        while start < g.count {
            VectorMath.add(gp + start, into: o, width)
            start += width
        }
    }

    /// Fills `y` with copies of the row `x` (the bias rows a fused linear layer starts from).
    public func repeatRows(_ x: Storage, into y: Storage) {
        var start = 0
        while start < y.count {
            (y.pointer + start).update(from: x.pointer, count: x.count)
            start += x.count
        }
    }
}

// MARK: - Scale, ReLU, dropout (elementwise multiply by a mask)

extension CPUBackend {
    public func scale(_ x: Storage, by alpha: Float, out: Storage) {
        let x = x.pointer, o = out.pointer
        for i in 0..<out.count { o[i] = alpha * x[i] }
    }

    public func relu(_ x: Storage, out: Storage) {
        let x = x.pointer, o = out.pointer
        for i in 0..<out.count { o[i] = x[i] > 0 ? x[i] : 0 }
    }

    /// The ReLU passes gradient only where its output was positive: dx = g there, 0 elsewhere.
    public func reluBackward(output: Storage, _ g: Storage, xGrad: Storage) {
        let y = output.pointer, g = g.pointer, d = xGrad.pointer
        for i in 0..<xGrad.count { d[i] = y[i] > 0 ? g[i] : 0 }
    }

    /// mask[i] = 0 with probability p, else 1/(1-p) (inverted dropout: the expected value is unchanged).
    /// Element i takes word i % 4 of Philox4x32-10(counter: (i / 4, 0, stream, stream >> 32), key: seed).
    public func dropoutMask(probability p: Float, seed: UInt64, stream: UInt64, mask: Storage) {
        let keep = 1 / (1 - p), m = mask.pointer, count = mask.count
        var block: UInt64 = 0, i = 0
        while i < count {
            let words = Philox4x32.block(counter: block, stream: stream, seed: seed)
            for lane in 0..<Swift.min(4, count - i) { m[i &+ lane] = Philox4x32.uniform(words[lane]) < p ? 0 : keep }
            i &+= 4
            block &+= 1
        }
    }

    public func multiply(_ x: Storage, _ y: Storage, out: Storage) {
        let x = x.pointer, y = y.pointer, o = out.pointer
        for i in 0..<out.count { o[i] = x[i] * y[i] }
    }
}

// MARK: - Reductions

extension CPUBackend {
    /// Sum in Double so long tensors do not lose small terms.
    public func sum(_ x: Storage, out: Storage) {
        let p = x.pointer
        var total = 0.0
        for i in 0..<x.count { total += Double(p[i]) }
        out.pointer[0] = Float(total)
    }

    public func broadcastScalar(_ scalar: Storage, scaledBy alpha: Float, out: Storage) {
        out.pointer.update(repeating: alpha * scalar.pointer[0], count: out.count)
    }
}
