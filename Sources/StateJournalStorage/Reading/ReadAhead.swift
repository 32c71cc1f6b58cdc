import StateJournalSystem

/// The elements a replay's reading task has read and its consumer has not taken yet: at most
/// `capacity` of them (each a chunk of bounded size), so memory stays bounded however far the
/// reading could run ahead. One task puts, one takes; either side waits for the other.
final class ReadAhead: Sendable {
    private struct State {
        var elements: [ReplayElement] = []
        var head = 0
        /// How the reading ended: nil while it goes on.
        var end: Result<Void, JournalError>?
        /// The consumer stopped taking: the reader stops at its next put.
        var abandoned = false
        var taker: CheckedContinuation<Void, Never>?
        var putter: CheckedContinuation<Void, Never>?

        var count: Int { elements.count - head }
    }

    private let state = LockedValue(State())
    let capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
    }

    /// Queues `element`, waiting while `capacity` are queued; false once the consumer stopped.
    func put(_ element: ReplayElement) async -> Bool {
        while true {
            enum Step {
                case queued(CheckedContinuation<Void, Never>?)
                case full
                case abandoned
            }
            let step = state.withLock { state -> Step in
                if state.abandoned { return .abandoned }
                guard state.count < capacity else { return .full }
                state.elements.append(element)
                defer { state.taker = nil }
                return .queued(state.taker)
            }
            switch step {
            case .abandoned: return false
            case .queued(let taker):
                taker?.resume()
                return true
            case .full:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let wait = state.withLock { state -> Bool in
                        guard !state.abandoned, state.count >= capacity else { return false }
                        state.putter = continuation
                        return true
                    }
                    if !wait { continuation.resume() }
                }
            }
        }
    }

    /// Ends the reading: after the queued elements, `take` returns nil (or throws `error`).
    func finish(_ error: JournalError?) {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.end == nil { state.end = error.map { .failure($0) } ?? .success(()) }
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
    }

    /// The next element in order, waiting for the reader; nil at the end.
    func take() async throws(JournalError) -> ReplayElement? {
        while true {
            enum Step {
                case element(ReplayElement, CheckedContinuation<Void, Never>?)
                case end(Result<Void, JournalError>)
                case empty
            }
            let step = state.withLock { state -> Step in
                if state.head < state.elements.count {
                    let element = state.elements[state.head]
                    state.elements[state.head] = .messages([])
                    state.head += 1
                    if state.head == state.elements.count {
                        state.elements.removeAll(keepingCapacity: true)
                        state.head = 0
                    }
                    defer { state.putter = nil }
                    return .element(element, state.putter)
                }
                if let end = state.end { return .end(end) }
                return .empty
            }
            switch step {
            case .element(let element, let putter):
                putter?.resume()
                return element
            case .end(let end):
                try end.get()
                return nil
            case .empty:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let wait = state.withLock { state -> Bool in
                        guard state.count == 0, state.end == nil else { return false }
                        state.taker = continuation
                        return true
                    }
                    if !wait { continuation.resume() }
                }
            }
        }
    }

    /// The consumer stops: a reader waiting for room, or putting next, gives up.
    func abandon() {
        let putter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.abandoned = true
            state.elements = []
            state.head = 0
            defer { state.putter = nil }
            return state.putter
        }
        putter?.resume()
    }
}
