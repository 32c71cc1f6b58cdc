#if canImport(Glibc)
    public import Glibc
#endif

/// The value (the buffer's header) and its mutex (the buffer's one element) in one object.
public final class LockedStorage<Value>: ManagedBuffer<Value, pthread_mutex_t> {
    @inlinable
    public static func make(_ value: Value) -> LockedStorage<Value> {
        let buffer = Self.create(minimumCapacity: 1) { _ in value }
        let storage = unsafeDowncast(buffer, to: LockedStorage<Value>.self)
        storage.withUnsafeMutablePointerToElements { mutex in
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
        }
        return storage
    }

    @inlinable @inline(__always)
    public final func withLockedValue<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        let mutex = withUnsafeMutablePointerToElements { $0 }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try withUnsafeMutablePointerToHeader { (value) throws(E) -> R in try body(&value.pointee) }
    }

    deinit {
        withUnsafeMutablePointers { _, mutex in
            pthread_mutex_destroy(mutex)
            mutex.deinitialize(count: 1)
        }
    }
}
