// The CPU backend's pool of host buffers: 64-byte aligned, recycled by exact size.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Recycles buffers by exact size. A training step asks for the same sizes in the same order every
/// time, so once the first step has run, every later step reuses these buffers and `malloc` is never
/// called for tensor data again.
///
/// Each thread has its own shelves (no locks on the hot path). A buffer released on another thread simply
/// joins that thread's shelves.
public enum BufferPool {
    final class Shelves {
        var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
        var allocations = 0, handedOut = 0
        deinit { drain() }
        func drain() {
            for (_, pointers) in free { pointers.forEach { UnsafeMutableRawPointer($0).deallocate() } }
            free = [:]
        }
    }

    private static let perThread = PerThread { Shelves() }
    @inline(__always) static var shelves: Shelves { perThread.current }

    /// Fresh allocations made by this thread so far (a warm training step does not add to it).
    public static var allocations: Int { shelves.allocations }
    /// Buffers handed out to this thread so far, recycled or fresh: one for every Storage made (the decode
    /// path of generation takes none per token).
    public static var handedOut: Int { shelves.handedOut }

    static func take(count: Int) -> UnsafeMutablePointer<Float> {
        let pointer = takeUninitialized(count: count)
        #if DEBUG
        // A fresh buffer's contents are undefined, so in debug builds (and so in every test) they are NaN:
        // an op that reads a buffer it should first have written (a gradient it should have overwritten,
        // an output row it skipped) then poisons its result and fails every test that touches it.
        pointer.update(repeating: .nan, count: count)
        #endif
        return pointer
    }

    private static func takeUninitialized(count: Int) -> UnsafeMutablePointer<Float> {
        let shelves = shelves
        shelves.handedOut &+= 1
        if let pointer = shelves.free[count]?.popLast() { return pointer }
        shelves.allocations += 1
        // 64-byte alignment: a cache line, and what AVX loads like best.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    static func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        shelves.free[count, default: []].append(pointer)
    }

    /// Returns this thread's idle buffers to the system (for example after generating with many
    /// different context lengths).
    public static func drain() { shelves.drain() }
}
