// The backend seam, part 1: where tensor numbers live.
//
// Everything that touches memory goes through `Storage` (this file) and the kernels in this folder
// (BLAS.swift and *Kernels.swift). Ops in ../Ops only ever call those kernels with storages and sizes,
// never loop over numbers themselves. A GPU backend would give Storage a device buffer and supply the
// same kernel functions; nothing above this folder would change.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A contiguous buffer of Float32, either owned (recycled through `BufferPool` when it dies) or a view
/// into a larger storage (an arena, as in llm.c, where all parameters live in one flat buffer).
public final class Storage {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    private let arena: Storage?  // non-nil for views: keeps the owner alive

    /// A fresh buffer of `count` floats. Its contents are undefined (NaN in debug builds): kernels overwrite it.
    public init(count: Int) {
        self.count = count
        self.pointer = BufferPool.take(count: count)
        self.arena = nil
    }

    /// `count` floats starting at `offset` inside `arena`.
    public init(viewing arena: Storage, offset: Int, count: Int) {
        precondition(offset >= 0 && offset + count <= arena.count, "view outside its arena")
        self.count = count
        self.pointer = arena.pointer + offset
        self.arena = arena
    }

    public static func zeros(count: Int) -> Storage {
        let storage = Storage(count: count)
        storage.pointer.update(repeating: 0, count: count)
        return storage
    }

    /// The storage that owns the memory (the arena, for a view), and where this one starts inside it.
    public var owner: Storage { arena ?? self }
    public var offsetInOwner: Int { pointer - owner.pointer }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    deinit { if arena == nil { BufferPool.give(pointer, count: count) } }
}

/// Recycles buffers by exact size. A training step asks for the same sizes in the same order every
/// time, so once the first step has run, every later step reuses these buffers and `malloc` is never
/// called for tensor data again.
///
/// Each thread has its own shelves (no locks on the hot path). A buffer released on another thread simply
/// joins that thread's shelves.
public enum BufferPool {
    final class Shelves {
        var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
        var allocations = 0
        /// False inside `withoutGradients` (kept here because it is per thread, like the shelves).
        var recordsGradients = true
        deinit { drain() }
        func drain() {
            for (_, pointers) in free { pointers.forEach { UnsafeMutableRawPointer($0).deallocate() } }
            free = [:]
        }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in if let raw { Unmanaged<Shelves>.fromOpaque(raw).release() } }
        return key
    }()

    @inline(__always) static var shelves: Shelves {
        if let raw = pthread_getspecific(key) { return Unmanaged<Shelves>.fromOpaque(raw).takeUnretainedValue() }
        let fresh = Shelves()
        pthread_setspecific(key, Unmanaged.passRetained(fresh).toOpaque())
        return fresh
    }

    /// Fresh allocations made by this thread so far (a warm training step does not add to it).
    public static var allocations: Int { shelves.allocations }

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
