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
    let schema = "bench_\(UInt32.random(in: 0...UInt32.max))"
    let directory = NSTemporaryDirectory() + "statejournal-pg-bench-\(UInt32.random(in: 0...UInt32.max))"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = FileJournalStore(directory: directory)
    try await withStore(url: url, schema: schema, lease: .seconds(2)) { postgres in
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
        let bytes = try await tableBytes(postgres, schema: schema)
        let messages = try await messageCount(postgres)
        say(
            String(
                format: "table space: %.1f bytes per message (%d messages, one per frame)",
                Double(bytes) / Double(max(1, messages)), messages))
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
            let clock = ContinuousClock()
            let start = clock.now
            var replayed = 0
            for try await element in store.replay("replay") {
                if case .messages(let chunk) = element { replayed += chunk.count }
            }
            let elapsed = clock.now - start
            let rate = Double(replayed) / elapsed.seconds
            rates[label] = rate
            say(
                String(format: "replay of %d messages: %@ %.0f msgs/s (%.2f s)", replayed, label, rate, elapsed.seconds)
            )
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
        return ()
    }
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
        try await second.client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(takeover)\" CASCADE"))
        try await second.client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
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
    try await store.client.query(PostgresQuery(unsafeSQL: "CHECKPOINT"))
    let rows = try await store.client.query(
        PostgresQuery(unsafeSQL: "SELECT pg_total_relation_size('\"\(schema)\".frames')::int8"))
    for try await size in rows.decode(Int64.self) { return Int(size) }
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
