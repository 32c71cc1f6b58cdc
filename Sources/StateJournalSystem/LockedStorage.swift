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
            initializeMutex(mutex)
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

/// Initializes `mutex` as the library's locks are: adaptive where glibc has it
/// (`PTHREAD_MUTEX_ADAPTIVE_NP`). Their critical sections are a few dozen instructions, taken
/// by a sending task and an I/O thread in turn: a thread that finds the lock held polls it
/// briefly before it sleeps, rather than paying a futex wait and its wake-up (measured: a third
/// to a half of the futex calls per `.written` send, docs/PERFORMANCE.md, "Adaptive locks").
@usableFromInline
func initializeMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) {
    #if canImport(Glibc)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    #else
        pthread_mutex_init(mutex, nil)
    #endif
}
