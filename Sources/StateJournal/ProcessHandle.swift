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
    /// the order replay uses. When `apply` throws, the message is not
    /// journaled, this throws ``ProcessError/Code/rejected`` with the error,
    /// and the process crashes and is restarted without it.
    @discardableResult
    public func send(_ message: P.Message) async throws -> UInt64 {
        try await cell.send(message)
    }

    /// Reads the state (a query: not journaled). The state may include
    /// messages whose acknowledgement is still on its way.
    public func read<R: Sendable>(_ body: @Sendable (P.State) throws -> R) async throws -> R {
        try await cell.read(body)
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
        get async throws { try await cell.read { $0 } }
    }
}
