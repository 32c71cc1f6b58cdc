import Foundation
import GRDB
import StateJournal

/// The systems a restart rebuilds state from.
enum ReplaySystem: Hashable, Sendable, CustomStringConvertible {
    case stateJournal(snapshot: Bool)
    /// StateJournal with a hand-written message codec (`EventBinaryCodec`) instead of `Codable`.
    case stateJournalBinary
    /// StateJournal with Foundation's JSON as its message codec, as the JSON peers decode.
    case stateJournalJSON
    /// StateJournal with the `@CompactCodable` conformance of the same event (`MacroEvent`):
    /// the same bytes as `Codable`'s, read without `Decoder`.
    case stateJournalMacro
    /// StateJournal with `Codable` messages, journaled at `CompressionLevel.high` (LZ4HC): the same
    /// format, fewer bytes, more of the writer's CPU.
    case stateJournalHigh
    case sqlite(Encoding)
    case files(Encoding)

    static let all: [ReplaySystem] =
        [
            .stateJournal(snapshot: false), .stateJournal(snapshot: true), .stateJournalHigh, .stateJournalMacro,
            .stateJournalBinary, .stateJournalJSON,
        ]
        + Encoding.allCases.flatMap { [ReplaySystem.sqlite($0), .files($0)] }

    var system: String {
        switch self {
        case .stateJournal(let snapshot): snapshot ? "StateJournal, snapshot" : "StateJournal"
        case .stateJournalBinary: "StateJournal, own codec"
        case .stateJournalJSON: "StateJournal, JSON codec"
        case .stateJournalMacro: "StateJournal, @CompactCodable"
        case .stateJournalHigh: "StateJournal, LZ4HC"
        case .sqlite: "SQLite WAL"
        case .files(let encoding): encoding == .json ? "JSON lines" : "length-prefixed file"
        }
    }

    var encoding: String {
        switch self {
        case .stateJournal, .stateJournalMacro, .stateJournalHigh: "compact"
        case .stateJournalBinary: "hand-written"
        case .stateJournalJSON: "json"
        case .sqlite(let encoding), .files(let encoding): encoding.rawValue
        }
    }

    /// The child as a restart starts it.
    func spec(_ p: Int) -> ChildSpec<EventLog> {
        var options = JournalStore.options(.written)
        if self == .stateJournalHigh {
            options.journal.compressionLevel = .high
        }
        if self == .stateJournalBinary {
            return ChildSpec(id: "p\(p)", process: EventLog(), options: options, messageCodec: EventBinaryCodec())
        }
        if self == .stateJournalJSON {
            return ChildSpec(id: "p\(p)", process: EventLog(), options: options, messageCodec: JSONEventCodec())
        }
        if self == .stateJournalMacro {
            return ChildSpec(id: "p\(p)", process: EventLog(), options: options, messageCodec: MacroEventCodec())
        }
        return ChildSpec(id: "p\(p)", process: EventLog(), options: options)
    }

    var description: String { "\(system) [\(encoding)]" }
}

struct ReplayFigure: Sendable, Codable {
    var system: String
    var encoding: String
    var processes: Int
    var messagesPerProcess: Int
    /// Messages of state rebuilt per second (with a snapshot, the messages the snapshot stands for).
    var messagesPerSecond: Double
    var secondsToRunning: Double
    var firstMessageMilliseconds: Double?
    var bytesOnDiskPerMessage: Double
    var runs: [Double]
    var ratioToBestPeer: Double?
    var bestPeer: String?
}

/// Writes the data set once, then restarts from it `repetitions` times; every restart's
/// states are compared with the states the data stands for.
func measureReplay(_ system: ReplaySystem, processes: Int, perProcess: Int, settings: Settings) async throws
    -> ReplayFigure
{
    let directory = "\(settings.directory)/replay-\(processes)x\(perProcess)"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let expected = try await prepareReplay(system, directory: directory, processes: processes, perProcess: perProcess)
    let bytes = directorySize(directory)

    var durations: [Double] = []
    var firsts: [Double?] = []
    for _ in 0..<settings.repetitions {
        FirstMessage.arm()
        let start = ContinuousClock.now
        let restarted = try await replay(system, directory: directory, processes: processes)
        let elapsed = inSeconds(ContinuousClock.now - start)
        // Running with its state is where a restart ends: the supervisor's shutdown (closing
        // 1,000 journals) is not part of it, as the peers' closing is not.
        await restarted.supervisor?.shutdown()
        let states = restarted.states
        let first = FirstMessage.take().map { inSeconds($0 - start) }
        guard states == expected else {
            throw CheckFailure("\(system): the replayed states differ from the states written")
        }
        durations.append(elapsed)
        firsts.append(first)
    }
    let total = Double(processes * perProcess)
    let middle = durations.sorted()[durations.count / 2]
    let index = durations.firstIndex(of: middle)!
    return ReplayFigure(
        system: system.system, encoding: system.encoding, processes: processes, messagesPerProcess: perProcess,
        messagesPerSecond: total / middle, secondsToRunning: middle,
        firstMessageMilliseconds: firsts[index].map { $0 * 1000 },
        bytesOnDiskPerMessage: Double(bytes) / total, runs: durations.map { total / $0 })
}

/// Writes `perProcess` events for each process; returns the states they stand for.
private func prepareReplay(_ system: ReplaySystem, directory: String, processes: Int, perProcess: Int) async throws
    -> [RoomState]
{
    switch system {
    case .stateJournal, .stateJournalBinary, .stateJournalJSON, .stateJournalMacro, .stateJournalHigh:
        // Through the public API, pipelined (several senders per process), at `.written`.
        let snapshot = system == .stateJournal(snapshot: true)
        let supervisor = Supervisor(directory: directory, logger: quietLogger)
        var handles: [ProcessHandle<EventLog>] = []
        for p in 0..<processes { handles.append(try await supervisor.start(system.spec(p))) }
        let lanes = perProcess >= 100_000 ? 16 : 4
        let senders = handles
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<processes {
                for lane in 0..<lanes {
                    group.addTask {
                        for i in stride(from: lane, to: perProcess, by: lanes) {
                            _ = try await senders[p].send(Corpus.event(process: p, index: i))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var states: [RoomState] = []
        for handle in handles {
            states.append(try await handle.state)
            if snapshot { try await handle.snapshot() }
        }
        await supervisor.shutdown()
        return states
    case .sqlite(let encoding):
        let store = try SQLiteStore(directory: directory, mode: .normalPerMessage, encoding: encoding)
        for p in 0..<processes { try store.bulkInsert(process: p, count: perProcess) }
        try await store.close()
        return (0..<processes).map { Corpus.expectedState(process: $0, count: perProcess) }
    case .files(let encoding):
        for p in 0..<processes {
            let path = "\(directory)/p\(p).\(encoding == .json ? "jsonl" : "log")"
            var bytes: [UInt8] = []
            for i in 0..<perProcess {
                bytes += try FileStore.record(Corpus.event(process: p, index: i), encoding: encoding)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        return (0..<processes).map { Corpus.expectedState(process: $0, count: perProcess) }
    }
}

/// What a restart gives: every process's state once it is running again, and the supervisor
/// running them (StateJournal), shut down by the caller after the clock stops.
private struct Restarted {
    var states: [RoomState]
    var supervisor: Supervisor? = nil
}

/// One restart of every process: the state each one has when it is running again.
private func replay(_ system: ReplaySystem, directory: String, processes: Int) async throws -> Restarted {
    switch system {
    case .stateJournal, .stateJournalBinary, .stateJournalJSON, .stateJournalMacro, .stateJournalHigh:
        let supervisor = Supervisor(directory: directory, logger: quietLogger)
        let handles = try await withThrowingTaskGroup(of: (Int, ProcessHandle<EventLog>).self) { group in
            for p in 0..<processes {
                group.addTask { (p, try await supervisor.start(system.spec(p))) }
            }
            return try await group.reduce(into: [Int: ProcessHandle<EventLog>]()) { $0[$1.0] = $1.1 }
        }
        var states: [RoomState] = []
        for p in 0..<processes { states.append(try await handles[p]!.state) }
        return Restarted(states: states, supervisor: supervisor)
    case .sqlite(let encoding):
        let pool = try SQLiteStore.open(path: directory + "/events.sqlite", synchronous: "NORMAL")
        let states = try await inParallel(processes) { p in
            var state = RoomState()
            try SQLiteStore.read(pool: pool, process: p, encoding: encoding) { event in
                FirstMessage.mark()
                state.apply(event)
            }
            return state
        }
        return Restarted(states: states)
    case .files(let encoding):
        let states = try await inParallel(processes) { p in
            var state = RoomState()
            _ = try FileStore.read(
                path: "\(directory)/p\(p).\(encoding == .json ? "jsonl" : "log")", encoding: encoding
            ) { event in
                FirstMessage.mark()
                state.apply(event)
            }
            return state
        }
        return Restarted(states: states)
    }
}

/// Runs `body` for every process on the peers' blocking pool, all at once, and returns the results in order.
private func inParallel(_ processes: Int, _ body: @escaping @Sendable (Int) throws -> RoomState) async throws
    -> [RoomState]
{
    try await withThrowingTaskGroup(of: (Int, RoomState).self) { group in
        for p in 0..<processes {
            group.addTask { (p, try await BlockingPool.shared.run { try body(p) }) }
        }
        var states = [RoomState](repeating: RoomState(), count: processes)
        for try await (p, state) in group { states[p] = state }
        return states
    }
}
