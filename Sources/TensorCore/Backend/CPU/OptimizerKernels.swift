// The AdamW update as a kernel, so that the optimizer, like every op, reaches memory only through the
// backend. Eight parameters at a time; the scalar loop finishes the rest with the same arithmetic.
extension CPUBackend {
    /// For i in `range`:  p *= decay;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    ///                    p -= stepSize * m / (sqrt(v) / correction2Root + epsilon)
    public func adamW(values: Storage, grads: Storage, firstMoment: Storage, secondMoment: Storage,
                             range: Range<Int>, decay: Float, beta1: Float, beta2: Float, stepSize: Float,
                             correction2Root: Float, epsilon: Float) {
        let p = values.pointer + range.lowerBound, g = grads.pointer + range.lowerBound
        let m = firstMoment.pointer + range.lowerBound, v = secondMoment.pointer + range.lowerBound
        let count = range.count
        let decay8 = Float8(repeating: decay), beta1_8 = Float8(repeating: beta1), beta2_8 = Float8(repeating: beta2)
        let oneMinusBeta1 = Float8(repeating: 1 - beta1), oneMinusBeta2 = Float8(repeating: 1 - beta2)
        let stepSize8 = Float8(repeating: stepSize), root8 = Float8(repeating: correction2Root), epsilon8 = Float8(repeating: epsilon)
        var i = 0
        while i &+ 8 <= count {
            let gradient = VectorMath.load(g, i)
            let first = beta1_8 * VectorMath.load(m, i) + oneMinusBeta1 * gradient
            let second = beta2_8 * VectorMath.load(v, i) + oneMinusBeta2 * gradient * gradient
            let parameter = VectorMath.load(p, i) * decay8 - stepSize8 * first / (second.squareRoot() / root8 + epsilon8)
            VectorMath.store(first, m, i)
            VectorMath.store(second, v, i)
            VectorMath.store(parameter, p, i)
            i &+= 8
        }
        while i < count {
            p[i] *= decay
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + epsilon)
            i &+= 1
        }
    }
}

extension CPUBackend {
    /// sum(x[i]^2), for the global gradient norm. Float lanes within blocks of 1024, blocks summed in Double,
    /// so a million gradients lose no more precision than a thousand.
    public func sumOfSquares(_ storage: Storage) -> Double {
        let x = storage.pointer, count = storage.count
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(start &+ 1024, count)
            var lanes = Float8(repeating: 0)
            var i = start
            while i &+ 8 <= end { let v = VectorMath.load(x, i); lanes.addProduct(v, v); i &+= 8 }
            var block = lanes.sum()
            while i < end { block += x[i] * x[i]; i &+= 1 }
            total += Double(block)
            start = end
        }
        return total
    }
}
