import CCompareSupport
import Foundation
import StateJournal

#if canImport(Glibc)
    import Glibc
#endif

struct ScaleFigure: Sendable, Codable {
    var journals: Int
    var active: Int
    var residentMBBaseline: Double
    var residentMBAllIdle: Double
    var residentMBWhileActive: Double
    var mallocBytesPerIdleJournal: Double
    var descriptorsAllIdle: Int
    var descriptorsWhileActivePeak: Int
    var activeMessagesPerSecond: Double
    var secondsToCreate: Double
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// `journals` dynamic children each get one message and go idle; then `active` of them send for a while.
func measureScale(journals: Int, active: Int, settings: Settings) async throws -> ScaleFigure {
    let directory = settings.directory + "/scale"
    try? FileManager.default.removeItem(atPath: directory)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let options: ProcessOptions = {
        var options = ProcessOptions(durability: .written)
        options.journal.idleTimeout = .milliseconds(200)
        return options
    }()
    let supervisor = Supervisor(directory: directory, logger: quietLogger)
    let baselineResident = residentBytes()
    let baselineMalloc = sj_compare_malloc_in_use()

    let created = ContinuousClock.now
    let workers = 32
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                for p in stride(from: worker, to: journals, by: workers) {
                    let handle = try await supervisor.child(id: "session-\(p)") {
                        ChildSpec(id: $0, process: EventLog(), options: options)
                    }
                    _ = try await handle.send(Corpus.event(process: p, index: 0))
                }
            }
        }
        try await group.waitForAll()
    }
    let secondsToCreate = inSeconds(ContinuousClock.now - created)
    // Idle release is a timer: wait for it (bounded by what the timer allows, not a measurement).
    var idleDescriptors = openDescriptors()
    for _ in 0..<100 where idleDescriptors > 64 {
        try await Task.sleep(for: .milliseconds(100))
        idleDescriptors = openDescriptors()
    }
    let idleResident = residentBytes()
    let idleMalloc = sj_compare_malloc_in_use()

    var handles: [ProcessHandle<EventLog>] = []
    for p in stride(from: 0, to: journals, by: max(1, journals / active)).prefix(active) {
        handles.append(await supervisor.handle(for: "session-\(p)", as: EventLog.self)!)
    }
    let senders = handles
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(settings.quick ? 300 : 2000)
    let sampler = Task {
        var peakDescriptors = 0
        var peakResident = 0
        while !Task.isCancelled {
            peakDescriptors = max(peakDescriptors, openDescriptors())
            peakResident = max(peakResident, residentBytes())
            try? await Task.sleep(for: .milliseconds(50))
        }
        return (peakDescriptors, peakResident)
    }
    let sent = try await withThrowingTaskGroup(of: Int.self) { group in
        for (index, handle) in senders.enumerated() {
            group.addTask {
                var n = 1
                while ContinuousClock.now < deadline {
                    _ = try await handle.send(Corpus.event(process: index, index: n))
                    n += 1
                }
                return n - 1
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = inSeconds(ContinuousClock.now - start)
    sampler.cancel()
    let (peakDescriptors, peakResident) = await sampler.value
    await supervisor.shutdown()
    return ScaleFigure(
        journals: journals, active: active,
        residentMBBaseline: Double(baselineResident) / 1e6, residentMBAllIdle: Double(idleResident) / 1e6,
        residentMBWhileActive: Double(peakResident) / 1e6,
        mallocBytesPerIdleJournal: Double(Int(idleMalloc) - Int(baselineMalloc)) / Double(journals),
        descriptorsAllIdle: idleDescriptors, descriptorsWhileActivePeak: peakDescriptors,
        activeMessagesPerSecond: Double(sent) / elapsed, secondsToCreate: secondsToCreate)
}
