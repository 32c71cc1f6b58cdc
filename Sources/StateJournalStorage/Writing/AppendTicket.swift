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
        case pending(first: CheckedContinuation<Outcome, Never>?, more: [CheckedContinuation<Outcome, Never>])
        case done(Outcome)
    }

    private let state = LockedValue(State.pending(first: nil, more: []))

    /// A ticket not yet completed: a store hands it out and completes it once, from any thread.
    @_spi(JournalStores) public init() {}

    /// The messages' sequence numbers, once durable per the journal's durability.
    public func value() async throws(JournalError) -> ClosedRange<UInt64> {
        let result: Outcome = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Outcome? in
                switch state {
                case .done(let result): return result
                case .pending(nil, let more):
                    state = .pending(first: continuation, more: more)
                    return nil
                case .pending(let first?, var more):
                    more.append(continuation)
                    state = .pending(first: first, more: more)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }

    /// Completes the ticket: every waiter, present and later, gets `result`. Later calls do nothing.
    @_spi(JournalStores) public func complete(_ result: Result<ClosedRange<UInt64>, JournalError>) {
        // No array is built for the usual single waiter (this is on every acknowledgement's path).
        let waiting = state.withLock {
            state -> (first: CheckedContinuation<Outcome, Never>?, more: [CheckedContinuation<Outcome, Never>]) in
            guard case .pending(let first, let more) = state else { return (nil, []) }
            state = .done(result)
            return (first, more)
        }
        waiting.first?.resume(returning: result)
        for continuation in waiting.more { continuation.resume(returning: result) }
    }
}
