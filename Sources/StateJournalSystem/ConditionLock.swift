#if canImport(Glibc)
    import Glibc
#endif

/// A mutex with one condition, whose timed waits use the monotonic clock (a wall-clock step
/// never stretches or cuts a wait). ThreadSanitizer understands it (pthreads).
package final class ConditionLock: @unchecked Sendable {
    // Safe: a pthread mutex and condition, used only through these methods.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        initializeMutex(mutex)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    /// Wakes one waiter (call with or without the lock held).
    package func signal() { pthread_cond_signal(condition) }
    /// Wakes every waiter.
    package func broadcast() { pthread_cond_broadcast(condition) }
    /// Waits, with the lock held, until signalled or until the monotonic clock passes
    /// `deadline` nanoseconds (``IOThreadPool/now()``); may wake spuriously.
    package func wait(untilNanoseconds deadline: UInt64) {
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(condition, mutex, &spec)
    }
    /// Waits, with the lock held, until signalled; may wake spuriously.
    package func wait() { pthread_cond_wait(condition, mutex) }
}
