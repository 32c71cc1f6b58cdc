import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How the processes send: one message at a time (the usual actor load) or with a window in flight.
enum Shape: String, Sendable, CaseIterable, Codable {
    case awaitOne = "await-one"
    case pipelined = "pipelined"

    /// Messages each process keeps in flight.
    var window: Int { self == .awaitOne ? 1 : 16 }
}

struct AppendFigure: Sendable, Codable {
    var system: String
    var encoding: String
    var guarantee: String
    var processes: Int
    var shape: Shape
    var messagesPerSecond: Double
    var payloadMBPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var bytesOnDiskPerMessage: Double
    /// CPU time of the whole program (user + system, both cores) per acknowledged message.
    var cpuMicrosecondsPerMessage: Double
    var runs: [Double]
    var messagesChecked: Int
    /// This StateJournal figure over the best peer's of the same guarantee (or stronger), same processes and shape.
    var ratioToBestPeer: Double?
    var bestPeer: String?
}

/// JSON size of each corpus template: "payload" is the event as JSON, the same for every system.
let payloadSizes: [Int] = Corpus.templates.map { (try? JSONEncoder().encode($0).count) ?? 0 }

struct AppendRun {
    var messages: Int
    var seconds: Double
    var payloadBytes: Int
    var latencies: [Double]
    var bytesOnDisk: Int
    var cpuSeconds: Double
}

/// User and system CPU time of this program so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
        usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// One timed run: `processes` processes send for `seconds`, then every process's events are read back
/// and compared with what was acknowledged (ids, content and, one at a time, order).
func runAppend(_ kind: SystemKind, processes: Int, shape: Shape, seconds: Double, directory: String) async throws
    -> AppendRun
{
    try? FileManager.default.removeItem(atPath: directory)
    let store = try await kind.make(directory: directory, processes: processes)
    let window = shape.window
    let cpuAtStart = cpuSeconds()
    let start = ContinuousClock.now
    let deadline = start + .nanoseconds(Int64(seconds * 1e9))
    struct Lane: Sendable {
        var process: Int
        var lane: Int
        var sent: Int
        var payload: Int
        var latencies: [Double]
        /// When this lane stopped sending.
        var stopped: ContinuousClock.Instant
        /// The program's CPU time then.
        var cpuAtStop: Double = 0
    }
    let lanes = try await withThrowingTaskGroup(of: Lane.self) { group in
        for process in 0..<processes {
            for lane in 0..<window {
                group.addTask {
                    var result = Lane(
                        process: process, lane: lane, sent: 0, payload: 0, latencies: [], stopped: start)
                    var index = lane
                    while ContinuousClock.now < deadline {
                        let event = Corpus.event(process: process, index: index)
                        let sentAt = ContinuousClock.now
                        try await store.append(process: process, event)
                        result.latencies.append(inSeconds(ContinuousClock.now - sentAt))
                        result.payload += payloadSizes[(process &* 7919 &+ index) % Corpus.size]
                        result.sent += 1
                        index += window
                    }
                    result.stopped = ContinuousClock.now
                    result.cpuAtStop = cpuSeconds()
                    return result
                }
            }
        }
        return try await group.reduce(into: [Lane]()) { $0.append($1) }
    }
    // The end is when the last lane stopped, not when the group has collected every child
    // (with 16,384 children, collecting them takes a while of its own).
    let last = lanes.max { $0.stopped < $1.stopped }
    let elapsed = inSeconds((last?.stopped ?? start) - start)
    // The CPU time until the last lane stopped, not until the group had collected every child.
    let cpu = (last?.cpuAtStop ?? cpuSeconds()) - cpuAtStart
    try await store.close()

    // Read back and check: each process holds exactly the acknowledged events, once each.
    var expected = [[Int64]](repeating: [], count: processes)
    for lane in lanes {
        for k in 0..<lane.sent { expected[lane.process].append(Int64(lane.lane + k * window)) }
    }
    let stored = try store.readBack(processes: processes)
    for process in 0..<processes {
        let events = stored[process]
        let ids = events.map(\.id)
        if shape == .awaitOne {
            guard ids == Array(0..<Int64(ids.count)), ids.count == expected[process].count else {
                throw CheckFailure(
                    "\(kind), process \(process): read back \(ids.count) events out of order or missing (expected 0..<\(expected[process].count))"
                )
            }
        } else if ids.sorted() != expected[process].sorted() {
            throw CheckFailure(
                "\(kind), process \(process): read back \(ids.count) events, acknowledged \(expected[process].count)")
        }
        for event in events where event != Corpus.event(process: process, index: Int(event.id)) {
            throw CheckFailure("\(kind), process \(process): event \(event.id) read back with other content")
        }
    }
    let bytes = directorySize(directory)
    try? FileManager.default.removeItem(atPath: directory)
    return AppendRun(
        messages: lanes.reduce(0) { $0 + $1.sent }, seconds: elapsed, payloadBytes: lanes.reduce(0) { $0 + $1.payload },
        latencies: lanes.flatMap(\.latencies), bytesOnDisk: bytes, cpuSeconds: cpu)
}

struct CheckFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func inSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Runs one cell `repetitions` times and keeps the median run's figures.
func measureAppend(_ kind: SystemKind, processes: Int, shape: Shape, settings: Settings) async throws -> AppendFigure {
    var runs: [AppendRun] = []
    for repetition in 0..<settings.repetitions {
        let directory = "\(settings.directory)/append-\(processes)-\(shape.rawValue)-\(repetition)"
        runs.append(
            try await runAppend(
                kind, processes: processes, shape: shape, seconds: settings.seconds, directory: directory))
    }
    let rates = runs.map { Double($0.messages) / $0.seconds }
    let middle = runs.sorted { Double($0.messages) / $0.seconds < Double($1.messages) / $1.seconds }[runs.count / 2]
    let latencies = middle.latencies.sorted()
    return AppendFigure(
        system: kind.system, encoding: kind.encoding, guarantee: kind.guarantee, processes: processes, shape: shape,
        messagesPerSecond: Double(middle.messages) / middle.seconds,
        payloadMBPerSecond: Double(middle.payloadBytes) / middle.seconds / 1e6,
        p50Microseconds: percentile(latencies, 0.5) * 1e6, p99Microseconds: percentile(latencies, 0.99) * 1e6,
        bytesOnDiskPerMessage: Double(middle.bytesOnDisk) / Double(max(middle.messages, 1)),
        cpuMicrosecondsPerMessage: middle.cpuSeconds / Double(max(middle.messages, 1)) * 1e6,
        runs: rates, messagesChecked: runs.reduce(0) { $0 + $1.messages })
}
