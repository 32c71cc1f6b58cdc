import Synchronization

/// The acknowledgement of messages queued with ``JournalWriter/submit(contentsOf:)``.
///
/// ``value()`` may be awaited any number of times, from any number of tasks:
/// each gets the same outcome.
public final class AppendTicket: Sendable {
    private typealias Outcome = Result<ClosedRange<UInt64>, JournalError>

    private enum State {
        case pending([CheckedContinuation<Outcome, Never>])
        case done(Outcome)
    }

    private let state = LockedValue(State.pending([]))

    init() {}

    /// The messages' sequence numbers, once durable per the journal's durability.
    public func value() async throws(JournalError) -> ClosedRange<UInt64> {
        let result: Outcome = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Outcome? in
                switch state {
                case .done(let result): return result
                case .pending(var waiting):
                    waiting.append(continuation)
                    state = .pending(waiting)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }

    func complete(_ result: Result<ClosedRange<UInt64>, JournalError>) {
        let waiting = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
            guard case .pending(let continuations) = state else { return [] }
            state = .done(result)
            return continuations
        }
        for continuation in waiting { continuation.resume(returning: result) }
    }
}
