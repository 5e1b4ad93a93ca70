// The backend seam, part 3: loops over numbers. Each kernel's backward sits right after its forward.
// A backward kernel either writes an input's gradient (the first one to reach that input: `overwrite`,
// or beta 0 for a product) or adds to it (`+=`: a tensor used twice receives a gradient from each use).
// Which one is the engine's choice (Tensor.gradDestination); a fresh buffer is undefined (NaN in debug
// builds), so a kernel told to overwrite must write every element.

public enum Kernels {}

// MARK: - Copy and accumulate

extension Kernels {
    /// y += x
    public static func accumulate(_ x: Storage, into y: Storage) {
        precondition(x.count == y.count)
        VectorMath.add(x.pointer, into: y.pointer, y.count)
    }

    /// y += alpha * x
    public static func accumulate(_ x: Storage, scaledBy alpha: Float, into y: Storage) {
        let n = y.count, x = x.pointer, y = y.pointer
        for i in 0..<n { y[i] += alpha * x[i] }
    }

    /// y[i] += value for every i (the backward of a sum).
    public static func add(_ value: Float, toEvery y: Storage) {
        let n = y.count, y = y.pointer
        for i in 0..<n { y[i] += value }
    }

    /// Fills `y` with copies of the row `x` (the bias rows a fused linear layer starts from).
    public static func repeatRows(_ x: Storage, into y: Storage) {
        var start = 0
        while start < y.count {
            (y.pointer + start).update(from: x.pointer, count: x.count)
            start += x.count
        }
    }

    public static func copy(_ x: Storage, to y: Storage) {
        y.pointer.update(from: x.pointer, count: x.count)
    }
}

// MARK: - Add with broadcasting: out = a + b, where b's shape is a suffix of a's (bias, position embedding)

extension Kernels {
    public static func addBroadcast(_ a: Storage, _ b: Storage, out: Storage) {
        let a = a.pointer, bCount = b.count, b = b.pointer, o = out.pointer
        var start = 0
        while start < out.count {
            for j in 0..<bCount { o[start &+ j] = a[start &+ j] + b[j] }
            start += bCount
        }
    }

    /// aGrad += g;  bGrad += g summed over every repetition of b.
    /// With `overwriteA`, aGrad = g instead of aGrad += g (aGrad is a fresh buffer: `Tensor.gradDestination`).
    public static func addBroadcastBackward(_ g: Storage, aGrad: Storage?, overwriteA: Bool = false, bGrad: Storage?) {
        if let aGrad {
            if overwriteA { aGrad.pointer.update(from: g.pointer, count: g.count) } else { accumulate(g, into: aGrad) }
        }
        guard let bGrad else { return }
        let gp = g.pointer, bCount = bGrad.count, bg = bGrad.pointer
        var start = 0
        while start < g.count {
            VectorMath.add(gp + start, into: bg, bCount)
            start += bCount
        }
    }
}

// MARK: - Scale, ReLU, dropout (elementwise multiply by a mask)

extension Kernels {
    public static func scale(_ x: Storage, by alpha: Float, out: Storage) {
        let x = x.pointer, o = out.pointer
        for i in 0..<out.count { o[i] = alpha * x[i] }
    }

    public static func relu(_ x: Storage, out: Storage) {
        let x = x.pointer, o = out.pointer
        for i in 0..<out.count { o[i] = x[i] > 0 ? x[i] : 0 }
    }

    /// The ReLU passes gradient only where its output was positive.
    /// dx += g where the output was positive; with `overwrite`, dx = g there and 0 elsewhere.
    public static func reluBackward(output: Storage, _ g: Storage, xGrad: Storage, overwrite: Bool = false) {
        let y = output.pointer, g = g.pointer, d = xGrad.pointer
        if overwrite {
            for i in 0..<xGrad.count { d[i] = y[i] > 0 ? g[i] : 0 }
        } else {
            for i in 0..<xGrad.count where y[i] > 0 { d[i] += g[i] }
        }
    }

    /// mask[i] = 0 with probability p, else 1/(1-p) (inverted dropout: the expected value is unchanged).
    public static func dropoutMask(probability p: Float, random: SeededRandom, mask: Storage) {
        let keep = 1 / (1 - p), m = mask.pointer
        for i in 0..<mask.count { m[i] = random.uniform() < p ? 0 : keep }
    }

    public static func multiply(_ x: Storage, _ y: Storage, out: Storage) {
        let x = x.pointer, y = y.pointer, o = out.pointer
        for i in 0..<out.count { o[i] = x[i] * y[i] }
    }

    /// d += g * y
    public static func multiplyAccumulate(_ g: Storage, _ y: Storage, into d: Storage) {
        let g = g.pointer, y = y.pointer, dp = d.pointer
        for i in 0..<d.count { dp[i] += g[i] * y[i] }
    }
}

// MARK: - Reductions

extension Kernels {
    /// Sum in Double so long tensors do not lose small terms.
    public static func sum(_ x: Storage) -> Float {
        let p = x.pointer
        var total = 0.0
        for i in 0..<x.count { total += Double(p[i]) }
        return Float(total)
    }
}
