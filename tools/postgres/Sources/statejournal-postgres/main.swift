// statejournal-postgres: a process that moves between two OS processes ("nodes") sharing one
// PostgreSQL database, the fencing and crash trials built on it, and the store's figures.
//
//   statejournal-postgres node  --url URL --process ID --label A [--count N] [--interval-ms K]
//                               [--durability written|synced] [--lease-ms L] [--schema S]
//   statejournal-postgres trial --url URL --mode stop|kill|server-crash [--seed N] [--durability D]
//                               (server-crash: STATEJOURNAL_POSTGRES_SCRIPT and _DATA, from test-server.sh)
//   statejournal-postgres demo  --url URL
//   statejournal-postgres bench --url URL [--quick] [--journals N] [--seconds S] [--replay N] [--replays R]
//                               [--only limits,append,replay,takeover]
import Foundation
import Logging
import PostgresNIO
import StateJournal
import StateJournalPostgres

/// The journaled process the nodes run: the messages it was sent, in order.
struct Tally: JournaledProcess {
    var initialState: [String] { [] }
    func apply(_ message: String, to state: inout [String]) { state.append(message) }
}

struct Arguments {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--") else { continue }
            let key = String(argument.dropFirst(2))
            if ["quick", "exit"].contains(key) { flags.insert(key) } else { values[key] = iterator.next() ?? "" }
        }
    }
    func string(_ key: String, _ fallback: String? = nil) -> String {
        guard let value = values[key] ?? fallback else {
            FileHandle.standardError.write(Data("missing --\(key)\n".utf8))
            exit(2)
        }
        return value
    }
    func int(_ key: String, _ fallback: Int) -> Int { values[key].flatMap(Int.init) ?? fallback }
    var durability: Durability { values["durability"] == "synced" ? .synced : .written }
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func makeLogger() -> Logger {
    var logger = Logger(label: "statejournal-postgres")
    logger.logLevel =
        ProcessInfo.processInfo.environment["STATEJOURNAL_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}

/// Runs `body` with a running client and store.
func withStore<R: Sendable>(
    url: String, schema: String, lease: Duration, _ body: @Sendable (PostgresJournalStore) async throws -> R
) async throws -> R {
    guard let configuration = PostgresClient.Configuration(url: url) else {
        FileHandle.standardError.write(Data("not a postgres:// URL: \(url)\n".utf8))
        exit(2)
    }
    let client = PostgresClient(configuration: configuration, backgroundLogger: makeLogger())
    var settings = PostgresJournalStore.Configuration()
    settings.schema = schema
    settings.lease = lease
    let store = PostgresJournalStore(client: client, configuration: settings, logger: makeLogger())
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        group.addTask { try await store.run() }
        defer { group.cancelAll() }
        try await store.prepare()
        return try await body(store)
    }
}

/// Whether `error`, or an error it wraps, is a ``JournalError`` with `code`.
func carries(_ error: any Error, _ code: JournalError.Code) -> Bool {
    var current: (any Error)? = error
    while let error = current {
        if let journal = error as? JournalError {
            if journal.code == code { return true }
            current = journal.cause
        } else if let process = error as? ProcessError {
            current = process.cause
        } else if let supervisor = error as? SupervisorError {
            current = supervisor.cause
        } else {
            current = nil
        }
    }
    return false
}

/// One node: takes process `--process` (waiting while another live node owns it), says how many
/// messages it replayed, then sends `--count` messages `<label>:<k>`, printing each
/// acknowledgement, or the error of a message that was not acknowledged. Exits 3 when fenced.
func node(_ arguments: Arguments) async throws {
    let label = arguments.string("label", "A")
    let id = arguments.string("process", "tally")
    let count = arguments.int("count", 1_000_000)
    let interval = arguments.int("interval-ms", 2)
    let lease = Duration.milliseconds(arguments.int("lease-ms", 500))
    var options = ProcessOptions()
    options.durability = arguments.durability
    options.retention = .persistent
    let processOptions = options
    exitWhenOrphaned()
    try await withStore(url: arguments.string("url"), schema: arguments.string("schema", "statejournal"), lease: lease)
    {
        store in
        // A database server that restarts takes a second or two: the process is restarted (and
        // replays) as often as that needs, with a backoff, rather than given up after three.
        let supervisor = Supervisor(
            store: store, intensity: RestartIntensity(maxRestarts: 50, within: .seconds(30)),
            backoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500)), logger: makeLogger())
        try await supervisor.run {
            let clock = ContinuousClock()
            let start = clock.now
            var process: ProcessHandle<Tally>?
            while process == nil {
                do {
                    process = try await supervisor.child(id: id) {
                        ChildSpec(id: $0, process: Tally(), restart: .permanent, options: processOptions)
                    }
                } catch {
                    guard carries(error, .locked) else { throw error }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let state = try await process!.state
            let took = clock.now - start
            say(
                "replayed \(state.count) in \(took.components.attoseconds / 1_000_000_000_000_000 + took.components.seconds * 1000) ms"
            )
            for k in 1...count {
                do {
                    try await process!.send("\(label):\(k)")
                    say("ack \(label):\(k)")
                } catch {
                    if carries(error, .fenced) {
                        say("fenced")
                        exit(3)
                    }
                    // Not acknowledged (a commit whose outcome is unknown, a process restarting):
                    // the process is restarted from its journal, and the node goes on.
                    say("error \(error)")
                }
                if interval > 0 { try await Task.sleep(for: .milliseconds(interval)) }
            }
            say("done")
            if !arguments.flags.contains("exit") { try await Task.sleep(for: .seconds(86400)) }
        }
    }
}

/// A node outlives no trial: when its parent is gone (a trial killed for overstaying its time),
/// it exits, whatever it is waiting for.
func exitWhenOrphaned() {
    let parent = getppid()
    let watcher = Thread {
        while getppid() == parent { usleep(200_000) }
        _exit(5)
    }
    watcher.start()
}

// MARK: Trials

/// A child node, its output lines collected as they come.
final class Child: @unchecked Sendable {
    // Safe: `lines` is guarded by `lock`.
    let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = ""

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["node"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        // STATEJOURNAL_TRIAL_LOGS=<directory>: each node's standard error (its log, at the level
        // of STATEJOURNAL_LOG) goes to a file of its own there, for a trial that went wrong.
        if let directory = ProcessInfo.processInfo.environment["STATEJOURNAL_TRIAL_LOGS"] {
            let label = arguments.firstIndex(of: "--label").map { arguments[$0 + 1] } ?? "node"
            let path = "\(directory)/\(label)-\(UInt32.random(in: 0...UInt32.max)).log"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: path) ?? FileHandle.nullDevice
        } else {
            process.standardError = FileHandle.nullDevice
        }
        // Read by a thread of its own, with blocking reads to the end of the stream: a
        // `readabilityHandler` (a dispatch source on the pipe) crashed the trial in libdispatch
        // (`_dispatch_event_loop_drain`) when a node was killed and its pipe ended.
        let reading = pipe.fileHandleForReading
        let reader = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(reading.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                self.append(buffer[..<count])
            }
            try? reading.close()
        }
        try process.run()  // (closes the pipe's writing end in this process)
        reader.start()
    }

    private func append(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        partial += String(decoding: bytes, as: UTF8.self)
        while let newline = partial.firstIndex(of: "\n") {
            lines.append(String(partial[..<newline]))
            partial = String(partial[partial.index(after: newline)...])
        }
    }

    var output: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
    var acknowledged: [String] { output.filter { $0.hasPrefix("ack ") }.map { String($0.dropFirst(4)) } }

    /// Waits until a line satisfies `condition` (or the child exits, or `seconds` pass).
    func wait(seconds: Int = 60, for condition: (String) -> Bool) async throws -> String? {
        for _ in 0..<(seconds * 100) {
            if let line = output.first(where: condition) { return line }
            if !process.isRunning { return output.first(where: condition) }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits up to `seconds` for the node to exit; kills it if it has not.
    func waitForExit(seconds: Int = 60) async throws {
        for _ in 0..<(seconds * 100) where process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        stop()
    }

    func stop() {
        if process.isRunning { signal(SIGKILL) }
        process.waitUntilExit()
    }
}

/// What a reader finds in the journal: every message, in order.
func readJournal(url: String, schema: String, process: String) async throws -> [String] {
    try await withStore(url: url, schema: schema, lease: .seconds(2)) { store in
        var messages: [String] = []
        for try await element in store.replay(process) {
            if case .messages(let chunk) = element {
                for message in chunk {
                    messages.append(try message.bytes.withUnsafeBytes { try CompactCodec<String>().decode($0) })
                }
            }
        }
        return messages
    }
}

/// Whether node `node`'s lease in `schema` was renewed after the server started (waits up to 10 s).
func leaseRenewedSinceServerStart(url: String, schema: String, node: String) async throws -> Bool {
    try await withStore(url: url, schema: schema, lease: .seconds(2)) { store in
        for _ in 0..<100 {
            let rows = try await store.rows(
                """
                SELECT count(*) FROM \(unescaped: "\"\(schema)\"").nodes
                WHERE name = \(node) AND lease_until > pg_postmaster_start_time() + interval '300 milliseconds'
                """)
            for row in rows where try row.decode(Int64.self) > 0 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

/// Server-crash trials in which the node did not go on after the server's restart.
nonisolated(unsafe) var stalls = 0

/// One trial. `stop`: node A is paused (SIGSTOP) mid-stream, node B takes the process over and
/// sends, A is resumed (SIGCONT): A must acknowledge nothing more and be fenced, and the journal
/// must hold A's acknowledged messages, then B's, with nothing of A after B's first.
/// `kill`: A is `kill -9`ed mid-stream; B takes over at once. `server-crash`: the server is
/// stopped in immediate mode mid-stream and started again; every acknowledged message is there.
/// Prints a verdict; returns the violations.
func trial(_ arguments: Arguments) async throws -> Int {
    let url = arguments.string("url")
    let mode = arguments.string("mode", "stop")
    let seed = arguments.int("seed", 1)
    let schema = "trial_\(mode.replacingOccurrences(of: "-", with: "_"))_\(seed)_\(UInt32.random(in: 0...UInt32.max))"
    let durability = arguments.string("durability", mode == "server-crash" ? "synced" : "written")
    let process = "p\(seed)"
    let common = [
        "--url", url, "--schema", schema, "--process", process, "--durability", durability, "--lease-ms", "300",
    ]
    let before = 10 + (seed * 7919) % 40
    var violations: [String] = []
    let a = try Child(common + ["--label", "A", "--interval-ms", "\(1 + seed % 3)"])
    defer { a.stop() }
    guard try await a.wait(for: { $0 == "ack A:\(before)" }) != nil else {
        say("trial \(mode) \(seed): node A did not start: \(a.output.suffix(3))")
        return 1
    }
    switch mode {
    case "stop":
        a.signal(SIGSTOP)
        let pausedAcks = a.acknowledged
        let b = try Child(common + ["--label", "B", "--count", "20", "--interval-ms", "0", "--exit"])
        defer { b.stop() }
        guard try await b.wait(for: { $0 == "done" }) != nil else {
            a.signal(SIGCONT)
            say("trial \(mode) \(seed): node B did not finish: \(b.output.suffix(3))")
            return 1
        }
        try await b.waitForExit()
        a.signal(SIGCONT)
        let verdict = try await a.wait(for: { $0 == "fenced" || $0.hasPrefix("error") })
        // A fenced node exits; one that was not goes on sending (a node rides out errors).
        a.stop()
        if verdict != "fenced" { violations.append("node A was not fenced after SIGCONT (\(verdict ?? "no word"))") }
        let lateAcks = a.acknowledged.count - pausedAcks.count
        // An acknowledgement A printed after the pause may be one the server confirmed before B took
        // over (its output was in flight when A stopped); it must then be in the journal before B's.
        let journal = try await readJournal(url: url, schema: schema, process: process)
        let firstB = journal.firstIndex { $0.hasPrefix("B:") } ?? journal.count
        if journal[firstB...].contains(where: { $0.hasPrefix("A:") }) {
            violations.append("a message of node A's old epoch follows node B's first")
        }
        for message in a.acknowledged where !journal[..<firstB].contains(message) {
            violations.append("\(message) was acknowledged to node A but is not in the journal before B's messages")
        }
        for message in b.acknowledged where !journal.contains(message) {
            violations.append("\(message) was acknowledged to node B but is not in the journal")
        }
        say(
            "trial stop \(seed): A acknowledged \(a.acknowledged.count) (\(lateAcks) after the pause), B \(b.acknowledged.count), journal \(journal.count), violations \(violations.count)"
        )
    case "kill":
        a.stop()
        let b = try Child(common + ["--label", "B", "--count", "5", "--interval-ms", "0", "--exit"])
        defer { b.stop() }
        let replayed = try await b.wait(for: { $0.hasPrefix("replayed") })
        _ = try await b.wait(for: { $0 == "done" })
        let journal = try await readJournal(url: url, schema: schema, process: process)
        for message in a.acknowledged + b.acknowledged where !journal.contains(message) {
            violations.append("\(message) was acknowledged but is not in the journal")
        }
        say(
            "trial kill \(seed) (\(durability)): A acknowledged \(a.acknowledged.count), B \(replayed ?? "-"), journal \(journal.count), violations \(violations.count)"
        )
    case "server-crash":
        guard let script = ProcessInfo.processInfo.environment["STATEJOURNAL_POSTGRES_SCRIPT"] else {
            say("trial server-crash needs STATEJOURNAL_POSTGRES_SCRIPT (tools/postgres/scripts/test-server.sh)")
            return 1
        }
        let acknowledgedBefore = a.acknowledged.count
        // posix_spawn and waitpid, not Process: the script starts a server daemon, and Process's
        // waitUntilExit did not return after it.
        let (status, output) = runCapturing("/bin/bash", [script, "crash-restart"])
        guard status == 0 else {
            say("trial server-crash \(seed): the server did not restart (exit \(status)): \(output)")
            return 1
        }
        // After the restart the node goes on. An append in flight when the server died fails (its
        // commit's outcome is unknown, so the journal fails and is never written again): the
        // process crashes, is restarted, takes its journal again (a new epoch) and replays it;
        // later messages are acknowledged. Waiting without end instead is a stall.
        let goal = "ack A:\(acknowledgedBefore + 40)"
        let after = try await a.wait(for: { $0 == goal || $0 == "fenced" })
        // Not going on is a stall, counted apart from the violations (which are about what was
        // acknowledged): a statement that never answered once did this (see `answer` in the store).
        if after != goal {
            stalls += 1
            say(
                "  stall: node A did not go on within 60 s of the server's restart (\(after ?? "no word")); its last lines: \(a.output.suffix(4))"
            )
        }
        // The node's lease is renewed again on a new connection: a lease left to lapse would let
        // any other node take the journals of a node that lives.
        if after == goal,
            try await !leaseRenewedSinceServerStart(
                url: url, schema: schema, node: "\(ProcessInfo.processInfo.hostName)-\(a.process.processIdentifier)")
        {
            violations.append("node A's lease was not renewed after the server's restart")
        }
        let failed = a.output.filter { $0.hasPrefix("error") }.count
        a.stop()
        // The journal replays (no hole), and holds A's messages in the order they were sent.
        // At .synced it holds every acknowledged one; at .written the server's crash may lose
        // the last acknowledged ones (it is durable against the application's crash only).
        let journal: [String]
        do {
            journal = try await readJournal(url: url, schema: schema, process: process)
        } catch {
            journal = []
            violations.append("the journal does not replay after the server's crash: \(error)")
        }
        let numbers = journal.compactMap { $0.hasPrefix("A:") ? Int($0.dropFirst(2)) : nil }
        if numbers != numbers.sorted() || Set(numbers).count != numbers.count {
            violations.append("the journal holds node A's messages out of order or twice")
        }
        let lost = a.acknowledged.filter { !journal.contains($0) }
        if durability == "synced" {
            for message in lost {
                violations.append("\(message) was acknowledged at .synced but lost in the server crash")
            }
        }
        let outcome = after == goal ? "went on, \(failed) message(s) not acknowledged" : (after ?? "no word")
        say(
            "trial server-crash \(seed) (\(durability)): A acknowledged \(acknowledgedBefore) before the crash, \(a.acknowledged.count) in all (after the restart: \(outcome)), journal \(journal.count), acknowledged and lost \(lost.count), violations \(violations.count)"
        )
    default:
        say("unknown mode \(mode)")
        return 1
    }
    for violation in violations.prefix(5) { say("  violation: \(violation)") }
    return violations.count
}

// MARK: Main

let command = CommandLine.arguments.dropFirst().first ?? "help"
let arguments = Arguments(CommandLine.arguments.dropFirst(2))
switch command {
case "node":
    try await node(arguments)
case "trial":
    let trials = arguments.int("trials", 1)
    stalls = 0
    var total = 0
    for index in 0..<trials {
        var single = arguments
        single.values["seed"] = "\(arguments.int("seed", 1) + index)"
        total += try await trial(single)
    }
    say(
        "trials \(trials), violations \(total)"
            + (arguments.string("mode", "stop") == "server-crash" ? ", stalls \(stalls)" : ""))
    exit(total == 0 && stalls == 0 ? 0 : 1)
case "demo":
    var demo = arguments
    demo.values["mode"] = "stop"
    let violations = try await trial(demo)
    exit(violations == 0 ? 0 : 1)
case "bench":
    try await bench(arguments)
default:
    say("usage: statejournal-postgres node|trial|demo|bench --url postgres://user@host:port/db ...")
    exit(command == "help" ? 0 : 2)
}
