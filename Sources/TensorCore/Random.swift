// Seeded pseudo-random numbers whose algorithms are written down, so runs are reproducible bit for bit
// (same seed, same machine, same thread count): xoshiro256** for weights and batches, and the
// counter-based Philox4x32-10 for dropout masks (the same on every backend, in any order).
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

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011), the counter-based
/// generator behind dropout masks. Each 128-bit counter gives four 32-bit words on its own, so element i
/// of a mask is the same on any backend and in any order of computation: no state is carried from draw to
/// draw. Here the counter is (block low, block high, stream low, stream high) and the key is the seed.
///
///     round:  (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2     (32 x 32 -> 64-bit products)
///             c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);  then k += (W0, W1)
///     10 rounds; M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85.
public enum Philox4x32 {
    public static func block(counter: UInt64, stream: UInt64, seed: UInt64) -> SIMD4<UInt32> {
        block(SIMD4(UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32),
                    UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
              key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// The raw function on a 128-bit counter and a 64-bit key (what the published test vectors check).
    public static func block(_ counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter, k = key
        for round in 0..<10 {
            if round > 0 { k &+= SIMD2(0x9E37_79B9, 0xBB67_AE85) }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c[0]), p1 = UInt64(0xCD9E_8D57) &* UInt64(c[2])
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c[1] ^ k[0], UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c[3] ^ k[1], UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// The top 24 bits of a word times 2^-24: a Float in [0, 1).
    @inline(__always) public static func uniform(_ word: UInt32) -> Float { Float(word >> 8) * 0x1p-24 }
}

/// A run's random streams. Each is its own generator, seeded from the run's seed plus its number, so that
/// drawing more from one (a longer evaluation, a sample) never changes what another draws. The numbers are
/// part of every result: changing one changes every loss.
public enum RandomStream: UInt64, Sendable {
    case weights = 0                 // the model's initial weights
    case batches = 1                 // the windows each training step sees
    case evaluation = 2              // estimateLoss's batches
    case sampling = 3                // the text sampled after training
    case dropout = 4                 // the dropout masks
    case untrainedSample = 5         // the text sampled before training
    case pytorchInitialization = 6   // chapter 03's exercise: PyTorch's default initialization

    /// The seed of this stream in a run seeded with `runSeed`.
    public func seed(from runSeed: UInt64) -> UInt64 { runSeed &+ rawValue }
}

extension SeededRandom {
    /// The generator of one of a run's streams.
    public convenience init(seed runSeed: UInt64, stream: RandomStream) {
        self.init(seed: stream.seed(from: runSeed))
    }
}

