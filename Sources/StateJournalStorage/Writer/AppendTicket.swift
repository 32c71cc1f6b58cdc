import Synchronization

/// The acknowledgement of messages queued with ``JournalWriter/submit(contentsOf:)``.
public final class AppendTicket: Sendable {
    private enum State {
        case pending(CheckedContinuation<Result<ClosedRange<UInt64>, JournalError>, Never>?)
        case done(Result<ClosedRange<UInt64>, JournalError>)
    }

    private let state = LockedValue(State.pending(nil))

    init() {}

    /// The messages' sequence numbers, once durable per the journal's durability.
    public func value() async throws(JournalError) -> ClosedRange<UInt64> {
        let result: Result<ClosedRange<UInt64>, JournalError> = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<ClosedRange<UInt64>, JournalError>? in
                switch state {
                case .done(let result): return result
                case .pending: state = .pending(continuation); return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }

    func complete(_ result: Result<ClosedRange<UInt64>, JournalError>) {
        let waiting = state.withLock { state -> CheckedContinuation<Result<ClosedRange<UInt64>, JournalError>, Never>? in
            guard case .pending(let continuation) = state else { return nil }
            state = .done(result)
            return continuation
        }
        waiting?.resume(returning: result)
    }
}
