/// A value behind a `pthread_mutex_t`, both in one allocation.
///
/// Used instead of `Synchronization.Mutex` because ThreadSanitizer
/// understands pthread mutexes (it intercepts them): the concurrency tests
/// run under `--sanitize=thread` without false reports. Copies share the value.
///
/// Public, not `package`, so that `withLock` is inlined and specialized in the
/// modules above: this toolchain does not inline a `package` function across
/// modules, and an unspecialized `withLock` looked up generic metadata on every
/// call (~10% of the CPU of an append). StateJournalSystem is no product, so
/// nothing here is public API.
public struct LockedValue<Value>: @unchecked Sendable {
    // Safe: the value is only touched inside `withLock`, with the mutex held.
    public let storage: LockedStorage<Value>

    @inlinable
    public init(_ value: Value) { storage = LockedStorage.make(value) }

    @inlinable @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try storage.withLockedValue(body)
    }
}
