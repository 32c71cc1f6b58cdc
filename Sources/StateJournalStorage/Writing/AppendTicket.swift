import StateJournalSystem
import Synchronization

/// The acknowledgement of messages queued with ``JournalWriter/submit(contentsOf:)``.
///
/// ``value()`` may be awaited any number of times, from any number of tasks:
/// each gets the same outcome.
public final class AppendTicket: Sendable {
    private typealias Outcome = Result<ClosedRange<UInt64>, JournalError>

    private enum State {
        /// The usual single waiter needs no array (this is on every `send`'s path).
        case pending(
            first: CheckedContinuation<Outcome, Never>?, more: [CheckedContinuation<Outcome, Never>],
            callbacks: [@Sendable (Outcome) -> Void])
        case done(Outcome)
    }

    private let state = LockedValue(State.pending(first: nil, more: [], callbacks: []))

    /// A ticket not yet completed: a store hands it out and completes it once, from any thread.
    @_spi(JournalStores) public init() {}

    /// The messages' sequence numbers, once durable per the journal's durability.
    public func value() async throws(JournalError) -> ClosedRange<UInt64> {
        let result: Outcome = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Outcome? in
                switch state {
                case .done(let result): return result
                case .pending(nil, let more, let callbacks):
                    state = .pending(first: continuation, more: more, callbacks: callbacks)
                    return nil
                case .pending(let first?, var more, let callbacks):
                    more.append(continuation)
                    state = .pending(first: first, more: more, callbacks: callbacks)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }

    /// Calls `body` with the outcome once the ticket is completed: on the completing thread (one
    /// of the store's), or at once on the caller's when it is completed already. `body` must not
    /// block. Lets a caller answer many waiters from one completion without a task each.
    package func whenComplete(_ body: @escaping @Sendable (Result<ClosedRange<UInt64>, JournalError>) -> Void) {
        let ready = state.withLock { state -> Outcome? in
            switch state {
            case .done(let result): return result
            case .pending(let first, let more, var callbacks):
                callbacks.append(body)
                state = .pending(first: first, more: more, callbacks: callbacks)
                return nil
            }
        }
        if let ready { body(ready) }
    }

    /// Completes the ticket: every waiter, present and later, gets `result`. Later calls do nothing.
    @_spi(JournalStores) public func complete(_ result: Result<ClosedRange<UInt64>, JournalError>) {
        // No array is built for the usual single waiter (this is on every acknowledgement's path).
        let waiting = state.withLock {
            state -> (
                first: CheckedContinuation<Outcome, Never>?, more: [CheckedContinuation<Outcome, Never>],
                callbacks: [@Sendable (Outcome) -> Void]
            ) in
            guard case .pending(let first, let more, let callbacks) = state else { return (nil, [], []) }
            state = .done(result)
            return (first, more, callbacks)
        }
        for callback in waiting.callbacks { callback(result) }
        waiting.first?.resume(returning: result)
        for continuation in waiting.more { continuation.resume(returning: result) }
    }
}
