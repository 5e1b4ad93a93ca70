// One instance of a class per thread, for state that must never be shared between threads without a lock:
// the CPU backend's buffer pool, and the switches of `withoutGradients` and `withoutInitialization`.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `current` is this thread's `Value`, made by `make` on first use and released when the thread ends.
final class PerThread<Value: AnyObject> {
    private let key: pthread_key_t
    private let make: () -> Value

    init(_ make: @escaping () -> Value) {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in if let raw { Unmanaged<AnyObject>.fromOpaque(raw).release() } }
        self.key = key
        self.make = make
    }

    @inline(__always) var current: Value {
        if let raw = pthread_getspecific(key) { return Unmanaged<Value>.fromOpaque(raw).takeUnretainedValue() }
        let fresh = make()
        pthread_setspecific(key, Unmanaged.passRetained(fresh).toOpaque())
        return fresh
    }
}
