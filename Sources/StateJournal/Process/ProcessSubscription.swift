import StateJournalSystem
import Synchronization

/// One subscription: its registration in the process, and its reading of the journal while it
/// catches up. Dropping the iterator ends the subscription.
final class SubscriptionToken<P: JournaledProcess>: @unchecked Sendable {
    // Safe: an AsyncIterator's `next()` calls are never concurrent; `replay` is touched only there.
    let cell: ProcessCell<P>
    let id: Int
    private var registered = false
    private let from: UInt64
    private let bufferLimit: Int
    private var replay: JournalReplay.Iterator?
    /// Elements taken from the subscription's buffer in one step, handed out one by one.
    private var taken: [JournaledEvent<P>] = []
    private var takenIndex = 0

    init(cell: ProcessCell<P>, from: UInt64, bufferLimit: Int) {
        self.cell = cell
        self.from = max(1, from)
        self.bufferLimit = max(1, bufferLimit)
        self.id = cell.subscriptions.newID()
    }

    deinit { cell.subscriptions.remove(id) }

    func next(isolation actor: isolated (any Actor)?) async throws -> JournaledEvent<P>? {
        if !registered {
            registered = true
            cell.subscriptions.add(id, from: from, bufferLimit: bufferLimit)
        }
        if takenIndex < taken.count {
            defer { takenIndex += 1 }
            return taken[takenIndex]
        }
        var fruitless = 0
        while true {
            switch try await cell.subscriptionStep(id) {
            case .elements(let elements):
                taken = elements
                takenIndex = 1
                return elements[0]
            case .end: return nil
            case .wait(let slot): try await cell.subscriptionSignal.wait(slot)
            case .catchUp(let next, let target):
                // Read one chunk of the journal (on the library's I/O threads), outside the process.
                var iterator =
                    replay ?? cell.store.replay(cell.id, from: next, chunkMessages: bufferLimit).makeAsyncIterator()
                let chunk = try await iterator.next()
                let ended: Bool
                if case .none = chunk { ended = true } else { ended = false }
                replay = ended ? nil : iterator
                var elements: [JournaledEvent<P>] = []
                var after = next
                switch chunk {
                case .snapshot(let snapshot)?:
                    if snapshot.sequence >= after {
                        guard let codec = cell.stateCodec else {
                            throw ProcessError(
                                code: .replayFailed,
                                message:
                                    "a snapshot folded messages this subscription had not read, and the process has no state codec",
                                processID: cell.id, journal: cell.journalPath, sequence: snapshot.sequence)
                        }
                        let state = try snapshot.bytes.withUnsafeBytes { try codec.decode($0) }
                        elements.append(.snapshot(sequence: snapshot.sequence, state))
                        after = snapshot.sequence + 1
                    }
                case .messages(let messages)?:
                    for message in messages where message.sequence >= after && message.sequence <= target {
                        guard message.sequence == after else { break }
                        let decoded = try message.withUnsafeBytes { try cell.messageCodec.decode($0) }
                        elements.append(.message(sequence: message.sequence, decoded))
                        after += 1
                    }
                case .stateDigest?, nil:
                    break
                }
                // The end of a file that did not reach the target: the journal was rewritten (a
                // snapshot) or is behind its writer; read it again, a bounded number of times.
                if ended && after <= target {
                    fruitless += 1
                    if fruitless > 3 {
                        throw ProcessError(
                            code: .replayFailed, message: "the journal does not hold acknowledged message \(after)",
                            processID: cell.id, journal: cell.journalPath, sequence: after)
                    }
                } else if after > next {
                    fruitless = 0
                }
                await cell.caughtUp(id, from: next, elements: elements, next: after)
            }
        }
    }
}

/// The subscriptions of one process: what each has been given, and its live buffer.
final class Subscriptions<P: JournaledProcess>: Sendable {
    /// One subscription's state; a class, so that it is changed in place under the lock (its
    /// buffer is never copied).
    final class Subscriber {
        /// The sequence number of the next element to buffer.
        var next: UInt64
        var buffer: [JournaledEvent<P>] = []
        var head = 0
        /// Not taking live messages: reading the journal until it reaches the acknowledged ones.
        var catchingUp = true
        let limit: Int
        /// Set when the process stopped (nil: the sequence ends) or was given up (the error).
        var ending: ProcessError??

        init(next: UInt64, limit: Int) {
            self.next = next
            self.limit = limit
        }

        var buffered: Int { buffer.count - head }

        func push(_ element: JournaledEvent<P>) {
            buffer.append(element)
            next = element.sequence + 1
        }

        /// Everything buffered, in order.
        func drain() -> [JournaledEvent<P>] {
            defer {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            return head == 0 ? buffer : Array(buffer[head...])
        }
    }

    private struct State {
        var counter = 0
        var subscribers: [Int: Subscriber] = [:]
        /// Set while the process is stopped or given up: a subscription made then ends at once.
        var closed: ProcessError??
    }

    private let state = LockedValue(State())
    /// How many subscribers there are, kept with `state.subscribers` under its lock: read
    /// without the lock on every message (the lock of a generic type costs metadata lookups).
    private let subscriberCount = Atomic<Int>(0)

    func newID() -> Int {
        state.withLock { state in
            state.counter += 1
            return state.counter
        }
    }

    func add(_ id: Int, from: UInt64, bufferLimit: Int) {
        state.withLock { state in
            let subscriber = Subscriber(next: from, limit: bufferLimit)
            subscriber.ending = state.closed
            state.subscribers[id] = subscriber
            subscriberCount.store(state.subscribers.count, ordering: .releasing)
        }
    }

    /// The process runs (again): new subscriptions follow it.
    func open() {
        state.withLock { $0.closed = nil }
    }

    func remove(_ id: Int) {
        state.withLock { state in
            state.subscribers.removeValue(forKey: id)
            subscriberCount.store(state.subscribers.count, ordering: .releasing)
        }
    }

    var isEmpty: Bool { subscriberCount.load(ordering: .acquiring) == 0 }

    /// Ends every subscription once its buffer is drained: normally (nil) or with `error`.
    func endAll(_ error: ProcessError?) {
        state.withLock { state in
            state.closed = .some(error)
            for subscriber in state.subscribers.values where subscriber.ending == nil {
                subscriber.ending = .some(error)
            }
        }
    }

    func withSubscriber<R>(_ id: Int, _ body: (Subscriber) -> R) -> R? {
        state.withLock { state in
            guard let subscriber = state.subscribers[id] else { return nil }
            return body(subscriber)
        }
    }

    /// Sends every live subscriber still expecting a message through `sequence` (all of them
    /// acknowledged, and offered) back to the journal: it missed one, since it was applied
    /// before the subscriber went live.
    func catchUpBehind(_ sequence: UInt64) {
        state.withLock { state in
            for subscriber in state.subscribers.values where !subscriber.catchingUp && subscriber.next <= sequence {
                subscriber.catchingUp = true
            }
        }
    }

    /// Offers an element to every live subscriber: the one it expects is buffered; a full buffer,
    /// or a gap, sends the subscriber back to the journal. Returns whether anyone took it.
    @discardableResult
    func offer(_ element: JournaledEvent<P>, first: UInt64? = nil) -> Bool {
        state.withLock { state in
            var taken = false
            for subscriber in state.subscribers.values {
                guard !subscriber.catchingUp else { continue }
                let start = first ?? element.sequence
                if element.sequence < subscriber.next { continue }
                if start > subscriber.next || subscriber.buffered >= subscriber.limit {
                    subscriber.catchingUp = true
                    continue
                }
                subscriber.push(element)
                taken = true
            }
            return taken
        }
    }
}
