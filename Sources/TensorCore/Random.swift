// A seeded pseudo-random generator whose algorithm is written down, so runs are reproducible
// bit for bit (same seed, same machine, same thread count).
import Foundation

/// xoshiro256** (Blackman and Vigna, 2018): 256 bits of state, period 2^256 - 1.
/// The state is filled from the 64-bit seed with SplitMix64, as the authors recommend.
///
/// Derived draws:
///   uniform()        the top 24 bits of next() times 2^-24: a Float in [0, 1)
///   normal()         Box-Muller on two 53-bit uniforms, keeping only the cosine half (no cached value,
///                    so `state` alone captures the generator)
///   integer(below:)  multiply-shift (Lemire): the high 64 bits of next() * n
public final class SeededRandom: RandomNumberGenerator {
    public var state: [UInt64]

    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix()]
    }

    /// Restores a generator from a saved `state` (four words).
    public init(state: [UInt64]) {
        precondition(state.count == 4 && state != [0, 0, 0, 0], "xoshiro256** needs four words, not all zero")
        self.state = state
    }

    @inline(__always)
    private static func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public func next() -> UInt64 {
        let result = Self.rotateLeft(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = Self.rotateLeft(state[3], 45)
        return result
    }

    public func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    public func normal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]: log never sees 0
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    public func integer(below n: Int) -> Int {
        precondition(n > 0)
        return Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }
}
