#if canImport(Glibc)
    // Package: `withLock` is inlinable into the layers above, where it is on every append's path.
    package import Glibc
#endif

/// A value behind a `pthread_mutex_t`, both in one allocation.
///
/// Used instead of `Synchronization.Mutex` because ThreadSanitizer
/// understands pthread mutexes (it intercepts them): the concurrency tests
/// run under `--sanitize=thread` without false reports. Copies share the value.
package struct LockedValue<Value>: @unchecked Sendable {
    // Safe: the value is only touched inside `withLock`, with the mutex held.
    package let storage: LockedStorage<Value>

    package init(_ value: Value) { storage = LockedStorage.make(value) }

    @inlinable @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(storage) { () throws(E) -> R in
            let (value, mutex) = storage.withUnsafeMutablePointers { ($0, $1) }
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&value.pointee)
        }
    }
}

/// The value (the buffer's header) and its mutex (the buffer's one element) in one object.
package final class LockedStorage<Value>: ManagedBuffer<Value, pthread_mutex_t> {
    package static func make(_ value: Value) -> LockedStorage<Value> {
        let buffer = Self.create(minimumCapacity: 1) { _ in value }
        let storage = unsafeDowncast(buffer, to: LockedStorage<Value>.self)
        storage.withUnsafeMutablePointerToElements { mutex in
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
        }
        return storage
    }

    deinit {
        withUnsafeMutablePointers { _, mutex in
            pthread_mutex_destroy(mutex)
            mutex.deinitialize(count: 1)
        }
    }
}
