// Figures of the runtime on this machine: sends per second through the
// public API, replay time, memory per idle process, a burst of new processes.
//
//     swift run -c release statejournal-runtime-bench [--quick] [--seconds S] [--only SECTION]...
//                                                     [--processes 1,64,1024] [--durability written|synced]
//                                                     [--compression fast|high]
//     (--help lists the sections)
import ArgumentParser
import CBenchSupport
import Foundation
import Logging
import StateJournal
import StateJournalEncoding
import StateJournalStorage

/// The command line (`--help` lists it).
struct Configuration: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statejournal-runtime-bench",
        abstract: "Figures of the runtime: sends, replay, restarts, subscriptions, the codec, creations, memory.")

    enum Section: String, CaseIterable, ExpressibleByArgument {
        case send
        case sendPipelined = "send-pipelined"
        case replay
        case restartMany = "restart-many"
        case refusal, subscription
        case codec
        case codecDecode = "codec-decode"
        case codecEncode = "codec-encode"
        case creation, memory
    }
    enum DurabilityChoice: String, CaseIterable, ExpressibleByArgument { case written, synced }

    @Flag(help: "A smoke run: small data, one repetition.")
    var quick = false
    @Option(name: .customLong("seconds"), help: "Length of each send run in seconds (default 2, 0.3 with --quick).")
    var secondsOption: Double?
    @Option(name: .customLong("only"), help: "Run only this section (repeatable).")
    var sections: [Section] = []
    @Option(
        name: .customLong("processes"), help: "Concurrent processes for send and send-pipelined.",
        transform: positiveCounts)
    var processCounts = [1, 64, 1024]
    @Option(help: "Only this durability for send (default both).")
    var durability: DurabilityChoice?
    enum CompressionChoice: String, CaseIterable, ExpressibleByArgument { case fast, high }
    @Option(help: "The journals' compression level for send and send-pipelined (default fast).")
    var compression: CompressionChoice = .fast

    var seconds: Double { secondsOption ?? (quick ? 0.3 : 2) }
    var only: Set<String> { Set(sections.map(\.rawValue)) }
    var durabilities: [Durability] {
        switch durability {
        case nil: [.written, .synced]
        case .written: [.written]
        case .synced: [.synced]
        }
    }

    func validate() throws {
        if let secondsOption, !(secondsOption > 0) { throw ValidationError("--seconds needs a positive number") }
    }
}

/// "1,64,1024" as counts, each positive.
func positiveCounts(_ text: String) throws -> [Int] {
    let counts = text.split(separator: ",").map { Int($0) }
    guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ValidationError("needs positive counts separated by commas, not \(text)")
    }
    return counts.map { $0! }
}

let configuration = Configuration.parseOrExit()
let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
let base = FileManager.default.temporaryDirectory.path + "/sj-runtime-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: base)
try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: base) }
func enabled(_ name: String) -> Bool { configuration.only.isEmpty || configuration.only.contains(name) }
func format(_ value: Double) -> String {
    if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
    if value >= 1e3 { return String(format: "%.1fk", value / 1e3) }
    return String(format: "%.0f", value)
}

struct ChatRoom: JournaledProcess {
    struct State: Codable, Sendable {
        var members = 0
        var posts = 0
        var lastText = ""
    }
    enum Message: Codable, Sendable {
        case join(user: String)
        case post(user: String, room: String, text: String, ts: Int64)
    }
    var initialState: State { State() }
    func apply(_ message: Message, to state: inout State) throws {
        switch message {
        case .join: state.members += 1
        case .post(_, _, let text, _):
            state.posts += 1
            state.lastText = text
        }
    }
}

let words = ["hello", "world", "state", "journal", "replay", "crash", "again", "swift", "actor", "batch"]
func message(_ i: Int) -> ChatRoom.Message {
    .post(
        user: "user-\(i % 10_000)", room: "room-\(i % 300)",
        text: (0..<(2 + i % 6)).map { words[($0 * 7 + i) % 10] }.joined(separator: " "),
        ts: 1_763_700_000_000 + Int64(i) * 41)
}

/// Sends `count` chat messages to `handle` from 16 concurrent senders.
func sendFromSixteenSenders<P: JournaledProcess>(_ count: Int, to handle: ProcessHandle<P>) async throws
where P.Message == ChatRoom.Message {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for sender in 0..<16 {
            group.addTask { for i in stride(from: sender, to: count, by: 16) { try await handle.send(message(i)) } }
        }
        try await group.waitForAll()
    }
}

let sampleSize = try CompactEncoder().encode(message(1)).count
print(
    "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; messages: chat posts, about \(sampleSize) B encoded\n"
)

/// Sends per second from `processes` processes, each with `inFlight` senders awaiting one send each.
func sendRate(processes: Int, durability: Durability, inFlight: Int = 1) async throws -> Double {
    let directory = base + "/send-\(UUID().uuidString.prefix(8))"
    let supervisor = Supervisor(directory: directory, logger: logger)
    var options = ProcessOptions(durability: durability)
    options.journal.idleTimeout = nil
    options.journal.compressionLevel = configuration.compression == .high ? .high : .fast
    var handles: [ProcessHandle<ChatRoom>] = []
    for p in 0..<processes {
        handles.append(
            try await supervisor.child(id: "p\(p)") { ChildSpec(id: $0, process: ChatRoom(), options: options) })
    }
    let copy = handles
    let roundsBefore = syncRoundStatistics(forDirectory: directory)
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int(configuration.seconds * 1000))
    // Each sender reports when it stopped: the end is the last of those, not when the group has
    // collected every child (with 16,384 children that takes a while of its own).
    let (total, end) = try await withThrowingTaskGroup(of: (Int, ContinuousClock.Instant).self) { group in
        for p in 0..<processes {
            for lane in 0..<inFlight {
                group.addTask {
                    var n = lane
                    var sent = 0
                    while ContinuousClock.now < deadline {
                        try await copy[p].send(message(p * 1000 + n))
                        n += inFlight
                        sent += 1
                    }
                    return (sent, ContinuousClock.now)
                }
            }
        }
        var total = 0
        var end = start
        for try await (sent, stopped) in group {
            total += sent
            end = max(end, stopped)
        }
        return (total, end)
    }
    let elapsed = end - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    if ProcessInfo.processInfo.environment["SJ_BENCH_ROUNDS"] != nil, let before = roundsBefore,
        let after = syncRoundStatistics(forDirectory: directory), after.rounds > before.rounds
    {
        print("    " + after.summary(since: before, seconds: seconds))
    }
    await supervisor.shutdown()
    return Double(total) / seconds
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
let repetitions = configuration.quick ? 1 : 3

if enabled("send") {
    print("== send() through the public API, each process awaiting one send at a time (median of \(repetitions))")
    for durability in configuration.durabilities {
        for processes in configuration.processCounts {
            var values: [Double] = []
            for _ in 0..<repetitions { values.append(try await sendRate(processes: processes, durability: durability)) }
            print(
                "  \(String(describing: durability).padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(processes).padding(toLength: 5, withPad: " ", startingAt: 0)) process(es): \(format(median(values))) msg/s   (runs: \(values.map(format).joined(separator: ", ")))"
            )
        }
    }
    print("")
}

if enabled("send-pipelined") {
    print("== send() with 16 senders per process, each awaiting its own send (median of \(repetitions))")
    for processes in configuration.processCounts {
        var values: [Double] = []
        for _ in 0..<repetitions {
            values.append(try await sendRate(processes: processes, durability: .written, inFlight: 16))
        }
        print(
            "  written  \(String(processes).padding(toLength: 5, withPad: " ", startingAt: 0)) process(es): \(format(median(values))) msg/s   (runs: \(values.map(format).joined(separator: ", ")))"
        )
    }
    print("")
}

if enabled("replay") {
    let count = configuration.quick ? 100_000 : 1_000_000
    print("== Restart of one process with \(count) messages in its journal")
    for withSnapshot in [false, true] {
        let directory = base + "/replay-\(withSnapshot)"
        var options = ProcessOptions(durability: .written, retention: .persistent)
        options.journal.idleTimeout = nil
        do {
            let supervisor = Supervisor(directory: directory, logger: logger)
            let room = try await supervisor.start(ChildSpec(id: "big", process: ChatRoom(), options: options))
            try await sendFromSixteenSenders(count, to: room)
            if withSnapshot { try await room.snapshot() }
            await supervisor.shutdown()
        }
        var durations: [Double] = []
        var firsts: [Double] = []
        var report: ReplayReport?
        for _ in 0..<repetitions {
            let supervisor = Supervisor(directory: directory, logger: logger)
            let start = ContinuousClock.now
            let room = try await supervisor.start(ChildSpec(id: "big", process: ChatRoom(), options: options))
            let elapsed = ContinuousClock.now - start
            report = await room.lastReplay
            if let report, let first = report.timeToFirstMessage {
                // From start() to the first message handed to apply: opening (recovery) included.
                let toFirst = elapsed - report.duration + first
                firsts.append(Double(toFirst.components.seconds) + Double(toFirst.components.attoseconds) / 1e18)
            }
            let posts = try await room.state.posts
            precondition(posts == count)
            durations.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            await supervisor.shutdown()
        }
        let seconds = median(durations)
        let first =
            firsts.isEmpty ? "-" : String(format: "%.1f ms after start(), recovery included", median(firsts) * 1000)
        print(
            "  \(withSnapshot ? "with a snapshot   " : "without a snapshot"): \(String(format: "%.3f", seconds)) s to running (\(report?.messages ?? 0) messages replayed, \(format(Double(report?.messages ?? 0) / max(seconds, 1e-9))) msg/s; first message after \(first))"
        )
        try? FileManager.default.removeItem(atPath: directory)
    }
    print("")
}

if enabled("restart-many") {
    // A restart of many processes at once: what each one costs beyond its messages (open, recovery,
    // the process's start) shows with empty journals; with 1,000 messages each, the replay rate.
    let processes = configuration.quick ? 100 : 1000
    print("== Restart of \(processes) processes at once")
    for perProcess in [0, 1000] {
        let directory = base + "/restart-\(perProcess)"
        let options = {
            var options = ProcessOptions(durability: .written, retention: .persistent)
            options.journal.idleTimeout = nil
            return options
        }()
        let spec = { @Sendable (p: Int) in ChildSpec(id: "p\(p)", process: ChatRoom(), options: options) }
        func start(_ supervisor: Supervisor) async throws -> [ProcessHandle<ChatRoom>] {
            try await withThrowingTaskGroup(of: ProcessHandle<ChatRoom>.self) { group in
                for p in 0..<processes { group.addTask { try await supervisor.start(spec(p)) } }
                var handles: [ProcessHandle<ChatRoom>] = []
                for try await handle in group { handles.append(handle) }
                return handles
            }
        }
        do {
            let supervisor = Supervisor(directory: directory, logger: logger)
            let handles = try await start(supervisor)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (p, handle) in handles.enumerated() {
                    group.addTask { for i in 0..<perProcess { try await handle.send(message(p * perProcess + i)) } }
                }
                try await group.waitForAll()
            }
            await supervisor.shutdown()
        }
        var durations: [Double] = []
        for _ in 0..<(configuration.quick ? 1 : 5) {
            let supervisor = Supervisor(directory: directory, logger: logger)
            let begin = ContinuousClock.now
            let handles = try await start(supervisor)
            let elapsed = seconds(ContinuousClock.now - begin)
            var posts = 0
            for handle in handles { posts += try await handle.state.posts }
            precondition(posts == processes * perProcess)
            durations.append(elapsed)
            await supervisor.shutdown()
        }
        let elapsed = median(durations)
        let rate = perProcess == 0 ? "" : ", \(format(Double(processes * perProcess) / elapsed)) msg/s"
        print(
            "  \(processes) × \(perProcess) messages: \(String(format: "%.3f", elapsed)) s to running (\(String(format: "%.0f", elapsed / Double(processes) * 1e6)) µs per process\(rate); runs \(durations.map { String(format: "%.3f", $0) }.joined(separator: " ")))"
        )
        try? FileManager.default.removeItem(atPath: directory)
    }
    print("")
}

/// A room that refuses empty posts in `validate` (no crash), and crashes on a post of "crash"
/// (a bug in `apply`), to compare the two.
struct StrictRoom: JournaledProcess {
    typealias State = ChatRoom.State
    typealias Message = ChatRoom.Message
    struct Empty: Error {}
    struct Bug: Error {}
    var initialState: State { State() }
    func validate(_ message: Message, against state: State) throws(Empty) {
        if case .post(_, _, let text, _) = message, text.isEmpty { throw Empty() }
    }
    func apply(_ message: Message, to state: inout State) throws {
        if case .post(_, _, "crash", _) = message { throw Bug() }
        try ChatRoom().apply(message, to: &state)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

if enabled("refusal") {
    let journaled = configuration.quick ? 20_000 : 200_000
    print(
        "== A refused message (validate throws) against a crash (apply throws) and its replay of \(journaled) messages")
    let directory = base + "/refusal"
    var options = ProcessOptions(durability: .written)
    options.journal.idleTimeout = nil
    let supervisor = Supervisor(
        directory: directory, intensity: RestartIntensity(maxRestarts: 1000, within: .seconds(60)), backoff: nil,
        logger: logger)
    try await supervisor.run {
        let room = try await supervisor.start(ChildSpec(id: "strict", process: StrictRoom(), options: options))
        try await sendFromSixteenSenders(journaled, to: room)
        let empty = ChatRoom.Message.post(user: "u", room: "r", text: "", ts: 0)
        var refusals: [Double] = []
        var accepted: [Double] = []
        for _ in 0..<repetitions {
            let count = configuration.quick ? 2_000 : 20_000
            // In a child task (the global executor), as a server's request handler would send.
            let (refusal, accept) = try await withThrowingTaskGroup(of: (Double, Double).self) { group in
                group.addTask {
                    var start = ContinuousClock.now
                    for _ in 0..<count {
                        do { try await room.send(empty) } catch is StrictRoom.Empty {}
                    }
                    let refusal = seconds(ContinuousClock.now - start) / Double(count) * 1e6
                    start = ContinuousClock.now
                    for i in 0..<count { try await room.send(message(i)) }
                    return (refusal, seconds(ContinuousClock.now - start) / Double(count) * 1e6)
                }
                return try await group.next()!
            }
            refusals.append(refusal)
            accepted.append(accept)
        }
        // A crash: apply throws; the next send waits for the restart, which replays the journal.
        var crashes: [Double] = []
        for _ in 0..<repetitions {
            let start = ContinuousClock.now
            _ = try? await room.send(.post(user: "u", room: "r", text: "crash", ts: 0))
            try await room.send(message(0))
            crashes.append(seconds(ContinuousClock.now - start) * 1e6)
        }
        let replayed = await room.lastReplay?.messages ?? 0
        print(
            "  refused by validate: \(String(format: "%.1f", median(refusals))) µs each (runs: \(refusals.map { String(format: "%.1f", $0) }.joined(separator: ", ")))"
        )
        print("  accepted, .written:  \(String(format: "%.1f", median(accepted))) µs each, one sender")
        print(
            "  crash in apply, then the next send after the restart: \(String(format: "%.0f", median(crashes))) µs (replayed \(replayed) messages; \(String(format: "%.0f", median(crashes) / max(median(refusals), 0.001)))× a refusal)"
        )
    }
    try? FileManager.default.removeItem(atPath: directory)
    print("")
}

if enabled("subscription") {
    let count = configuration.quick ? 50_000 : 500_000
    print("== Subscriptions (handle.messages(from:)) to a process with \(count) messages journaled")
    let directory = base + "/subscription"
    var options = ProcessOptions(durability: .written)
    options.journal.idleTimeout = nil
    let supervisor = Supervisor(directory: directory, logger: logger)
    try await supervisor.run {
        let room = try await supervisor.start(ChildSpec(id: "subscribed", process: ChatRoom(), options: options))
        try await sendFromSixteenSenders(count, to: room)
        // Catching up: every journaled message, read from the journal.
        var catchUp: [Double] = []
        for _ in 0..<repetitions {
            let start = ContinuousClock.now
            var seen = 0
            for try await event in room.messages(from: 1) {
                seen += 1
                if event.sequence >= UInt64(count) { break }
            }
            precondition(seen == count)
            catchUp.append(Double(count) / seconds(ContinuousClock.now - start))
        }
        // Live: 16 senders send while 4 subscribers follow; delivered messages per second per subscriber.
        var live: [Double] = []
        for round in 0..<repetitions {
            let first = UInt64(count + round * count / 4 + 1)
            let last = first + UInt64(count / 4) - 1
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for try await event in room.messages(from: first) where event.sequence >= last { break }
                    }
                }
                group.addTask { try await sendFromSixteenSenders(count / 4, to: room) }
                try await group.waitForAll()
            }
            live.append(Double(count / 4) / seconds(ContinuousClock.now - start))
        }
        print(
            "  catching up from the journal: \(format(median(catchUp))) msg/s (runs: \(catchUp.map(format).joined(separator: ", ")))"
        )
        print(
            "  live, 4 subscribers while 16 senders send (.written): \(format(median(live))) msg/s delivered to each (runs: \(live.map(format).joined(separator: ", ")))"
        )
    }
    try? FileManager.default.removeItem(atPath: directory)
    print("")
}

if enabled("codec") || enabled("codec-decode") || enabled("codec-encode") {
    // 6-field events of 100–250 bytes (the comparison tool's shape): the compact encoding
    // through Codable, beside Foundation's JSON of the same values.
    struct Event: Codable, Equatable {
        var type: String
        var room: String
        var user: String
        var id: Int64
        var ts: Int64
        var text: String
    }
    let count = configuration.quick ? 20_000 : 200_000
    let words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do"]
    var state: UInt64 = 0x5EED_2026
    let generator = AnyIterator<UInt64> {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    let events = (0..<1000).map { index in
        let length = 8 + Int(generator.next()! % 24)
        let text = (0..<length).map { _ in words[Int(generator.next()! % UInt64(words.count))] }.joined(separator: " ")
        return Event(
            type: ["message", "join", "leave", "edit"][index % 4], room: "room-\(index % 37)",
            user: "user-\(generator.next()! % 10_000)", id: Int64(index), ts: 1_790_000_000_000 + Int64(index),
            text: text)
    }
    func measure(_ body: () throws -> Void) rethrows -> Double {
        var values: [Double] = []
        for _ in 0..<repetitions {
            let start = ContinuousClock.now
            try body()
            let elapsed = ContinuousClock.now - start
            values.append(
                Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        return median(values)
    }
    let encoder = CompactEncoder()
    let decoder = CompactDecoder()
    let encoded = try events.map { try encoder.encode($0) }
    for (event, bytes) in zip(events, encoded) where try decoder.decode(Event.self, from: bytes) != event {
        fatalError("the compact encoding does not round-trip \(event)")
    }
    // --only codec-decode / codec-encode: that loop alone, ten times longer (for a profiler).
    if enabled("codec-decode") || enabled("codec-encode") {
        var sink = 0
        let decoding = enabled("codec-decode")
        for index in 0..<(count * 10) {
            if decoding {
                sink &+= Int(try decoder.decode(Event.self, from: encoded[index % encoded.count]).id)
            } else {
                sink &+= try encoder.encode(events[index % events.count]).count
            }
        }
        print("  \(count * 10) done (\(sink % 2))")
    } else {
        let json = try events.map { try JSONEncoder().encode($0) }
        let jsonEncoder = JSONEncoder()
        let jsonDecoder = JSONDecoder()
        var sink = 0
        let compactEncode = try measure {
            for index in 0..<count { sink &+= try encoder.encode(events[index % events.count]).count }
        }
        let compactDecode = try measure {
            for index in 0..<count {
                sink &+= Int(try decoder.decode(Event.self, from: encoded[index % encoded.count]).id)
            }
        }
        let jsonEncode = try measure {
            for index in 0..<count { sink &+= try jsonEncoder.encode(events[index % events.count]).count }
        }
        let jsonDecode = try measure {
            for index in 0..<count {
                sink &+= Int(try jsonDecoder.decode(Event.self, from: json[index % json.count]).id)
            }
        }
        let average = encoded.reduce(0) { $0 + $1.count } / encoded.count
        print("== Codable, 6-field events (\(average) B compact on average; median of \(repetitions) runs of \(count))")
        print("  compact encoding: encode \(format(compactEncode))/s, decode \(format(compactDecode))/s")
        print("  Foundation JSON:  encode \(format(jsonEncode))/s, decode \(format(jsonDecode))/s")
        if sink == 42 { print("") }
        print("")
    }
}

if enabled("creation") {
    // Creating a journal waits on the file system (a `.synced` one's header file and directory
    // are synced): a burst of creations must not hold up the appends of the journals already live.
    let journals = configuration.quick ? 400 : 4000
    let workers = 32
    print(
        "== A burst of creations: \(journals) new processes, \(workers) at a time, each sent one .written message; meanwhile one live process sends .written, awaiting each"
    )
    let directory = base + "/creation"
    let options = {
        var options = ProcessOptions(durability: .written)
        options.journal.idleTimeout = .milliseconds(100)
        return options
    }()
    let supervisor = Supervisor(directory: directory, logger: logger)
    let live = try await supervisor.start(ChildSpec(id: "live", process: ChatRoom(), options: options))
    try await live.send(message(0))
    let (created, latencies) = try await withThrowingTaskGroup(of: [Double].self) { group in
        let burstDone = DoneFlag()
        group.addTask {
            var latencies: [Double] = []
            var i = 0
            while !burstDone.isSet {
                let start = ContinuousClock.now
                try await live.send(message(i))
                latencies.append(seconds(ContinuousClock.now - start))
                i += 1
            }
            return latencies
        }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { burst in
            for worker in 0..<workers {
                burst.addTask {
                    for p in stride(from: worker, to: journals, by: workers) {
                        let room = try await supervisor.child(id: "session-\(p)") {
                            ChildSpec(id: $0, process: ChatRoom(), options: options)
                        }
                        try await room.send(message(p))
                    }
                }
            }
            try await burst.waitForAll()
        }
        let created = seconds(ContinuousClock.now - start)
        burstDone.set()
        return (created, try await group.next() ?? [])
    }
    let sorted = latencies.sorted()
    func at(_ q: Double) -> String {
        guard !sorted.isEmpty else { return "-" }
        return String(format: "%.2f ms", sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000)
    }
    print(
        "  created in \(String(format: "%.2f", created)) s (\(format(Double(journals) / created)) per second); the live process meanwhile: \(sorted.count) sends, p50 \(at(0.5)), p99 \(at(0.99)), max \(at(1))"
    )
    await supervisor.shutdown()
    print("")
}

/// A flag one task sets and another polls.
final class DoneFlag: @unchecked Sendable {
    // Safe: the flag is only read and written under the lock.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}

if enabled("memory") {
    let processes = configuration.quick ? 1000 : 10_000
    print("== Memory per idle process (\(processes) dynamic children, each sent one message, then idle)")
    let directory = base + "/memory"
    var options = ProcessOptions(durability: .written)
    options.journal.idleTimeout = .milliseconds(100)
    let supervisor = Supervisor(directory: directory, logger: logger)
    let before = sj_bench_malloc_in_use()
    let creation = ContinuousClock.now
    for p in 0..<processes {
        let room = try await supervisor.child(id: "session-\(p)") {
            ChildSpec(id: $0, process: ChatRoom(), options: options)
        }
        try await room.send(message(p))
    }
    let created = seconds(ContinuousClock.now - creation)
    try await Task.sleep(for: .milliseconds(500))
    let after = sj_bench_malloc_in_use()
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    print(
        "  \(format(Double(after - before) / Double(processes))) B per idle process (malloc in use); \(descriptors) descriptors open in the whole program; created (child started + one send) in \(String(format: "%.1f", created)) s"
    )
    await supervisor.shutdown()
}
