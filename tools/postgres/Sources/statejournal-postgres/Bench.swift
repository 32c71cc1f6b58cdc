import Foundation
import PostgresNIO
import StateJournal
import StateJournalPostgres

/// The store's figures beside the file store's, in one run: journals each awaiting one message
/// at a time (`.synced`, `.written`), replay of one long journal, take-over, table space.
func bench(_ arguments: Arguments) async throws {
    let url = arguments.string("url")
    let quick = arguments.flags.contains("quick")
    let journals = arguments.int("journals", 64)
    let seconds = quick ? 1 : arguments.int("seconds", 5)
    let replayCount = quick ? 100_000 : arguments.int("replay", 1_000_000)
    let replays = quick ? 1 : max(1, arguments.int("replays", 5))
    // --only limits,append,replay,takeover (comma-separated); all by default.
    let parts = Set(arguments.string("only", "limits,append,replay,takeover").split(separator: ",").map(String.init))
    let schema = "bench_\(UInt32.random(in: 0...UInt32.max))"
    let directory = NSTemporaryDirectory() + "statejournal-pg-bench-\(UInt32.random(in: 0...UInt32.max))"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = FileJournalStore(directory: directory)
    try await withStore(url: url, schema: schema, lease: .seconds(2)) { postgres in
        if parts.contains("limits") {
            try await pgbenchLimits(postgres, url: url, schema: schema, journals: journals, seconds: seconds)
        }
        if parts.contains("append") {
            say("shape                                  store      msgs/s     p50 ms   p99 ms")
            for durability in [Durability.synced, .written] {
                for (label, store) in [("postgres", postgres as any JournalStore), ("file", file)] {
                    let (rate, p50, p99) = try await awaitOne(
                        store, journals: journals, durability: durability, seconds: seconds, prefix: "\(durability)")
                    say(
                        "\(journals) journals awaiting one, \(durability)".padding(
                            toLength: 39, withPad: " ", startingAt: 0)
                            + label.padding(toLength: 10, withPad: " ", startingAt: 0)
                            + String(format: "%9.0f  %8.2f %8.2f", rate, p50, p99))
                }
            }
            let appended = try await tableBytes(postgres, schema: schema)
            let messages = try await messageCount(postgres)
            say(
                String(
                    format: "table space: %.1f bytes per message (%d messages, one per frame)",
                    Double(appended) / Double(max(1, messages)), messages))
        }
        guard parts.contains("replay") else {
            try await postgres.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
            return
        }
        let bytes = try await tableBytes(postgres, schema: schema)
        // Replay: one journal of `replayCount` 100-byte messages, written in batches of 1,000.
        var rates: [String: Double] = [:]
        for (label, store) in [("postgres", postgres as any JournalStore), ("file", file)] {
            let journal = try await store.open(
                "replay", options: JournalOptions(durability: .written), logger: makeLogger())
            var sent = 0
            while sent < replayCount {
                let batch = (0..<min(1000, replayCount - sent)).map { index in
                    Array("message \(sent + index) ".utf8) + [UInt8](repeating: UInt8(index % 251), count: 80)
                }
                _ = try await journal.submit(contentsOf: batch).value()
                sent += batch.count
            }
            try await journal.close(discard: false)
            // The median of `replays` replays: one replay lasts a tenth of a second, within this
            // machine's noise.
            let clock = ContinuousClock()
            var times: [Duration] = []
            var replayed = 0
            for _ in 0..<replays {
                let start = clock.now
                replayed = 0
                for try await element in store.replay("replay") {
                    if case .messages(let chunk) = element { replayed += chunk.count }
                }
                times.append(clock.now - start)
            }
            let elapsed = times.sorted()[times.count / 2]
            let rate = Double(replayed) / elapsed.seconds
            rates[label] = rate
            say(
                String(
                    format: "replay of %d messages: %@ %.0f msgs/s (%.3f s, median of %d: %@)", replayed, label, rate,
                    elapsed.seconds, times.count,
                    times.map { String(format: "%.3f", $0.seconds) }.joined(separator: " ")))
        }
        say(
            String(
                format: "replay postgres/file: %.2f×", rates["postgres", default: 0] / max(1, rates["file", default: 1])
            ))
        let replayBytes = try await tableBytes(postgres, schema: schema) - bytes
        say(
            String(
                format: "table space of the replay journal: %.1f bytes per message (batches of 1,000)",
                Double(replayBytes) / Double(replayCount)))
        // A restart: a process whose journal holds `replayCount` `Codable` messages (the default
        // message codec, the compact encoding) is started by a supervisor over each store, and
        // is timed until it runs with its state.
        var restartRates: [String: Double] = [:]
        for (label, store) in [("postgres", postgres as any JournalStore), ("file", file)] {
            let journal = try await store.open(
                "restart", options: JournalOptions(durability: .written), logger: makeLogger())
            var sent = 0
            let encoder = CompactEncoder()
            while sent < replayCount {
                let batch = try (0..<min(1000, replayCount - sent)).map { index in
                    try encoder.encode(Reading.make(sent + index))
                }
                _ = try await journal.submit(contentsOf: batch).value()
                sent += batch.count
            }
            try await journal.close(discard: false)
            var options = ProcessOptions(durability: .written, retention: .persistent)
            options.journal.idleTimeout = nil
            let expected = try Readings.expected(replayCount)
            let clock = ContinuousClock()
            var times: [Duration] = []
            for _ in 0..<replays {
                let supervisor = Supervisor(store: store, logger: makeLogger())
                let start = clock.now
                let process = try await supervisor.start(
                    ChildSpec(id: "restart", process: Readings(), options: options))
                let state = try await process.state
                times.append(clock.now - start)
                await supervisor.shutdown()
                guard state == expected else {
                    say("restart of \(label): the state after the replay is not the state of the messages written")
                    exit(1)
                }
            }
            let elapsed = times.sorted()[times.count / 2]
            restartRates[label] = Double(replayCount) / elapsed.seconds
            say(
                String(
                    format: "restart with %d Codable messages: %@ %.0f msgs/s (running after %.3f s, median of %d: %@)",
                    replayCount, label, restartRates[label]!, elapsed.seconds, times.count,
                    times.map { String(format: "%.3f", $0.seconds) }.joined(separator: " ")))
        }
        say(
            String(
                format: "restart postgres/file: %.2f×",
                restartRates["postgres", default: 0] / max(1, restartRates["file", default: 1])))
        try await postgres.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
    }
    guard parts.contains("takeover") else { return }
    // Take-over: a node holding a journal of 1,000 messages stops (its row and backend are gone);
    // another node takes the journal and replays it.
    let takeover = "bench_takeover_\(UInt32.random(in: 0...UInt32.max))"
    try await withStore(url: url, schema: takeover, lease: .seconds(2)) { first in
        let journal = try await first.open("moved", options: JournalOptions(durability: .synced), logger: makeLogger())
        _ = try await journal.submit(contentsOf: (0..<1000).map { Array("message \($0)".utf8) }).value()
        await journal.abandon()
    }
    try await withStore(url: url, schema: takeover, lease: .seconds(2)) { second in
        let clock = ContinuousClock()
        let start = clock.now
        let journal = try await second.open("moved", options: JournalOptions(durability: .synced), logger: makeLogger())
        let opened = clock.now - start
        var replayed = 0
        for try await element in journal.replay() { if case .messages(let chunk) = element { replayed += chunk.count } }
        let total = clock.now - start
        say(
            String(
                format: "take-over: open %.1f ms, open + replay of %d messages %.1f ms", opened.seconds * 1000,
                replayed,
                total.seconds * 1000))
        try await second.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(takeover)\" CASCADE"))
    }
}

/// A message of the restart figure: four fields (an integer, a number, two short strings).
struct Reading: Codable, Sendable {
    var index: Int64
    var sensor: String
    var value: Double
    var note: String

    static func make(_ index: Int) -> Reading {
        Reading(
            index: Int64(index), sensor: "sensor-\(index % 97)", value: Double(index % 1000) / 10,
            note: index % 3 == 0 ? "calibrated" : "ok")
    }
}

/// The process of the restart figure: a running summary of its readings.
struct Readings: JournaledProcess {
    struct Summary: Codable, Sendable, Equatable {
        var count = 0
        var total = 0.0
        var lastIndex: Int64 = -1
        var calibrated = 0
    }
    var initialState: Summary { Summary() }
    func apply(_ reading: Reading, to state: inout Summary) throws {
        state.count += 1
        state.total += reading.value
        state.lastIndex = reading.index
        if reading.note == "calibrated" { state.calibrated += 1 }
    }

    /// The state after readings `0..<count`, applied one by one in order.
    static func expected(_ count: Int) throws -> Summary {
        var state = Summary()
        for index in 0..<count { try Readings().apply(Reading.make(index), to: &state) }
        return state
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// `journals` tasks, each submitting one message to its own journal and awaiting it, for
/// `seconds`: messages per second and the latency percentiles.
func awaitOne(_ store: any JournalStore, journals: Int, durability: Durability, seconds: Int, prefix: String)
    async throws -> (Double, Double, Double)
{
    var opened: [any OwnedJournal] = []
    for index in 0..<journals {
        opened.append(
            try await store.open(
                "\(prefix)-\(index)", options: JournalOptions(durability: durability), logger: makeLogger()))
    }
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + .seconds(seconds)
    let payload = [UInt8](repeating: 7, count: 150)
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for journal in opened {
            group.addTask {
                var mine: [Double] = []
                while clock.now < deadline {
                    let sent = clock.now
                    _ = try await journal.submit(contentsOf: [payload]).value()
                    mine.append((clock.now - sent).seconds * 1000)
                }
                return mine
            }
        }
        var all: [Double] = []
        for try await mine in group { all += mine }
        return all.sorted()
    }
    let elapsed = (clock.now - start).seconds
    for journal in opened { try await journal.close(discard: false) }
    let p50 = latencies.isEmpty ? 0 : latencies[latencies.count / 2]
    let p99 = latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
    return (Double(latencies.count) / elapsed, p50, p99)
}

func tableBytes(_ store: PostgresJournalStore, schema: String) async throws -> Int {
    try await store.rows(PostgresQuery(unsafeSQL: "CHECKPOINT"))
    let rows = try await store.rows(
        PostgresQuery(unsafeSQL: "SELECT pg_total_relation_size('\"\(schema)\".frames')::int8"))
    for row in rows { return Int(try row.decode(Int64.self)) }
    return 0
}

func messageCount(_ store: PostgresJournalStore) async throws -> Int {
    var total = 0
    for journal in try await store.list() {
        guard let name = journal.name else { continue }
        for try await element in store.replay(name) { if case .messages(let chunk) = element { total += chunk.count } }
    }
    return total
}

/// The server's own limits in the same run, with `pgbench` (PostgreSQL's benchmark client, no
/// StateJournal and no Swift in the way), for the shapes the store uses: one 150-byte row per
/// message from `journals` clients, and one statement of `journals` rows (a round of the store)
/// from 1 and 4 clients (rounds in flight), each at `synchronous_commit` on and off.
func pgbenchLimits(_ store: PostgresJournalStore, url: String, schema: String, journals: Int, seconds: Int)
    async throws
{
    let candidates =
        ([ProcessInfo.processInfo.environment["STATEJOURNAL_POSTGRES_BIN"]].compactMap { $0 })
        + ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted().reversed()
        .map { "/usr/lib/postgresql/\($0)/bin" }
    guard
        let pgbench = candidates.map({ $0 + "/pgbench" }).first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        })
    else {
        say("pgbench limits: skipped (no pgbench in STATEJOURNAL_POSTGRES_BIN or /usr/lib/postgresql/*/bin)")
        return
    }
    let table = "\"\(schema)\".pgbench_rows"
    try await store.rows(
        PostgresQuery(
            unsafeSQL:
                "CREATE TABLE \(table) (journal int8, first_sequence int8, kind int2, frame bytea, PRIMARY KEY (journal, first_sequence, kind))"
        ))
    let directory = NSTemporaryDirectory() + "statejournal-pgbench-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let oneRow = directory + "/one-row.sql"
    try """
    \\set s random(1, 9000000000000000000)
    INSERT INTO \(table) VALUES (:client_id, :s, 1, convert_to(repeat('x', 150), 'UTF8'));

    """.write(toFile: oneRow, atomically: true, encoding: .utf8)
    let round = directory + "/round.sql"
    try """
    \\set s random(1, 9000000000000000000)
    INSERT INTO \(table) SELECT g, :s, 1, convert_to(repeat('x', 182), 'UTF8') FROM generate_series(1, \(journals)) g;

    """.write(toFile: round, atomically: true, encoding: .utf8)
    say(
        "raw limits (pgbench, \(seconds) s each)".padding(toLength: 64, withPad: " ", startingAt: 0)
            + "   msgs/s  latency ms")
    for commit in ["on", "off"] {
        for (label, script, clients, perTransaction) in [
            ("one 150-byte row per message, \(journals) clients", oneRow, journals, 1),
            ("one statement of \(journals) rows, 1 client", round, 1, journals),
            ("one statement of \(journals) rows, 4 clients", round, 4, journals),
        ] {
            let (status, output) = runCapturing(
                pgbench,
                ["-n", "-f", script, "-c", "\(clients)", "-j", "2", "-T", "\(seconds)", url],
                environment: ["PGOPTIONS": "-c synchronous_commit=\(commit)"])
            let tps = output.split(separator: "\n").first { $0.hasPrefix("tps = ") }
                .flatMap { Double($0.dropFirst(6).prefix { $0 != " " }) }
            let latency = output.split(separator: "\n").first { $0.hasPrefix("latency average = ") }
                .flatMap { Double($0.dropFirst(18).prefix { $0 != " " }) }
            guard status == 0, let tps else {
                say("  \(label): pgbench failed (exit \(status)): \(output.suffix(300))")
                continue
            }
            say(
                "  synchronous_commit \(commit), \(label)".padding(toLength: 64, withPad: " ", startingAt: 0)
                    + String(format: "%9.0f  %8.2f", tps * Double(perTransaction), latency ?? 0))
        }
    }
    try await store.rows(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"))
}

/// Runs `path` to its exit; its status and standard output (and error).
func runCapturing(_ path: String, _ arguments: [String], environment: [String: String] = [:]) -> (Int32, String) {
    let output = NSTemporaryDirectory() + "statejournal-run-\(UInt64.random(in: 0...UInt64.max)).out"
    defer { unlink(output) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = variables.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    // The child starts with no signal blocked (the spawning thread, a pool thread, blocks some:
    // pgbench's -T timer is a SIGALRM) and default dispositions.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &actions, &attributes, argv, envp) == 0 else {
        return (127, "could not start \(path)")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
}
