// Eight floats at a time: the building blocks of the fast softmax, cross-entropy and LayerNorm kernels.
//
// Why by hand: the compiler never vectorizes a reduction (a sum or a max over a row), and `expf` is a
// scalar library call. With SIMD8<Float> and AVX2 (Package.swift asks for it on x86_64) each of these
// handles 8 values per instruction instead of one value per call. Every function takes a pointer and a count and finishes the last count % 8
// values one at a time.

typealias Float8 = SIMD8<Float>

enum VectorMath {
    /// e^x for 8 values at once, within about 2 ulp of expf for the inputs softmax sees (x <= 0).
    ///
    /// e^x = 2^n * e^r, with n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2]; e^r is a degree-6
    /// polynomial (Cephes' expf coefficients), and 2^n is built straight into the float's exponent bits.
    /// Inputs below -87.3 (where e^x is no longer a normal float) give exactly 0.
    @inline(__always)
    static func exp(_ x: Float8) -> Float8 {
        let low: Float = -87.33654, high: Float = 88.37626
        let low8 = Float8(repeating: low), high8 = Float8(repeating: high)
        // (Comparisons and blends, not .clamped, which compiles to slow generic code.)
        let clamped = x.replacing(with: low8, where: x .< low8).replacing(with: high8, where: x .> high8)
        // Adding 1.5 * 2^23 rounds to an integer, and leaves that integer in the low mantissa bits
        // (a float -> int conversion of a SIMD vector would be a slow generic call).
        let magic = Float8(repeating: 0x1.8p23)
        let shifted = clamped * Float8(repeating: 1.44269504088896341) + magic   // x / ln 2, rounded, + magic
        let n = shifted - magic
        let r = clamped - n * Float8(repeating: 0.693359375) - n * Float8(repeating: -2.12194440e-4)   // ln 2 in two parts
        var p = Float8(repeating: 1.9875691500e-4)
        p = p * r + Float8(repeating: 1.3981999507e-3)
        p = p * r + Float8(repeating: 8.3334519073e-3)
        p = p * r + Float8(repeating: 4.1665795894e-2)
        p = p * r + Float8(repeating: 1.6666665459e-1)
        p = p * r + Float8(repeating: 5.0000001201e-1)
        p = p * (r * r) + r + Float8(repeating: 1)
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let twoToTheN = unsafeBitCast((integer &+ 127) &<< 23, to: Float8.self)
        return (p * twoToTheN).replacing(with: 0, where: x .< low8)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> Float8 {
        UnsafeRawPointer(p + i).loadUnaligned(as: Float8.self)
    }

    @inline(__always)
    static func store(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Float8.self)
    }

    /// max(x[0..<count]); -infinity when count is 0.
    @inline(__always)
    static func maximum(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var result = -Float.infinity
        var j = 0
        if count >= 8 {
            var m = load(x, 0)
            j = 8
            while j &+ 8 <= count {
                let v = load(x, j)
                m = m.replacing(with: v, where: v .> m)
                j &+= 8
            }
            for lane in 0..<8 where m[lane] > result { result = m[lane] }
        }
        while j < count { if x[j] > result { result = x[j] }; j &+= 1 }
        return result
    }

    /// sum(x[0..<count]).
    @inline(__always)
    static func sum(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var s = Float8(repeating: 0)
        var j = 0
        while j &+ 8 <= count { s += load(x, j); j &+= 8 }
        var result = s.sum()
        while j < count { result += x[j]; j &+= 1 }
        return result
    }

    /// sum(x[j] * y[j]).
    @inline(__always)
    static func dot(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var s = Float8(repeating: 0)
        var j = 0
        while j &+ 8 <= count { s.addProduct(load(x, j), load(y, j)); j &+= 8 }
        var result = s.sum()
        while j < count { result += x[j] * y[j]; j &+= 1 }
        return result
    }

    /// out[j] = e^((x[j] - shift) * scale); returns the sum of the out[j].
    @inline(__always)
    static func shiftedExp(_ x: UnsafeMutablePointer<Float>, shift: Float, scale: Float, out: UnsafeMutablePointer<Float>,
                           _ count: Int) -> Float {
        var s = Float8(repeating: 0)
        let shift8 = Float8(repeating: shift), scale8 = Float8(repeating: scale)
        var j = 0
        while j &+ 8 <= count {
            let e = exp((load(x, j) - shift8) * scale8)
            store(e, out, j)
            s += e
            j &+= 8
        }
        var total = s.sum()
        while j < count {
            let e = exp(Float8(repeating: (x[j] - shift) * scale))[0]   // the same exp as the vector lanes
            out[j] = e
            total += e
            j &+= 1
        }
        return total
    }

    /// into[j] += x[j].
    @inline(__always)
    static func add(_ x: UnsafeMutablePointer<Float>, into: UnsafeMutablePointer<Float>, _ count: Int) {
        var j = 0
        while j &+ 8 <= count { store(load(into, j) + load(x, j), into, j); j &+= 8 }
        while j < count { into[j] += x[j]; j &+= 1 }
    }

    /// x[j] *= factor.
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, by factor: Float, _ count: Int) {
        let f = Float8(repeating: factor)
        var j = 0
        while j &+ 8 <= count { store(load(x, j) * f, x, j); j &+= 8 }
        while j < count { x[j] *= factor; j &+= 1 }
    }
}
