import Foundation
import GRDB
import Logging
import StateJournal
import StateJournalStorage

#if canImport(Glibc)
    import Glibc
#endif

/// A store that keeps every process's events, as each system does it naturally.
protocol EventStore: Sendable {
    /// Appends one event of `process` and returns once it is acknowledged per the system's durability.
    func append(process: Int, _ event: Event) async throws
    /// Stops the system the way a program would at the end (StateJournal keeps its journals: retention persistent).
    func close() async throws
    /// Every process's events as stored, in storage order.
    func readBack(processes: Int) throws -> [[Event]]
}

/// The systems measured. StateJournal runs through its public API; the peers are what a
/// Swift server would write by hand for the same job.
enum SystemKind: Hashable, Sendable, CustomStringConvertible {
    case stateJournal(DurabilityLevel)
    /// StateJournal at `.written` with Foundation's JSON as its message codec.
    case stateJournalJSON
    case sqlite(SQLiteMode, Encoding)
    case files(FileMode, Encoding)

    enum DurabilityLevel: String, Hashable, Sendable, CaseIterable { case buffered, written, synced }

    enum SQLiteMode: String, Hashable, Sendable, CaseIterable {
        case normalPerMessage = "NORMAL, txn/msg"
        case fullPerMessage = "FULL, txn/msg"
        case fullPerBatch = "FULL, txn/batch"
    }

    enum FileMode: String, Hashable, Sendable, CaseIterable {
        case write = "write/msg"
        /// A synchronous `write()` on the sending task's own thread, no hand-off: what a user
        /// writes by hand (it blocks a cooperative thread for the call).
        case writeInline = "write/msg, caller's thread"
        case syncPerMessage = "fdatasync/msg"
        case syncPerBatch = "fdatasync/batch"
    }

    var isStateJournal: Bool {
        switch self {
        case .stateJournal, .stateJournalJSON: true
        default: false
        }
    }

    /// What survives: `written` survives kill -9 of the program, `synced` survives power loss too.
    var guarantee: String {
        switch self {
        case .stateJournal(.buffered): "buffered"
        case .stateJournal(.written), .stateJournalJSON, .sqlite(.normalPerMessage, _), .files(.write, _),
            .files(.writeInline, _):
            "written"
        default: "synced"
        }
    }

    var system: String {
        switch self {
        case .stateJournal(let level): "StateJournal .\(level.rawValue)"
        case .stateJournalJSON: "StateJournal .written"
        case .sqlite(let mode, _): "SQLite WAL \(mode.rawValue)"
        case .files(let mode, _): "files \(mode.rawValue)"
        }
    }

    var encoding: String {
        switch self {
        case .stateJournal: "compact"
        case .stateJournalJSON: "json"
        case .sqlite(_, let encoding), .files(_, let encoding): encoding.rawValue
        }
    }

    var description: String { "\(system) [\(encoding)]" }

    static let peers: [SystemKind] =
        Encoding.allCases.flatMap { encoding in
            SQLiteMode.allCases.map { SystemKind.sqlite($0, encoding) }
                + FileMode.allCases.map { SystemKind.files($0, encoding) }
        }
    static let all: [SystemKind] = DurabilityLevel.allCases.map { .stateJournal($0) } + [.stateJournalJSON] + peers

    func make(directory: String, processes: Int) async throws -> any EventStore {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        switch self {
        case .stateJournal(let level):
            return try await JournalStore(directory: directory, processes: processes, level: level, encoding: .compact)
        case .stateJournalJSON:
            return try await JournalStore(directory: directory, processes: processes, level: .written, encoding: .json)
        case .sqlite(let mode, let encoding):
            return try SQLiteStore(directory: directory, mode: mode, encoding: encoding)
        case .files(let mode, let encoding):
            return try FileStore(directory: directory, processes: processes, mode: mode, encoding: encoding)
        }
    }
}

let quietLogger = Logger(label: "statejournal-compare") { _ in SwiftLogNoOpLogHandler() }

// MARK: StateJournal

/// One journaled process per benchmark process, under one supervisor, through the public API.
final class JournalStore: EventStore {
    let supervisor: Supervisor
    let handles: [ProcessHandle<EventLog>]
    let encoding: Encoding

    static func options(_ level: SystemKind.DurabilityLevel) -> ProcessOptions {
        let durability: Durability =
            switch level {
            case .buffered: .buffered(within: .milliseconds(10))
            case .written: .written
            case .synced: .synced
            }
        var options = ProcessOptions(durability: durability, retention: .persistent)
        options.journal.idleTimeout = nil
        return options
    }

    init(directory: String, processes: Int, level: SystemKind.DurabilityLevel, encoding: Encoding) async throws {
        supervisor = Supervisor(directory: directory, logger: quietLogger)
        self.encoding = encoding
        var handles: [ProcessHandle<EventLog>] = []
        handles.reserveCapacity(processes)
        let options = Self.options(level)
        for p in 0..<processes {
            let spec =
                encoding == .json
                ? ChildSpec(id: "p\(p)", process: EventLog(), options: options, messageCodec: JSONEventCodec())
                : ChildSpec(id: "p\(p)", process: EventLog(), options: options)
            handles.append(try await supervisor.start(spec))
        }
        self.handles = handles
    }

    func append(process: Int, _ event: Event) async throws {
        _ = try await handles[process].send(event)
    }

    func close() async throws { await supervisor.shutdown() }

    func readBack(processes: Int) throws -> [[Event]] {
        try handles.map { handle in
            var events: [Event] = []
            let reader = try JournalReader(path: handle.journalPath)
            try reader.forEachMessage { _, bytes in events.append(try encoding.decode(bytes)) }
            return events
        }
    }
}

// MARK: Blocking I/O for the peers

/// A fixed set of threads for the peers' blocking calls, so that no `write` or `fdatasync`
/// runs on the cooperative pool (as StateJournal's own writers do).
final class BlockingPool: @unchecked Sendable {
    // Safe: `jobs` and `head` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    let threads: Int

    init(threads: Int) {
        self.threads = threads
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "peer-io-\(index)"
            thread.start()
        }
    }

    func enqueue(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue { continuation.resume(with: Result { try body() }) }
        }
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head > 4096 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }

    /// The peers' pool: 16 threads, so that syncs of different files overlap.
    static let shared = BlockingPool(threads: 16)
}

struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var code: Int32
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    var done = 0
    while done < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(call: "write", code: errno)
        }
        done += n
    }
}

func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : 0
}

func directorySize(_ directory: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    // SQLite's -shm file is a shared-memory index, not data; everything else counts.
    return names.filter { !$0.hasSuffix("-shm") }.reduce(0) { $0 + fileSize(directory + "/" + $1) }
}

// MARK: Append-only files

/// One append-only file per process: JSON lines (JSON) or length-prefixed records (compact).
/// `fdatasync/batch` is a per-file group commit: what is pending when a write starts goes in it.
final class FileStore: EventStore, @unchecked Sendable {
    final class Log: @unchecked Sendable {
        // Safe: `pending` and `flushing` are only touched with `lock` held.
        let fd: Int32
        let path: String
        let lock = NSLock()
        var pending: [([UInt8], CheckedContinuation<Void, any Error>)] = []
        var flushing = false
        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }
    }

    let logs: [Log]
    let mode: SystemKind.FileMode
    let encoding: Encoding

    init(directory: String, processes: Int, mode: SystemKind.FileMode, encoding: Encoding) throws {
        self.mode = mode
        self.encoding = encoding
        logs = try (0..<processes).map { p in
            let path = "\(directory)/p\(p).\(encoding == .json ? "jsonl" : "log")"
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemCallError(call: "open \(path)", code: errno) }
            return Log(fd: fd, path: path)
        }
    }

    static func record(_ event: Event, encoding: Encoding) throws -> [UInt8] {
        var bytes = try encoding.encode(event)
        switch encoding {
        case .json: bytes.append(UInt8(ascii: "\n"))
        case .compact:
            let count = UInt32(bytes.count)
            bytes.insert(
                contentsOf: [
                    UInt8(count & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count >> 16 & 0xFF), UInt8(count >> 24),
                ], at: 0)
        }
        return bytes
    }

    func append(process: Int, _ event: Event) async throws {
        let record = try Self.record(event, encoding: encoding)
        let log = logs[process]
        if mode == .writeInline {
            try log.lock.withLock { try record.withUnsafeBytes { try writeAll(log.fd, $0) } }
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            log.lock.lock()
            log.pending.append((record, continuation))
            let start = !log.flushing
            log.flushing = true
            log.lock.unlock()
            if start { BlockingPool.shared.enqueue { [self] in flush(log) } }
        }
    }

    /// Runs on a pool thread: writes what is pending (one record, or all of them for a batch), syncs, acknowledges.
    private func flush(_ log: Log) {
        while true {
            log.lock.lock()
            if log.pending.isEmpty {
                log.flushing = false
                log.lock.unlock()
                return
            }
            let batch: [([UInt8], CheckedContinuation<Void, any Error>)]
            if mode == .syncPerBatch {
                batch = log.pending
                log.pending.removeAll(keepingCapacity: true)
            } else {
                batch = [log.pending.removeFirst()]
            }
            log.lock.unlock()
            do {
                if batch.count == 1 {
                    try batch[0].0.withUnsafeBytes { try writeAll(log.fd, $0) }
                } else {
                    let joined = batch.flatMap(\.0)
                    try joined.withUnsafeBytes { try writeAll(log.fd, $0) }
                }
                if mode != .write && fdatasync(log.fd) != 0 { throw SystemCallError(call: "fdatasync", code: errno) }
                for (_, continuation) in batch { continuation.resume() }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
    }

    func close() async throws {
        for log in logs { Glibc.close(log.fd) }
    }

    func readBack(processes: Int) throws -> [[Event]] {
        try logs.map { try Self.read(path: $0.path, encoding: encoding) }
    }

    /// Reads one process's file back into events (also the replay path of this peer).
    static func read(path: String, encoding: Encoding, each: ((Event) -> Void)? = nil) throws -> [Event] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var events: [Event] = []
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let start: Int
                let end: Int
                switch encoding {
                case .json:
                    start = offset
                    var cursor = offset
                    while raw[cursor] != UInt8(ascii: "\n") { cursor += 1 }
                    end = cursor
                    offset = cursor + 1
                case .compact:
                    let count =
                        Int(raw[offset]) | Int(raw[offset + 1]) << 8 | Int(raw[offset + 2]) << 16 | Int(raw[offset + 3])
                        << 24
                    start = offset + 4
                    end = start + count
                    offset = end
                }
                let event = try encoding.decode(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                if let each { each(event) } else { events.append(event) }
            }
        }
        return events
    }
}

// MARK: SQLite

/// One SQLite database in WAL mode (GRDB's `DatabasePool`) holding every process's events,
/// keyed by (process, sequence). `txn/batch` is a group commit: one transaction for everything pending.
final class SQLiteStore: EventStore, @unchecked Sendable {
    let pool: DatabasePool
    let mode: SystemKind.SQLiteMode
    let encoding: Encoding
    let path: String
    // Safe: `pending` and `flushing` are only touched with `lock` held.
    private let lock = NSLock()
    private var pending: [(Int, Int64, Data, CheckedContinuation<Void, any Error>)] = []
    private var flushing = false

    static let insert = "INSERT INTO events (process, seq, body) VALUES (?, ?, ?)"

    /// Opens the pool with `synchronous` in force on its writer. GRDB's WAL setup sets NORMAL
    /// after `prepareDatabase`, so the writer is set again, and read back to be sure.
    static func open(path: String, synchronous: String) throws -> DatabasePool {
        let pool = try DatabasePool(path: path)
        let level = try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        let expected = ["OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3][synchronous]
        guard level == expected else {
            throw CheckFailure("SQLite kept synchronous = \(level.map(String.init) ?? "?") instead of \(synchronous)")
        }
        return pool
    }

    init(directory: String, mode: SystemKind.SQLiteMode, encoding: Encoding) throws {
        self.mode = mode
        self.encoding = encoding
        path = directory + "/events.sqlite"
        pool = try Self.open(path: path, synchronous: mode == .normalPerMessage ? "NORMAL" : "FULL")
        try pool.write { db in
            try db.execute(
                sql:
                    "CREATE TABLE IF NOT EXISTS events (process INTEGER NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (process, seq)) WITHOUT ROWID"
            )
        }
    }

    func append(process: Int, _ event: Event) async throws {
        let body = Data(try encoding.encode(event))
        let seq = event.id
        if mode != .fullPerBatch {
            try await pool.write { db in
                try db.cachedStatement(sql: Self.insert).execute(arguments: [process, seq, body])
            }
            return
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            lock.lock()
            pending.append((process, seq, body, continuation))
            let start = !flushing
            flushing = true
            lock.unlock()
            if start { Task { await self.flushPending() } }
        }
    }

    /// Commits everything pending in one transaction, again and again until nothing is pending.
    private func flushPending() async {
        while let batch = takePending() {
            let rows = batch.map { ($0.0, $0.1, $0.2) }
            do {
                try await pool.write { db in
                    let statement = try db.cachedStatement(sql: Self.insert)
                    for (process, seq, body) in rows { try statement.execute(arguments: [process, seq, body]) }
                }
                for entry in batch { entry.3.resume() }
            } catch {
                for entry in batch { entry.3.resume(throwing: error) }
            }
        }
    }

    /// Everything pending, or nil (and no flush running any more) when nothing is.
    private func takePending() -> [(Int, Int64, Data, CheckedContinuation<Void, any Error>)]? {
        lock.withLock {
            if pending.isEmpty {
                flushing = false
                return nil
            }
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }

    /// Inserts many events in transactions of 10,000 (to prepare a replay).
    func bulkInsert(process: Int, count: Int) throws {
        var index = 0
        while index < count {
            let end = min(index + 10_000, count)
            let rows = try (index..<end).map { i in
                (Int64(i), Data(try encoding.encode(Corpus.event(process: process, index: i))))
            }
            try pool.write { db in
                let statement = try db.cachedStatement(sql: Self.insert)
                for (seq, body) in rows { try statement.execute(arguments: [process, seq, body]) }
            }
            index = end
        }
    }

    func close() async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    func readBack(processes: Int) throws -> [[Event]] {
        try (0..<processes).map { p in
            var events: [Event] = []
            try Self.read(pool: pool, process: p, encoding: encoding) { events.append($0) }
            return events
        }
    }

    /// Reads one process's events in sequence order (also the replay path of this peer).
    static func read(pool: DatabasePool, process: Int, encoding: Encoding, each: (Event) throws -> Void) throws {
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT body FROM events WHERE process = ? ORDER BY seq", arguments: [process])
            while let row = try rows.next() {
                try row.withUnsafeData(atIndex: 0) { data in
                    guard let data else { return }
                    try data.withUnsafeBytes { try each(encoding.decode($0)) }
                }
            }
        }
    }
}
