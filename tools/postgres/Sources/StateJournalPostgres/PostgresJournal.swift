import Logging
import PostgresNIO
@_spi(JournalStores) import StateJournalStorage
import Synchronization

/// A journal this node owns at one epoch: the ``OwnedJournal`` of ``PostgresJournalStore``.
///
/// Appends wait in `items` until a commit round takes them; a round takes a journal's items up
/// to and including the first control (flush, snapshot, quarantine, close), commits their frames
/// with the other journals of the round, then runs the control. A journal is in at most one
/// round at a time, so its frames commit in order, and a failed round fails everything after it.
final class PostgresJournal: OwnedJournal, @unchecked Sendable {
    // Safe: `state` is behind its mutex; `codec` is used only by the round that holds the
    // journal, and a journal is in one round at a time (the queue's `queued` flag).
    let store: PostgresJournalStore
    let name: String
    let id: Int64
    let epoch: Int64
    let salt: UInt64
    let location: String
    let durability: Durability
    let compress: Bool
    let codec: StoredFrameCodec

    enum Control {
        case flush
        case snapshot([UInt8], through: UInt64)
        case quarantine(from: UInt64)
        case close(discard: Bool)
    }

    enum Item {
        /// Messages from `first`; the ticket is nil when they were acknowledged already (`.buffered`).
        case messages(first: UInt64, [[UInt8]], AppendTicket?)
        case digest(StateDigest)
        case control(Control, Completion<String>)
    }

    struct State {
        var next: UInt64
        /// The latest snapshot, written or requested.
        var snapshot: UInt64
        var items: [Item] = []
        /// In the store's queue or in a round.
        var queued = false
        var failure: JournalError?
        /// A close was requested: nothing more is accepted.
        var closing = false
        /// Ownership ended (closed, abandoned or failed): the node may open the journal again.
        var ended = false
        /// The key of the journal's last row in the database, when it has one: every round's
        /// statement inserts only while that row is still there (see `FrameKey`).
        var lastRow: FrameKey?
    }
    let state: Mutex<State>

    /// Frames hold at most about this many bytes of messages (a larger submit spans frames, all
    /// committed in one statement).
    static let frameBytes = 1 << 20
    /// The largest message (the format's frame limit, less room for its length).
    static let largestMessage = 64 << 20 - 16

    private init(
        store: PostgresJournalStore, name: String, taken: PostgresJournalStore.Taken, location: String,
        options: JournalOptions, next: UInt64, snapshot: UInt64, lastRow: FrameKey?
    ) {
        self.store = store
        self.name = name
        self.id = taken.id
        self.epoch = taken.epoch
        self.salt = taken.salt
        self.location = location
        self.durability = options.durability
        self.compress = options.compression
        self.codec = StoredFrameCodec(salt: taken.salt, compressionLevel: options.compressionLevel)
        self.state = Mutex(State(next: next, snapshot: snapshot, lastRow: lastRow))
    }

    /// The journal taken at `taken`: its next sequence number read from its last frame of messages
    /// and its snapshot, and the key of its last row.
    static func open(
        store: PostgresJournalStore, name: String, taken: PostgresJournalStore.Taken, options: JournalOptions,
        location: String
    ) async throws -> PostgresJournal {
        let tables = store.tables
        let rows = try await store.rows(
            """
            SELECT (SELECT sequence FROM \(unescaped: tables.snapshots) WHERE journal = \(taken.id)),
                   (SELECT frame FROM \(unescaped: tables.frames) WHERE journal = \(taken.id) AND kind = 1
                    ORDER BY first_sequence DESC LIMIT 1),
                   last.first_sequence, last.kind
            FROM (SELECT NULL) AS one LEFT JOIN LATERAL (
                SELECT first_sequence, kind FROM \(unescaped: tables.frames) WHERE journal = \(taken.id)
                ORDER BY first_sequence DESC, kind DESC LIMIT 1) AS last ON true
            """)
        var snapshot: UInt64 = 0
        var next: UInt64 = 1
        var lastRow: FrameKey?
        for row in rows {
            let (sequence, frame, lastFirst, lastKind) = try row.decode((Int64?, ByteBuffer?, Int64?, Int16?).self)
            if let sequence { snapshot = UInt64(sequence) }
            if let lastFirst, let lastKind { lastRow = FrameKey(firstSequence: lastFirst, kind: lastKind) }
            if let frame {
                let header = try StoredFrameCodec(salt: taken.salt).header(
                    of: Array(frame.readableBytesView), location: location)
                next = header.lastSequence + 1
            }
        }
        let journal = PostgresJournal(
            store: store, name: name, taken: taken, location: location, options: options,
            next: max(next, snapshot + 1), snapshot: snapshot, lastRow: lastRow)
        return journal
    }

    var nextSequence: UInt64 { state.withLock { $0.next } }
    var largestMessage: Int { Self.largestMessage }

    /// Owns the journal and may append: not failed, closed or abandoned.
    var isHealthy: Bool { state.withLock { !$0.ended } }

    // MARK: Appending

    func submit(contentsOf messages: [[UInt8]]) -> AppendTicket {
        let ticket = AppendTicket()
        if messages.isEmpty {
            ticket.complete(
                .failure(JournalError(code: .invalidArgument, message: "a submit holds no message", path: location)))
            return ticket
        }
        if let large = messages.first(where: { $0.count > Self.largestMessage }) {
            ticket.complete(
                .failure(
                    JournalError(
                        code: .messageTooLarge,
                        message: "a message of \(large.count) bytes is larger than a frame may hold", path: location)))
            return ticket
        }
        let buffered: Bool
        if case .buffered = durability { buffered = true } else { buffered = false }
        let (outcome, wake) = state.withLock { state -> (Result<ClosedRange<UInt64>, JournalError>?, Bool) in
            if let failure = state.failure { return (.failure(failure), false) }
            if state.closing { return (.failure(closedError()), false) }
            let first = state.next
            state.next += UInt64(messages.count)
            state.items.append(.messages(first: first, messages, buffered ? nil : ticket))
            defer { state.queued = true }
            return (buffered ? .success(first...(state.next - 1)) : nil, !state.queued)
        }
        if let outcome { ticket.complete(outcome) }
        if wake { enqueue() }
        return ticket
    }

    func recordStateDigest(_ digest: StateDigest) {
        let wake = state.withLock { state -> Bool in
            guard state.failure == nil, !state.closing else { return false }
            state.items.append(.digest(digest))
            defer { state.queued = true }
            return !state.queued
        }
        if wake { enqueue() }
    }

    private func enqueue() {
        if !store.queue.enqueue(self) {
            fail(JournalError(code: .closed, message: "the store stopped running", path: location))
        }
    }

    private func closedError() -> JournalError {
        JournalError(code: .closed, message: "the journal was closed", path: location)
    }

    // MARK: Controls

    /// Queues `control` after everything submitted before; its completion says how it went.
    private func request(_ control: Control, validate: (inout State) -> JournalError? = { _ in nil })
        -> Completion<String>
    {
        let completion = Completion<String>()
        let (refusal, wake) = state.withLock { state -> (JournalError?, Bool) in
            if let failure = state.failure { return (failure, false) }
            if state.closing { return (closedError(), false) }
            if let refusal = validate(&state) { return (refusal, false) }
            if case .close = control { state.closing = true }
            state.items.append(.control(control, completion))
            defer { state.queued = true }
            return (nil, !state.queued)
        }
        if let refusal {
            if case .close = control { end() }
            completion.complete(.failure(refusal))
        }
        if wake { enqueue() }
        return completion
    }

    private func await(_ completion: Completion<String>, cancellable: Bool = true) async throws(JournalError) -> String
    {
        try await completion.value(
            cancellable: cancellable,
            cancelled: JournalError(
                code: .cancelled, message: "cancelled while waiting; the work goes on", path: location)
        ).get()
    }

    func flush() async throws(JournalError) {
        _ = try await self.await(request(.flush))
    }

    func replay(chunkMessages: Int) -> JournalReplay {
        let store = self.store
        let id = self.id
        let salt = self.salt
        let location = self.location
        return JournalReplay {
            PostgresReplayCursor(
                store: store, journal: .owned(id: id, salt: salt, location: location), from: 1,
                chunkMessages: chunkMessages)
        }
    }

    func writeSnapshot(_ state: [UInt8], through sequence: UInt64) async throws(JournalError) {
        _ = try await self.await(snapshotRequest(state, through: sequence))
    }

    func requestSnapshot(
        _ state: [UInt8], through sequence: UInt64, then: @escaping @Sendable (Result<Void, JournalError>) -> Void
    ) {
        let completion = snapshotRequest(state, through: sequence)
        completion.observe { then($0.map { _ in () }) }
    }

    private func snapshotRequest(_ bytes: [UInt8], through sequence: UInt64) -> Completion<String> {
        request(.snapshot(bytes, through: sequence)) { state in
            guard sequence < state.next, sequence >= state.snapshot, sequence >= 1 else {
                return JournalError(
                    code: .invalidArgument,
                    message:
                        "a snapshot through \(sequence) is outside \(state.snapshot)…\(state.next - 1) (the latest snapshot to the last message)",
                    path: location, sequence: sequence)
            }
            state.snapshot = sequence
            return nil
        }
    }

    func quarantine(from sequence: UInt64) async throws(JournalError) -> String {
        try await self.await(
            request(.quarantine(from: sequence)) { state in
                guard sequence > state.snapshot, sequence <= state.next else {
                    return JournalError(
                        code: .invalidArgument,
                        message: "quarantine from \(sequence) is outside \(state.snapshot + 1)…\(state.next)",
                        path: location, sequence: sequence)
                }
                state.next = sequence
                return nil
            })
    }

    func close(discard: Bool) async throws(JournalError) {
        _ = try await self.await(request(.close(discard: discard)))
    }

    func closeIgnoringCancellation(discard: Bool) async throws(JournalError) {
        _ = try await self.await(request(.close(discard: discard)), cancellable: false)
    }

    func abandon() async {
        fail(JournalError(code: .closed, message: "the journal was abandoned", path: location))
        // As if this node had died: its row names no owner, so any node may take it at once.
        _ = try? await store.rows(
            """
            UPDATE \(unescaped: store.tables.journals) SET owner = NULL
            WHERE id = \(id) AND epoch = \(epoch) AND owner = \(store.nodeID)
            """)
    }

    // MARK: Failure and rounds

    /// Ends the journal with `error`: everything waiting fails with it, and everything later.
    func fail(_ error: JournalError, alsoFailing taken: [Item] = []) {
        let items = state.withLock { state -> [Item] in
            if state.failure == nil { state.failure = error }
            state.ended = true
            defer { state.items = [] }
            return state.items
        }
        for item in taken + items {
            switch item {
            case .messages(_, _, let ticket?): ticket.complete(.failure(error))
            case .messages, .digest: break
            case .control(_, let completion): completion.complete(.failure(error))
            }
        }
    }

    /// Ownership ended normally (closed).
    func end() {
        state.withLock {
            $0.ended = true
            if $0.failure == nil { $0.failure = closedError() }
        }
    }

    /// The items of the next round: up to about `bytes` of messages, through the first control.
    func takeItems(bytes limit: Int) -> [Item] {
        state.withLock { state in
            var count = 0
            var bytes = 0
            for item in state.items {
                count += 1
                if case .control = item { break }
                if case .messages(_, let messages, _) = item {
                    bytes += messages.reduce(0) { $0 + $1.count + 5 }
                    if bytes >= limit { break }
                }
            }
            let taken = Array(state.items.prefix(count))
            state.items.removeFirst(count)
            return taken
        }
    }

    /// The key of the journal's last row, as the round holding the journal last committed it.
    var lastRow: FrameKey? {
        get { state.withLock { $0.lastRow } }
        set { state.withLock { $0.lastRow = newValue } }
    }

    /// The round that held the journal is over: queue it again when more waits.
    func endRound() {
        let again = state.withLock { state -> Bool in
            if state.items.isEmpty || state.failure != nil {
                state.queued = false
                return false
            }
            return true
        }
        if again { enqueue() }
    }

    /// A round's rows for `items`: frames of consecutive messages, and digests between them.
    func rows(for items: [Item]) -> [FrameRow] {
        var rows: [FrameRow] = []
        var pending: [[UInt8]] = []
        var pendingFirst: UInt64 = 0
        var pendingBytes = 0
        func emit() {
            guard !pending.isEmpty else { return }
            rows.append(
                FrameRow(
                    firstSequence: pendingFirst, kind: 1,
                    frame: codec.messagesFrame(pending, firstSequence: pendingFirst, compress: compress)))
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
        }
        for item in items {
            switch item {
            case .messages(let first, let messages, _):
                for (offset, message) in messages.enumerated() {
                    if pending.isEmpty { pendingFirst = first + UInt64(offset) }
                    pending.append(message)
                    pendingBytes += message.count + 5
                    if pendingBytes >= Self.frameBytes { emit() }
                }
            case .digest(let digest):
                emit()
                rows.append(
                    FrameRow(firstSequence: digest.sequence + 1, kind: 0, frame: codec.stateDigestFrame(digest)))
            case .control:
                break
            }
        }
        emit()
        return rows
    }
}

/// The key of a row of the frames table within its journal.
///
/// Every append statement is conditional on the journal's last row being there, as well as on
/// the owner's epoch. The server writes its log in order, so when that row survived, every row
/// before it did too; when it is gone, commits the database acknowledged were lost (a server
/// crash after asynchronous commits, `.written`, or rows removed behind the owner), and appending
/// after them would leave a hole no replay could cross. The statement then inserts nothing and
/// the journal fails; its process restarts from what the database kept.
struct FrameKey: Equatable {
    var firstSequence: Int64
    var kind: Int16
}

/// One row of the frames table, before it is inserted.
struct FrameRow {
    var firstSequence: UInt64
    var kind: Int16
    var frame: [UInt8]

    var key: FrameKey { FrameKey(firstSequence: Int64(firstSequence), kind: kind) }
}
