import StateJournalStorage
import StateJournalSystem

/// Tasks waiting for a process to change phase (to be running again after a
/// restart), each cancellable on its own.
///
/// A wait is two steps so that no wake-up is lost: ``arm()`` runs on the
/// process's actor, in the same step that saw the process was not running,
/// and reserves a slot; ``wait(_:)`` then suspends on that slot, possibly on
/// another task (the timeout path). A ``wakeAll()`` that comes between the
/// two fires the slot, and the wait returns at once.
///
/// A woken task is not told that the process runs: it looks at the phase
/// again, since another task may have crashed it in between.
final class PhaseWaiters: Sendable {
    private enum Slot {
        case armed
        case waiting(CheckedContinuation<Void, any Error>)
        case fired
        case cancelled
    }

    private struct State {
        var next = 0
        var slots: [Int: Slot] = [:]
    }

    private let state = LockedValue(State())

    /// Reserves a slot; follow with ``wait(_:)``.
    func arm() -> Int {
        state.withLock { state in
            state.next += 1
            state.slots[state.next] = .armed
            return state.next
        }
    }

    /// Suspends until the next ``wakeAll()`` after ``arm()``, or throws
    /// `CancellationError` when the task is cancelled first.
    func wait(_ slot: Int) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Slot? in
                    switch state.slots[slot] {
                    case .armed?:
                        state.slots[slot] = .waiting(continuation)
                        return nil
                    case .fired?, .cancelled?, .waiting?, nil:
                        return state.slots.removeValue(forKey: slot) ?? .cancelled
                    }
                }
                switch outcome {
                case nil: break
                case .fired?: continuation.resume()
                default: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                switch state.slots[slot] {
                case .waiting(let continuation)?:
                    state.slots[slot] = nil
                    return continuation
                case .armed?:
                    state.slots[slot] = .cancelled
                    return nil
                default:
                    return nil
                }
            }
            waiting?.resume(throwing: CancellationError())
        }
    }

    /// Suspends until the next ``wakeAll()`` after ``arm()``; cancellation does not end it
    /// (for steps that must not be skipped, such as one restart waiting for another).
    func waitIgnoringCancellation(_ slot: Int) async {
        try? await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let fired = state.withLock { state -> Bool in
                if case .armed? = state.slots[slot] {
                    state.slots[slot] = .waiting(continuation)
                    return false
                }
                state.slots[slot] = nil
                return true
            }
            if fired { continuation.resume() }
        }
    }

    /// Wakes every waiting task, and fires the slots armed but not yet waited on.
    func wakeAll() {
        let continuations = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            var woken: [CheckedContinuation<Void, any Error>] = []
            for (id, slot) in state.slots {
                switch slot {
                case .waiting(let continuation):
                    woken.append(continuation)
                    state.slots[id] = nil
                case .armed:
                    state.slots[id] = .fired
                case .fired, .cancelled:
                    break
                }
            }
            return woken
        }
        for continuation in continuations { continuation.resume() }
    }

    /// How many slots are in use (tests: nothing leaks).
    var count: Int { state.withLock { $0.slots.count } }
}
