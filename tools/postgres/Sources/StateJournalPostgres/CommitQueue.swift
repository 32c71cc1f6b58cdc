import StateJournalStorage
import Synchronization

/// The journals with work waiting for a commit round, in the order they became ready; each is in
/// it at most once, and not while a round holds it.
final class CommitQueue: Sendable {
    private struct State {
        var ready: [PostgresJournal] = []
        var waiter: CheckedContinuation<Void, Never>?
        var stopped = false
    }
    private let state = Mutex(State())

    /// Queues `journal` for the next round; false when the store stopped running.
    func enqueue(_ journal: PostgresJournal) -> Bool {
        let (queued, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            if state.stopped { return (false, nil) }
            state.ready.append(journal)
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume()
        return queued
    }

    /// Up to `limit` ready journals, waiting (cancellably) for one; nil once cancelled or stopped.
    func next(limit: Int) async -> [PostgresJournal]? {
        while true {
            let taken = state.withLock { state -> [PostgresJournal]?? in
                if state.stopped { return .some(nil) }
                if state.ready.isEmpty { return nil }
                let count = min(limit, state.ready.count)
                let batch = Array(state.ready.prefix(count))
                state.ready.removeFirst(count)
                return .some(batch)
            }
            if let taken { return taken }
            if Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if !state.ready.isEmpty || state.stopped || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }

    /// Up to `limit` ready journals without waiting (perhaps none).
    func take(limit: Int) -> [PostgresJournal] {
        state.withLock { state in
            let count = min(limit, state.ready.count)
            defer { state.ready.removeFirst(count) }
            return Array(state.ready.prefix(count))
        }
    }

    /// Stops the queue: later enqueues are refused. Returns the journals still queued.
    @discardableResult
    func stop() -> [PostgresJournal] {
        let (left, waiter) = state.withLock { state in
            state.stopped = true
            defer {
                state.ready = []
                state.waiter = nil
            }
            return (state.ready, state.waiter)
        }
        waiter?.resume()
        return left
    }
}

/// A one-shot outcome a caller awaits, cancellably or not, while the work goes on in a round.
final class Completion<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, JournalError>?
        var waiter: CheckedContinuation<Result<Value, JournalError>, Never>?
        var observers: [@Sendable (Result<Value, JournalError>) -> Void] = []
    }
    private let state = Mutex(State())

    func complete(_ result: Result<Value, JournalError>) {
        let (waiter, observers) = state.withLock {
            state -> (
                CheckedContinuation<Result<Value, JournalError>, Never>?,
                [@Sendable (Result<Value, JournalError>) -> Void]
            ) in
            guard state.result == nil else { return (nil, []) }
            state.result = result
            defer {
                state.waiter = nil
                state.observers = []
            }
            return (state.waiter, state.observers)
        }
        waiter?.resume(returning: result)
        for observer in observers { observer(result) }
    }

    /// Calls `body` with the outcome once there is one (at once when there is one already).
    func observe(_ body: @escaping @Sendable (Result<Value, JournalError>) -> Void) {
        let done = state.withLock { state -> Result<Value, JournalError>? in
            if let result = state.result { return result }
            state.observers.append(body)
            return nil
        }
        if let done { body(done) }
    }

    /// The outcome; when `cancellable` and the caller is cancelled first, `cancelled` instead
    /// (the work goes on).
    func value(cancellable: Bool, cancelled: @autoclosure () -> JournalError) async -> Result<Value, JournalError> {
        let cancelledError = cancelled()
        let wait = {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, JournalError>, Never>) in
                let ready = self.state.withLock { state -> Result<Value, JournalError>? in
                    if let result = state.result { return result }
                    if cancellable && Task.isCancelled { return .failure(cancelledError) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
        guard cancellable else { return await wait() }
        return await withTaskCancellationHandler {
            await wait()
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Result<Value, JournalError>, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: .failure(cancelledError))
        }
    }
}
