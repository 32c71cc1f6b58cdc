#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One object kept per thread between uses (a pthread key): `take()` empties this thread's slot,
/// so a nested use on the same thread finds it empty and makes its own; `put(_:)` fills it again.
/// A thread's object is released when the thread ends.
package final class ThreadLocalObject<Object: AnyObject>: Sendable {
    private let key: pthread_key_t

    package init() {
        var key = pthread_key_t()
        #if canImport(Darwin)
            let status = pthread_key_create(&key) { Unmanaged<AnyObject>.fromOpaque($0).release() }
        #else
            let status = pthread_key_create(&key) { pointer in
                if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
            }
        #endif
        precondition(status == 0, "pthread_key_create: \(status)")
        self.key = key
    }

    /// This thread's object, taken out of its slot; nil when the slot is empty.
    @inline(__always)
    package func take() -> Object? {
        guard let kept = pthread_getspecific(key) else { return nil }
        pthread_setspecific(key, nil)
        return Unmanaged<Object>.fromOpaque(kept).takeRetainedValue()
    }

    /// Keeps `object` for this thread's next `take()`, unless the slot was filled meanwhile.
    @inline(__always)
    package func put(_ object: Object) {
        guard pthread_getspecific(key) == nil else { return }
        pthread_setspecific(key, Unmanaged<Object>.passRetained(object).toOpaque())
    }
}
