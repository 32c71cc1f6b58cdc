import Foundation
public import Logging
public import PostgresNIO
public import ServiceLifecycle
@_spi(JournalStores) public import StateJournalStorage
import Synchronization

/// A ``JournalStore`` that keeps journals in PostgreSQL, so that a process can move to another
/// machine and replay its journal there.
///
/// Each journal is a row of its own with an **owner epoch**. Opening a journal takes it: the
/// epoch is incremented in the database, and every append of the owner is conditional on that
/// epoch. An owner that was paused or cut off while another node took the journal over writes
/// nothing more: its statement inserts no row, its senders get ``JournalError/Code/fenced``, and
/// a process whose journal is fenced stops instead of restarting beside the new owner.
///
/// Appends of all the journals this store owns are committed together: one statement per round
/// for every journal with messages waiting (group commit), several rounds in flight, each journal
/// in at most one of them. A message is acknowledged once the database committed its row (the
/// round's procedure commits before it answers: a statement's own answer can reach the client
/// before the commit of its implicit transaction, which may then fail or never happen):
/// - ``Durability/written``: committed with `synchronous_commit = off`: survives the death of the
///   application's machine, not a crash of the database server.
/// - ``Durability/synced``: committed with `synchronous_commit = on`: survives a crash of the
///   database server (and, with a synchronous standby configured on the server, its loss).
/// - ``Durability/buffered(within:)``: acknowledged at once, committed as `.written`.
///
/// Every append is also conditional on the journal's last committed row still being there. A
/// server crash can lose `.written` commits it had acknowledged; the owner's next append then
/// inserts nothing and fails (``JournalError/Code/writeFailed``), so the journal never has a hole
/// and its process restarts from what the server kept.
///
/// The store runs with its client: call ``run()`` (or add it to a `ServiceGroup`) beside
/// `PostgresClient.run()`, and ``prepare()`` once to create the schema.
///
/// ```swift
/// let client = PostgresClient(configuration: configuration)
/// let store = PostgresJournalStore(client: client)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await client.run() }
///     group.addTask { try await store.run() }
///     try await store.prepare()
///     let supervisor = Supervisor(store: store)
///     // ...
/// }
/// ```
public final class PostgresJournalStore: JournalStore, Service {
    /// How the store uses the database.
    public struct Configuration: Sendable {
        /// The PostgreSQL schema of the store's tables (lower-case letters, digits and `_`).
        public var schema = "statejournal"
        /// This node's name in the `nodes` table and in `locked` errors.
        public var nodeName = PostgresJournalStore.defaultNodeName
        /// How long another node waits before taking a journal whose owner stopped renewing its
        /// lease but whose connection is still open (a paused process). A node whose connection
        /// is gone (its OS process died) is taken over at once. Renewed every quarter of it.
        public var lease: Duration = .seconds(2)
        /// Commit rounds in flight at once.
        public var roundsInFlight = 4
        /// At most this many journals in one round.
        public var journalsPerRound = 256
        /// At most about this many bytes of messages per journal in one round.
        public var bytesPerRound = 4 << 20
        /// Frame rows fetched per page by a replay, at most (its first pages are smaller).
        public var replayPageRows = 256
        /// A statement the server has not answered within this is given up, and its connection
        /// closed (``PostgresStatementInterrupted``): the journals it wrote for fail (the outcome
        /// is unknown) and their processes restart. nil waits without end (a connection that
        /// closes is noticed within 200 ms either way). The server may go on running a statement
        /// given up (until it next writes to the closed connection); set `statement_timeout` for
        /// the store's role on the server to have it stop as well.
        public var statementTimeout: Duration? = .seconds(60)

        /// The defaults.
        public init() {}
    }

    /// The client the store's statements run on; run it beside the store.
    public let client: PostgresClient
    /// The configuration.
    public let configuration: Configuration
    /// This node's identity in the `nodes` table and in the `owner` column of the journals it owns.
    public let nodeID: UUID
    let tables: PostgresSchema
    let logger: Logger
    let queue = CommitQueue()
    let openJournals = OpenJournals()
    private let registration = Mutex(false)

    /// A store on `client`'s database.
    public init(client: PostgresClient, configuration: Configuration = Configuration(), logger: Logger? = nil) {
        precondition(PostgresSchema.isValid(configuration.schema), "invalid schema name \(configuration.schema)")
        self.client = client
        self.configuration = configuration
        self.nodeID = UUID()
        self.tables = PostgresSchema(schema: configuration.schema)
        self.logger = logger ?? Logger(label: "statejournal.postgres")
    }

    /// `<host>-<pid>`.
    public static var defaultNodeName: String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Creates the schema and its tables when missing (under an advisory lock, so nodes starting
    /// together do not race).
    public func prepare() async throws {
        try await transaction { transaction in
            try await transaction.rows("SELECT pg_advisory_xact_lock(5345484)")
            for statement in tables.creation {
                try await transaction.rows(PostgresQuery(unsafeSQL: statement))
            }
        }
    }

    /// Keeps this node registered and its lease renewed, and commits the rounds of appends, until
    /// cancelled. Every wait is cancellable; when it returns, appends not yet committed fail with
    /// ``JournalError/Code/closed`` and the node's row is removed, so other nodes may take its
    /// journals at once.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.keepNodeAlive() }
            group.addTask { await self.commitRounds() }
            await group.next()
            group.cancelAll()
        }
        registration.withLock { $0 = false }
        queue.stop()
        _ = try? await rows("DELETE FROM \(unescaped: tables.nodes) WHERE id = \(nodeID)")
    }

    // MARK: JournalStore

    /// `postgres:<schema>/<name>`.
    public func location(of name: String) -> String { "postgres:\(configuration.schema)/\(Self.normalized(name))" }

    /// Takes journal `name` (creating it when absent): its epoch is incremented and this node
    /// becomes its owner, unless another live node owns it (``JournalError/Code/locked``).
    public func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
        -> any OwnedJournal
    {
        let name = Self.normalized(name)
        let location = location(of: name)
        try await waitUntilRegistered(location: location)
        try openJournals.reserve(name, location: location)
        var opened: PostgresJournal?
        defer { openJournals.release(name, opened: opened) }
        do {
            let taken = try await take(name, location: location)
            opened = try await PostgresJournal.open(
                store: self, name: name, taken: taken, options: options, location: location)
            return opened!
        } catch {
            throw journalError(error, "opening the journal", location: location)
        }
    }

    /// Every journal in the schema, owned or not, sorted by name.
    public func list() async throws(JournalError) -> [StoredJournal] {
        do {
            var journals: [StoredJournal] = []
            for row in try await rows("SELECT name FROM \(unescaped: tables.journals) ORDER BY name") {
                let name = try row.decode(String.self)
                journals.append(StoredJournal(name: name, location: location(of: name)))
            }
            return journals
        } catch {
            throw journalError(error, "listing the journals", location: "postgres:\(configuration.schema)")
        }
    }

    /// Reads journal `name` without owning it (see ``JournalStore/replay(_:from:chunkMessages:)``),
    /// one page of frame rows at a time through the client's row callbacks.
    public func replay(_ name: String, from sequence: UInt64, chunkMessages: Int) -> JournalReplay {
        let name = Self.normalized(name)
        return JournalReplay { [self] in
            PostgresReplayCursor(store: self, journal: .name(name), from: sequence, chunkMessages: chunkMessages)
        }
    }

    /// Takes the journal and removes it, its frames and its snapshot in one transaction.
    public func discard(_ journal: StoredJournal, logger: Logger) async throws(JournalError) {
        guard let name = journal.name else {
            throw JournalError(code: .invalidArgument, message: "a journal without a name", path: journal.location)
        }
        var options = JournalOptions(durability: .synced)
        options.timeMarkInterval = nil
        let owned = try await open(name, options: options, logger: logger)
        try await owned.closeIgnoringCancellation(discard: true)
    }

    // MARK: Names and ownership

    /// Names equal as Swift strings are one journal: they are stored in NFC.
    static func normalized(_ name: String) -> String { name.precomposedStringWithCanonicalMapping }

    /// What a take returns.
    struct Taken {
        var id: Int64
        var epoch: Int64
        var salt: UInt64
    }

    /// Creates the journal's row when absent, then takes it when it has no live owner. This
    /// node's own ownership is taken again only when no open handle holds it (`openJournals`).
    func take(_ name: String, location: String) async throws -> Taken {
        let salt = Int64(bitPattern: UInt64.random(in: 1...UInt64.max))
        try await rows(
            """
            INSERT INTO \(unescaped: tables.journals) (name_key, name, salt)
            VALUES (sha256(convert_to(\(name), 'UTF8')), \(name), \(salt))
            ON CONFLICT (name_key) DO NOTHING
            """)
        let taken = try await committedRows(
            """
            UPDATE \(unescaped: tables.journals) j
            SET epoch = j.epoch + 1, owner = \(nodeID), stopped_cleanly = false
            WHERE j.name_key = sha256(convert_to(\(name), 'UTF8'))
              AND (j.owner IS NULL OR j.owner = \(nodeID) OR NOT EXISTS (
                  SELECT 1 FROM \(unescaped: tables.nodes) n
                  JOIN pg_stat_activity a ON a.pid = n.backend_pid AND a.backend_start = n.backend_start
                  WHERE n.id = j.owner AND n.lease_until > clock_timestamp()))
            RETURNING j.id, j.epoch, j.salt
            """)
        for row in taken {
            let (id, epoch, salt) = try row.decode((Int64, Int64, Int64).self)
            return Taken(id: id, epoch: epoch, salt: UInt64(bitPattern: salt))
        }
        let owner = try await rows(
            """
            SELECT coalesce(n.name, j.owner::text), coalesce(to_char(n.lease_until, 'YYYY-MM-DD HH24:MI:SS.MS'), '')
            FROM \(unescaped: tables.journals) j LEFT JOIN \(unescaped: tables.nodes) n ON n.id = j.owner
            WHERE j.name_key = sha256(convert_to(\(name), 'UTF8'))
            """)
        var holder = "another node"
        for row in owner {
            let (node, lease) = try row.decode((String, String).self)
            holder = lease.isEmpty ? "node \(node)" : "node \(node) (lease until \(lease))"
        }
        throw JournalError(code: .locked, message: "\(holder) owns the journal", path: location)
    }

    /// Why a conditional statement of the owner at `epoch` changed nothing: the journal's row
    /// is gone (``JournalError/Code/replaced``) or has a newer epoch (``JournalError/Code/fenced``).
    func ownershipLost(id: Int64, epoch: Int64, location: String, what: String) async -> JournalError {
        await lostOwnership(id: id, epoch: epoch, location: location, what: what)
            ?? JournalError(
                code: .writeFailed, message: "\(what): the statement changed nothing, yet this owner holds the journal",
                path: location)
    }

    /// As `ownershipLost`, or nil when the owner at `epoch` still holds the journal.
    func lostOwnership(id: Int64, epoch: Int64, location: String, what: String) async -> JournalError? {
        do {
            for row in try await rows("SELECT epoch FROM \(unescaped: tables.journals) WHERE id = \(id)") {
                let current = try row.decode(Int64.self)
                if current == epoch { return nil }
                return JournalError(
                    code: .fenced,
                    message:
                        "\(what): another owner took the journal over (epoch \(current), this owner's \(epoch)); nothing of this owner is acknowledged any more",
                    path: location)
            }
            return JournalError(
                code: .replaced,
                message: "\(what): the journal's row was removed under its owner; nothing is acknowledged any more",
                path: location)
        } catch {
            return journalError(error, "\(what): checking the journal's owner", location: location)
        }
    }

    // MARK: The node

    private func waitUntilRegistered(location: String) async throws(JournalError) {
        // Polls (cancellably) for up to 30 s: the node registers once `run()` has started.
        for _ in 0..<3000 {
            if registration.withLock({ $0 }) { return }
            do { try await Task.sleep(for: .milliseconds(10)) } catch {
                throw JournalError(code: .cancelled, message: "cancelled while waiting for the store", path: location)
            }
        }
        throw JournalError(
            code: .closed,
            message: "the store has not registered with the database: is its run() running, and the client's?",
            path: location)
    }

    /// Registers the node on a connection of its own and renews its lease every quarter lease;
    /// re-registers after a lost connection (the node's journals stay its own unless another
    /// node took them meanwhile, which their epochs tell).
    private func keepNodeAlive() async {
        let lease = configuration.lease
        let leaseMilliseconds = Int64(
            lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    let timeout = configuration.statementTimeout
                    try await connection.answer(
                        """
                        INSERT INTO \(unescaped: tables.nodes) (id, name, lease_until, backend_pid, backend_start)
                        SELECT \(nodeID), \(configuration.nodeName),
                               clock_timestamp() + \(leaseMilliseconds) * interval '1 millisecond', pid, backend_start
                        FROM pg_stat_activity WHERE pid = pg_backend_pid()
                        ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until,
                            backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start
                        """, logger: logger, timeout: timeout)
                    registration.withLock { $0 = true }
                    while true {
                        try await Task.sleep(for: lease / 4)
                        try await connection.answer(
                            """
                            UPDATE \(unescaped: tables.nodes)
                            SET lease_until = clock_timestamp() + \(leaseMilliseconds) * interval '1 millisecond'
                            WHERE id = \(nodeID)
                            """, logger: logger, timeout: timeout)
                    }
                }
            } catch {
                if Task.isCancelled { return }
                if registration.withLock({ $0 }) {
                    logger.warning(
                        "the node's lease connection failed; registering again", metadata: ["error": "\(error)"])
                } else {
                    // Before the first registration this is usually `prepare()` still creating
                    // the tables; a store that never registers fails its opens with that said.
                    logger.debug("the node could not register yet; trying again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
