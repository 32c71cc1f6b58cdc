/// The way to talk to a supervised process. The handle stays valid across
/// restarts: while the process restarts, `send` and `read` wait for it.
public struct ProcessHandle<P: JournaledProcess>: Sendable {
    let cell: ProcessCell<P>

    /// The process's id.
    public var id: String { cell.id }
    /// The path of its journal.
    public var journalPath: String { cell.journalPath }

    /// Applies `message`, journals it, and returns its sequence number once it
    /// is acknowledged per the process's durability.
    ///
    /// Concurrent senders' messages are applied and journaled in one order,
    /// the order replay uses. When ``JournaledProcess/validate(_:against:)``
    /// refuses the message, this throws the process's `Refusal` as is;
    /// nothing was applied or journaled and the process goes on. When `apply`
    /// throws, the message is not journaled, this throws
    /// ``ProcessError/Code/rejected`` with the error, and the process crashes
    /// and is restarted without it.
    ///
    /// While the process restarts, `send` waits. The wait ends with task
    /// cancellation (`CancellationError`) or after `timeout` (default:
    /// ``ProcessOptions/timeout``; ``ProcessError/Code/timedOut``); either way
    /// the message was neither applied nor journaled. Once the process runs,
    /// `send` applies the message and hands it to the journal in one step;
    /// from then on it waits for the journal's answer whatever happens to the
    /// task (that wait is bounded by one write and, at `.synced`, one sync):
    /// a returned sequence number means acknowledged, a thrown
    /// ``ProcessError/Code/journalFailed`` means not acknowledged.
    ///
    /// Sends that arrive while the process is busy are taken together in its
    /// next turn: applied one by one in the order they arrived, handed to the
    /// journal as one batch, and each sender answered from the journal's
    /// acknowledgement without entering the process again. A send cancelled
    /// while it waits for that turn is taken out of it and throws
    /// `CancellationError`, its message neither applied nor journaled. A refusal, or an
    /// `apply` that throws, in such a batch answers only its own sender: the
    /// messages before it are journaled, those after it are applied after it
    /// (after the restart, when `apply` threw).
    @discardableResult
    public func send(_ message: P.Message, timeout: Duration? = nil) async throws -> UInt64 {
        try await cell.send(message, timeout: timeout, reply: nil).sequence
    }

    /// Sends `message` as ``send(_:timeout:)`` does and returns `reply`'s
    /// answer, computed on the state right after the message was applied, in
    /// the same step (no other message in between), once the message is
    /// acknowledged per the process's durability.
    ///
    /// ```swift
    /// let count = try await cart.send(.add("apple", 2)) { $0.items["apple"] ?? 0 }
    /// ```
    public func send<R: Sendable>(
        _ message: P.Message, timeout: Duration? = nil, reply: @escaping @Sendable (P.State) -> R
    ) async throws -> R {
        let answer = try await cell.send(message, timeout: timeout, reply: { reply($0) })
        // Safe: the reply is what `reply` returned.
        return answer.reply as! R
    }

    /// As ``send(_:timeout:reply:)``, with the message's sequence number too.
    public func sendWithSequence<R: Sendable>(
        _ message: P.Message, timeout: Duration? = nil, reply: @escaping @Sendable (P.State) -> R
    ) async throws -> (sequence: UInt64, reply: R) {
        let answer = try await cell.send(message, timeout: timeout, reply: { reply($0) })
        return (answer.sequence, answer.reply as! R)
    }

    /// The acknowledged messages from sequence number `from` on: those in the journal first, then
    /// live ones as they are acknowledged, with no gap and no duplicate, across crashes, restarts
    /// and snapshots (see ``ProcessMessages`` for slow consumers and how it ends).
    ///
    /// ```swift
    /// for try await event in room.messages(from: 1) {
    ///     if case .message(let sequence, let message) = event { print(sequence, message) }
    /// }
    /// ```
    public func messages(from sequence: UInt64 = 1, bufferLimit: Int = 1024) -> ProcessMessages<P> {
        ProcessMessages(cell: cell, from: sequence, bufferLimit: bufferLimit)
    }

    /// Reads the state (a query: not journaled). The state may include
    /// messages whose acknowledgement is still on its way. Waits while the
    /// process restarts, as ``send(_:timeout:)`` does.
    public func read<R: Sendable>(timeout: Duration? = nil, _ body: @Sendable (P.State) throws -> R) async throws -> R {
        try await cell.read(body, timeout: timeout)
    }

    /// Takes a snapshot now (the state must have a codec).
    public func snapshot() async throws {
        try await cell.snapshot()
    }

    /// A normal stop: the journal is discarded (transient retention) or kept
    /// (persistent). A permanent child is then started again by its supervisor.
    public func stop() async throws {
        try await cell.stopByUser()
    }

    /// Crashes the process as a thrown error would (its in-memory state is
    /// discarded, the supervisor restarts it from its journal). For tests.
    package func simulateCrash() async {
        await cell.simulateCrash()
    }

    /// Crashes the process and restarts it from its journal on the calling task, without the
    /// supervisor: throws what the restart throws (a replay error), never retries. For the test kit.
    package func crashAndRestartInPlace() async throws {
        try await cell.crashAndRestartInPlace()
    }

    /// Sends queue up instead of entering the process, until ``runHeldTurn()``: a test makes a
    /// batch of the sends it wants, in the order it wants. For tests.
    package func holdTurns() async {
        await cell.holdTurns()
    }

    /// How many sends wait for a turn. For tests.
    package var queuedSends: Int { cell.queuedSends }

    /// Applies and journals, in one turn, every send queued since ``holdTurns()``, and returns
    /// once the batch is acknowledged (or failed). For tests.
    package func runHeldTurn() async {
        await cell.runHeldTurn()
    }

    /// Like ``runHeldTurn()``, with `message` first in the turn as the message of the sender
    /// that takes it (its answer kept apart from the queued senders'). For tests.
    package func runHeldTurn<R: Sendable>(
        sending message: P.Message, reply: @escaping @Sendable (P.State) -> R
    ) async throws -> (sequence: UInt64, reply: R) {
        switch await cell.runHeldTurn(own: message, reply: { reply($0) }) {
        case .acknowledged(let sequence, let answer): return (sequence, answer as! R)
        case .failed(let error): throw error
        case .direct, .takeTurn:
            throw ProcessError(code: .stopped, message: "the process was not running", processID: id)
        }
    }

    /// How many subscriptions wait for live messages. For tests.
    package var waitingSubscriptions: Int { cell.subscriptionSignal.count }

    /// What the last start or restart replayed.
    public var lastReplay: ReplayReport? {
        get async { await cell.lastReplay }
    }

    /// Quarantine files written when a replay threw (policy `.quarantine`).
    public var quarantineFiles: [String] {
        get async { await cell.quarantineFiles }
    }
}

extension ProcessHandle where P.State: Sendable {
    /// The current state.
    public var state: P.State {
        get async throws { try await cell.read({ $0 }, timeout: nil) }
    }
}
