// The CPU backend's buffers, and the one way from a Storage to its floats (for the CPU kernels only).

/// One CPU buffer. Storages share it as views; it goes back to the pool when the last one dies.
final class HostMemory {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) { self.count = count; pointer = BufferPool.take(count: count) }
    deinit { BufferPool.give(pointer, count: count) }
}

extension Storage {
    /// This storage's first float in host memory. CPU backend only (every file that uses it is in CPU/).
    @inline(__always) var pointer: UnsafeMutablePointer<Float> {
        // (An exact class check: one comparison, cheap enough for every kernel call, and it keeps a device
        // buffer from being read as host memory when tensors of two devices meet in one op.)
        precondition(type(of: memory) == HostMemory.self,
                     "a tensor on \(backend.name) was handed to the CPU backend: make every tensor on one device")
        return unsafeDowncast(memory, to: HostMemory.self).pointer + offset
    }
}
