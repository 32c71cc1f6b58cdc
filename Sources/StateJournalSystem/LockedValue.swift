#if canImport(Glibc)
    // Public: `withLock` is inlinable into the layers above, where it is on every append's path.
    package import Glibc
#endif

/// A value behind a `pthread_mutex_t`.
///
/// Used instead of `Synchronization.Mutex` because ThreadSanitizer
/// understands pthread mutexes (it intercepts them): the concurrency tests
/// run under `--sanitize=thread` without false reports.
package final class LockedValue<Value>: @unchecked Sendable {
    // Safe: `value` is only touched inside `withLock`, with `mutex` held.
    @usableFromInline let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    @usableFromInline var value: Value

    package init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable @inline(__always)
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
