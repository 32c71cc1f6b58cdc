import StateJournalSystem
import Synchronization

/// The acknowledgement of messages queued with ``JournalWriter/submit(contentsOf:)``.
///
/// ``value()`` may be awaited any number of times, from any number of tasks:
/// each gets the same outcome.
public final class AppendTicket: Sendable {
    private typealias Outcome = Result<ClosedRange<UInt64>, JournalError>

    /// Checked, though it allocates an object per wait: resumed from a thread of the store, an
    /// unchecked continuation made ThreadSanitizer report a race inside
    /// `withUnsafeContinuation(isolation:)` (the runtime's hand-off is not visible to it there;
    /// one report in the fourth CI run of 2026-12-07), as it did for `JournalWriter.append`.
    private typealias Waiting = CheckedContinuation<Outcome, Never>

    private enum State {
        /// The usual single waiter needs no array (this is on every `send`'s path).
        case pending(
            first: Waiting?, more: [Waiting],
            callbacks: [@Sendable (Outcome) -> Void])
        case done(Outcome)
    }

    private let state = LockedValue(State.pending(first: nil, more: [], callbacks: []))
    /// Set once `state` is `.done`: what a polling waiter reads.
    private let completed = Atomic<Bool>(false)
    /// How long a waiter polls for the outcome before it suspends (0: it suspends at once).
    private let pollNanoseconds: UInt64

    /// A ticket not yet completed: a store hands it out and completes it once, from any thread.
    @_spi(JournalStores) public init() { pollNanoseconds = 0 }

    /// A ticket whose outcome the store expects within `nanoseconds` (a `.written` append whose
    /// write starts now on a thread that is polling for work): a waiter alone in the OS process
    /// polls for it that long before it suspends (see ``value()``).
    package init(expectedWithinNanoseconds nanoseconds: UInt64) { pollNanoseconds = nanoseconds }

    /// The messages' sequence numbers, once durable per the journal's durability.
    ///
    /// A waiter usually suspends until the store completes the ticket. When the store expects
    /// the outcome within microseconds and no other task of the OS process is waiting for a
    /// ticket, the waiter instead polls for it on its thread for that long first: suspending
    /// and being resumed from the store's thread cost a wake-up of a cooperative thread
    /// (10–30 µs here), more than the write itself. One waiter at a time polls, so at most one
    /// cooperative thread is held, for at most the store's bound; after a poll that ran out,
    /// the next few waiters suspend at once.
    public func value() async throws(JournalError) -> ClosedRange<UInt64> {
        if pollNanoseconds > 0, let ready = poll() { return try ready.get() }
        Self.suspended.add(1, ordering: .relaxed)
        defer { Self.suspended.subtract(1, ordering: .relaxed) }
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

    /// Tasks suspended in ``value()`` in this OS process: polling pays only when none is.
    private static let suspended = Atomic<Int>(0)
    /// 1 while a waiter polls.
    private static let polling = Atomic<Int>(0)
    /// Waiters that suspend at once before the next one polls, after a poll ran out.
    private static let pollsSkipped = Atomic<Int>(0)
    /// How many waiters suspend at once after the next poll that runs out (doubles up to 256).
    private static let pollBackoff = Atomic<Int>(1)

    /// The outcome, if the ticket is completed within its poll time and polling pays now.
    private func poll() -> Outcome? {
        if completed.load(ordering: .acquiring) { return outcome() }
        guard Self.suspended.load(ordering: .relaxed) == 0 else { return nil }
        if Self.pollsSkipped.load(ordering: .relaxed) > 0 {
            Self.pollsSkipped.subtract(1, ordering: .relaxed)
            return nil
        }
        guard Self.polling.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged else { return nil }
        defer { Self.polling.store(0, ordering: .releasing) }
        let done = SpinWait.poll(forNanoseconds: pollNanoseconds) { completed.load(ordering: .acquiring) }
        if done {
            Self.pollBackoff.store(1, ordering: .relaxed)
            return outcome()
        }
        let backoff = Self.pollBackoff.load(ordering: .relaxed)
        Self.pollsSkipped.store(backoff, ordering: .relaxed)
        Self.pollBackoff.store(min(backoff * 2, 256), ordering: .relaxed)
        return nil
    }

    /// The outcome of a completed ticket.
    private func outcome() -> Outcome {
        state.withLock { state in
            guard case .done(let result) = state else { preconditionFailure("the ticket is not completed") }
            return result
        }
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
                first: Waiting?, more: [Waiting], callbacks: [@Sendable (Outcome) -> Void]
            ) in
            guard case .pending(let first, let more, let callbacks) = state else { return (nil, [], []) }
            state = .done(result)
            return (first, more, callbacks)
        }
        completed.store(true, ordering: .releasing)
        for callback in waiting.callbacks { callback(result) }
        waiting.first?.resume(returning: result)
        for continuation in waiting.more { continuation.resume(returning: result) }
    }
}
