// Where tensor numbers live: a buffer that belongs to a backend, an offset into it, and a count.
//
// A storage is opaque above this folder. Numbers cross between the backend and the host only through the
// explicit copies below (and `withHostBuffer`, which lends them), so a device backend can tell where data
// leaves or enters it.

/// `count` floats at `offset` inside a backend's buffer. Several storages can view one buffer (the
/// parameter arena, as in llm.c, keeps every parameter in one flat buffer and each tensor is a view).
public final class Storage {
    public let count: Int
    public let backend: any Backend
    /// The backend's buffer handle (only the backend looks inside), and where this storage starts in it.
    public let memory: AnyObject
    public let offset: Int

    /// A fresh buffer of `count` floats on `backend`. Its contents are undefined (NaN on the CPU in debug
    /// builds): kernels overwrite it.
    public init(count: Int, on backend: any Backend = Backends.current) {
        self.count = count
        self.backend = backend
        self.memory = backend.allocate(count: count)
        self.offset = 0
    }

    /// `count` floats starting at element `offset` of `arena` (no copy).
    public init(viewing arena: Storage, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= arena.count, "view outside its arena")
        self.count = count
        self.backend = arena.backend
        self.memory = arena.memory
        self.offset = arena.offset + offset
    }

    public static func zeros(count: Int, on backend: any Backend = Backends.current) -> Storage {
        let storage = Storage(count: count, on: backend)
        backend.fill(storage, with: 0)
        return storage
    }

    /// A storage holding a copy of `values`.
    public convenience init(host values: [Float], on backend: any Backend = Backends.current) {
        self.init(count: values.count, on: backend)
        copy(fromHost: values, at: 0)
    }

    public func fill(_ value: Float) { backend.fill(self, with: value) }

    // MARK: Host copies

    /// Copies `values` into elements `element ..< element + values.count`.
    public func copy(fromHost values: [Float], at element: Int = 0) {
        precondition(element >= 0 && element + values.count <= count, "host copy outside the storage")
        values.withUnsafeBufferPointer { backend.copy(fromHost: $0, to: self, at: element) }
    }

    /// A host copy of elements `range` (all of them by default).
    public func toHost(_ range: Range<Int>? = nil) -> [Float] {
        let range = range ?? 0..<count
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "host copy outside the storage")
        return [Float](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            backend.copy(self, range: range, toHost: buffer)
            initialized = range.count
        }
    }

    /// Lends the numbers to host code that reads and writes them in place (MPI's all-reduce): the CPU's
    /// own buffer, or a device's numbers copied out and back in.
    public func withHostBuffer(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        backend.withHostBuffer(self, body)
    }

    /// One element, copied to or from the host (for gradient checks and tests, not for loops).
    public subscript(element: Int) -> Float {
        get { toHost(element..<(element + 1))[0] }
        set { copy(fromHost: [newValue], at: element) }
    }

    // MARK: Views

    /// Whether `self` is a view into a larger buffer that also holds other storages (an arena).
    public func isView(into arena: Storage) -> Bool {
        memory === arena.memory && offset >= arena.offset && offset + count <= arena.offset + arena.count
    }
}
