// The crash campaign: kill -9 trials against the real library.
//
//     swift run -c release statejournal-crash-campaign [--trials N] [--seed S]
//     swift run -c release statejournal-crash-campaign --histories N [--seed S] [--verbose]
//     swift run -c release statejournal-crash-campaign --power-cuts N [--seed S] [--verbose]
//
// `--power-cuts N` runs N power-cut trials per sync method (`PowerCutCheck`: `.synced`
// journals cut against the file-system model, local or FUSE, sectors of unsynced writes kept
// in any subset, with and without snapshots) and prints, per method, the trials, the
// acknowledged messages and the ones lost; it exits 1 on a loss, naming the seed.
//
// `device-child` and `device-check` are the two halves of a power cut of a disk under a real
// file system, which tools/power-cut-disk/trials.sh runs (see there).
//
// `--histories N` runs N concurrent histories instead (`HistoryCheck`: 1–64
// senders, refusals, crashes, stops, cancellations and timeouts under the three
// strategies, checked against a sequential model) and prints
// `histories N, operations …, violations 0`; it exits 1 on a violation, naming the seed.
//
// Each trial starts a child OS process (this program, `child DIR SEED`) that
// runs a supervisor with 1–256 journaled processes at a random durability (and,
// for `.synced`, a random sync method),
// 1–8 concurrent senders per process, random message sizes and a share of
// messages that `apply` refuses, and records every acknowledged message. The
// child is killed with SIGKILL at a random instant or at a named point:
// mid-write (a torn frame on disk), between write and sync, mid-snapshot,
// mid-clean-stop, mid-repair. The parent then restarts the processes from
// their journals and checks G1: every acknowledged message present, in
// order, once, and nothing beyond what was sent. It prints
// `trials N, acknowledged lost 0, wrong states 0, duplicates 0, recovery errors 0`
// and exits 1 on any non-zero count, naming the seed that reproduces it.
import Foundation
import Logging
import StateJournal
import StateJournalStorage
import StateJournalSystem
import StateJournalTesting

#if canImport(Glibc)
    import Glibc
#endif

struct Room: JournaledProcess {
    struct Refused: Error {}
    var initialState: [String] { [] }
    func apply(_ message: String, to state: inout [String]) throws {
        // A refused message crashes the process, which restarts without it.
        if message.hasPrefix("poison") { throw Refused() }
        state.append(message)
    }
}

enum KillPoint: Int, CaseIterable, CustomStringConvertible {
    case randomInstant, midWrite, betweenWriteAndSync, midSnapshot, midCleanStop, midRepair
    var description: String {
        ["random instant", "mid-write", "between write and sync", "mid-snapshot", "mid-clean-stop", "mid-repair"][
            rawValue]
    }
}

struct Trial {
    var seed: UInt64
    var durability: Durability
    var processes: Int
    var maxSize: Int
    var point: KillPoint
    var killAfterMicroseconds: Int
    var triggerAfter: Int
    /// Concurrent senders per process, each with its own numbered messages.
    var senders: Int
    /// Percent of sends that `apply` refuses.
    var refusePercent: Int
    /// How `.synced` journals sync (drawn last, so earlier seeds keep their other draws).
    var syncMethod: SyncMethod

    /// Snapshots every this many messages (device trials; mid-snapshot kills take theirs from `point`).
    var snapshotEvery: Int?
    /// A power cut of the disk, not a kill: `.written` messages may be lost, never reordered or duplicated.
    var powerCut = false
    /// Device trials: after this many acknowledgements the child stops every process normally, with
    /// the power cut armed to land on one of the next `cutAfterWrites` writes to reach the disk.
    var cleanStopAfter: Int?
    var cutAfterWrites = 1
    /// The power-cut disk's control file (`device-child`'s fourth argument), for a cut mid-stop.
    var cutControl: String?
    /// The child waits to be killed once every sender has stopped (on a full disk, each stops at
    /// its first refused send), rather than end its supervisor's run: that would be a normal stop,
    /// which discards the journals.
    var waitForKill = false
    /// The supervisor's default restart intensity and backoff rather than the campaign's (which
    /// restarts without end): a process that can no longer open its journal is given up, and its
    /// waiting senders are told why instead of waiting for it.
    var defaultIntensity = false

    init(seed: UInt64) {
        var g = SplitMix64(seed: seed)
        self.seed = seed
        durability = [Durability.written, .synced, .buffered(within: .milliseconds(2))][Int(g.next() % 3)]
        processes = [1, 2, 8, 64, 256][Int(g.next() % 5)]
        maxSize = [16, 200, 2000, 70_000][Int(g.next() % 4)]
        point = KillPoint(rawValue: Int(g.next() % UInt64(KillPoint.allCases.count)))!
        killAfterMicroseconds = 20_000 + Int(g.next() % 200_000)
        triggerAfter = 1 + Int(g.next() % 40)
        senders = [1, 2, 4, 8][Int(g.next() % 4)]
        refusePercent = [0, 0, 2, 10][Int(g.next() % 4)]
        syncMethod = [SyncMethod.automatic, .perFile, .fileSystem][Int(g.next() % 3)]
    }

    /// A trial for a power cut of a disk under a real file system (`device-child`, `device-check`):
    /// `.synced` journals in two trials of three, `.written` in the third (which may lose what was
    /// acknowledged, but must recover by itself to a prefix of each sender's messages), the cut at
    /// a random instant, snapshots in two of three.
    init(deviceSeed seed: UInt64) {
        self.init(seed: seed)
        var g = SplitMix64(seed: seed ^ 0xD15C)
        point = .randomInstant
        powerCut = true
        processes = [1, 8, 64][Int(g.next() % 3)]
        maxSize = [200, 2000, 70_000][Int(g.next() % 3)]
        snapshotEvery = [nil, 7, 50][Int(g.next() % 3)]
        syncMethod = [SyncMethod.automatic, .perFile, .fileSystem][Int(seed % 3)]
        durability = [Durability.synced, .synced, .written][Int(g.next() % 3)]
        if g.next() % 4 == 0 {
            cleanStopAfter = 50 + Int(g.next() % 300)
            cutAfterWrites = 1 + Int(g.next() % 64)
        }
        if ProcessInfo.processInfo.environment["STATEJOURNAL_DEVICE_FULL"] != nil {
            // A disk that fills up (tools/full-disk), then a kill -9, not a power cut: every
            // acknowledged message must be there, `.written` ones too.
            powerCut = false
            cleanStopAfter = nil
            waitForKill = true
        }
        if ProcessInfo.processInfo.environment["STATEJOURNAL_DEVICE_FAILING"] != nil {
            // A file system that fails (tools/fs-error): an error that aborts its journal, or a
            // shutdown, then a kill -9. What it had not committed is gone, as in a crash of the
            // kernel: `.written` messages may be lost (never reordered), `.synced` ones not.
            cleanStopAfter = nil
            waitForKill = true
            defaultIntensity = true
            refusePercent = 0  // with the default intensity, refusals alone would give processes up
        }
        if ProcessInfo.processInfo.environment["STATEJOURNAL_DEVICE_SABOTAGE"] != nil {
            // A disk that lies about flushes must show a loss: every message `.synced`, and no
            // clean stop (a discarded journal shows nothing).
            durability = .synced
            cleanStopAfter = nil
        }
    }
}

let quiet = Logger(label: "campaign") { _ in SwiftLogNoOpLogHandler() }

/// Kills this OS process at the trial's named point, seen through the file layer's system-call seam.
final class Killer: SystemCallInjector, @unchecked Sendable {
    // Safe: counters are only touched with `lock` held.
    let point: KillPoint
    let after: Int
    var armed = false
    var writes = 0
    var syncs = 0
    let lock = NSLock()
    init(point: KillPoint, after: Int) {
        self.point = point
        self.after = after
    }
    func arm() {
        lock.withLock { armed = true }
    }
    func count(_ body: () -> Bool) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
    func write(path: String, offset: Int64, count: Int) -> InjectedFault {
        switch point {
        case .midWrite where path.hasSuffix(".journal") && count > 1:
            // Write part of the frame; `wrote` then kills: a torn frame on disk.
            if self.count({
                writes += 1
                return writes >= after
            }) {
                return .short(count / 2)
            }
        case .midSnapshot where path.hasSuffix(".snapshot.tmp") || path.hasSuffix(".compact.tmp"):
            return .short(max(1, count / 2))
        case .midRepair where path.contains(".cut-"):
            return .short(max(1, count / 2))
        default: break
        }
        return .none
    }
    func wrote(path: String, offset: Int64, count: Int) {
        switch point {
        case .midWrite where path.hasSuffix(".journal"):
            if self.count({ writes >= after }) { kill(getpid(), SIGKILL) }
        case .midSnapshot where path.hasSuffix(".snapshot.tmp") || path.hasSuffix(".compact.tmp"):
            kill(getpid(), SIGKILL)
        case .midRepair where path.contains(".cut-"):
            kill(getpid(), SIGKILL)
        default: break
        }
    }
    func sync(paths: [String], fileSystem: Bool) -> InjectedFault {
        switch point {
        case .betweenWriteAndSync where paths.contains(where: { $0.hasSuffix(".journal") }):
            if count({
                syncs += 1
                return syncs >= after
            }) {
                kill(getpid(), SIGKILL)
            }
        case .midCleanStop where armed:
            kill(getpid(), SIGKILL)
        default: break
        }
        return .none
    }
    func synced(paths: [String], fileSystem: Bool) {}
    func fileSystemType(path: String) -> Int? { nil }
    func read(path: String, offset: Int64, buffer: UnsafeMutableRawBufferPointer) {}
}

func child(directory: String, acksPath: String, trial: Trial) async throws {
    let seed = trial.seed
    let killer = Killer(point: trial.point, after: trial.triggerAfter)
    SystemCallFaults.install(killer)
    var options = ProcessOptions(durability: trial.durability)
    options.journal.idleTimeout = nil
    options.journal.syncMethod = trial.syncMethod
    if trial.point == .midSnapshot { options.snapshots = .every(messages: 10) }
    if let every = trial.snapshotEvery { options.snapshots = .every(messages: every) }
    let supervisor =
        trial.defaultIntensity
        ? Supervisor(directory: directory, logger: quiet)
        : Supervisor(
            directory: directory, intensity: RestartIntensity(maxRestarts: 100_000, within: .seconds(1)),
            backoff: Backoff(initial: .microseconds(100), maximum: .milliseconds(2)), logger: quiet)
    try await supervisor.run {
        let acks = open(acksPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var rooms: [(Int, ProcessHandle<Room>)] = []
        for p in 0..<trial.processes {
            do {
                rooms.append(
                    (
                        p,
                        try await supervisor.child(id: "room-\(p)") {
                            ChildSpec(id: $0, process: Room(), options: options)
                        }
                    ))
            } catch let error where trial.waitForKill {
                // The disk filled up or failed while the rooms started: this room sends nothing,
                // and says why (a line `device-check` skips); the others go on.
                let why =
                    "stopped room-\(p) at its start: \(error)".replacingOccurrences(of: "\n", with: " ").prefix(600)
                    + "\n"
                _ = String(why).withCString { write(acks, $0, strlen($0)) }
            }
        }
        if trial.point == .midRepair {
            // A torn tail to repair: cut the last frame of room-0's journal... after some messages.
            for k in 0..<20 { try await rooms[0].1.send("room-0:0:\(k):x") }
            await supervisor.shutdown()
            kill(getpid(), SIGKILL)
        }
        let padding = String(repeating: "p", count: Int(seed % UInt64(trial.maxSize)))
        let sent = ManagedCounter()
        await withTaskGroup(of: Void.self) { group in
            for (p, room) in rooms {
                for s in 0..<trial.senders {
                    group.addTask {
                        var k = 0
                        var refusals = SplitMix64(seed: seed ^ UInt64(p * 64 + s))
                        while true {
                            if Int(refusals.next() % 100) < trial.refusePercent {
                                // Refused: never journaled; the sender goes on after the restart.
                                do {
                                    try await room.send("poison:\(p):\(s):\(k)")
                                    // Acknowledged: impossible; the parent finds no poison in the state either way.
                                    return
                                } catch let error as ProcessError where error.code == .rejected {
                                    continue
                                } catch {
                                    return
                                }
                            }
                            let message = "room-\(p):\(s):\(k):\(padding.prefix((k * 7919) % (padding.count + 1)))"
                            do { try await room.send(message) } catch {
                                // Why the sender stopped (a line `device-check` skips: not three words).
                                let why =
                                    "stopped room-\(p) \(s) at \(k): \(error)"
                                    .replacingOccurrences(of: "\n", with: " ").prefix(600) + "\n"
                                _ = String(why).withCString { write(acks, $0, strlen($0)) }
                                return
                            }
                            let line = "room-\(p) \(s) \(k)\n"
                            _ = line.withCString { write(acks, $0, strlen($0)) }
                            k += 1
                            if let after = trial.cleanStopAfter, let control = trial.cutControl,
                                sent.increment() == after
                            {
                                // G2 under a power cut: the cut lands during the normal stop (or,
                                // if the stop writes less, right after it). The disk kills this
                                // process at the cut.
                                let marker = "clean-stop\n"
                                _ = marker.withCString { write(acks, $0, strlen($0)) }
                                let command = "cut \(seed) \(trial.cutAfterWrites) \(getpid())"
                                let fd = open(control, O_WRONLY)
                                _ = command.withCString { write(fd, $0, strlen($0)) }
                                close(fd)
                                await supervisor.shutdown()
                                let now = open(control, O_WRONLY)
                                _ = "cut \(seed)".withCString { write(now, $0, strlen($0)) }
                                close(now)
                                while true { sleep(1) }
                            }
                            if trial.point == .midCleanStop && sent.increment() == 200 {
                                killer.arm()
                                let marker = "clean-stop\n"
                                _ = marker.withCString { write(acks, $0, strlen($0)) }
                                await supervisor.shutdown()
                                kill(getpid(), SIGKILL)
                            }
                        }
                    }
                }
            }
        }
        if trial.waitForKill { try await Task.sleep(for: .seconds(3600)) }
    }
}

final class ManagedCounter: Sendable {
    private let value = LockedValue(0)
    func increment() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}

struct Counts {
    var trials = 0, lost = 0, wrong = 0, duplicates = 0, recoveryErrors = 0
    /// Acknowledged `.written` messages a power cut took (allowed: only `.synced` survives one).
    var lostToPowerCut = 0
    var failingSeeds: [UInt64] = []
}

/// `--sabotage` damages every journal after the kill (drops its last 8 bytes and
/// the acknowledgement record stays): the campaign must then report losses.
/// It proves the checks can fail.
nonisolated(unsafe) var sabotage = false

func runTrial(seed: UInt64, counts: inout Counts) async {
    let trial = Trial(seed: seed)
    let directory = FileManager.default.temporaryDirectory.path + "/sj-campaign-\(getpid())-\(seed)"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = ["child", directory, String(seed)]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch {
        counts.recoveryErrors += 1
        return
    }
    if trial.point == .randomInstant || trial.point == .midWrite || trial.point == .betweenWriteAndSync {
        // A named point may not be reached (few writes): a random instant then.
        usleep(UInt32(trial.killAfterMicroseconds))
        kill(process.processIdentifier, SIGKILL)
    } else {
        // Bounded: if the point is never reached, kill anyway.
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    process.waitUntilExit()
    await check(trial: trial, directory: directory, acksPath: directory + "/acks", counts: &counts)
}

/// Restarts the trial's processes from their journals in `directory` and checks G1 against the
/// acknowledgements the child recorded in `acksPath`; counts the trial and what it found.
func check(trial: Trial, directory: String, acksPath: String, counts: inout Counts) async {
    let seed = trial.seed
    counts.trials += 1

    // Acknowledged messages per room and sender: the highest number acknowledged.
    let text = String(decoding: FileManager.default.contents(atPath: acksPath) ?? Data(), as: UTF8.self)
    var acked: [String: [Int: Int]] = [:]
    var cleanStopStarted = false
    for line in text.split(separator: "\n") {
        if line == "clean-stop" {
            cleanStopStarted = true
            continue
        }
        let parts = line.split(separator: " ")
        guard parts.count == 3, let s = Int(parts[1]), let k = Int(parts[2]) else { continue }
        acked[String(parts[0]), default: [:]][s] = max(acked[String(parts[0])]?[s] ?? -1, k)
    }
    if sabotage {
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasSuffix(".journal") {
            let path = directory + "/" + file
            if let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int), size > 200 {
                truncate(path, off_t(size - 8))
            }
        }
    }
    if trial.point == .midRepair {
        // Repair the journal the child left (a clean stop discarded it, or it is there): never a crash.
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasSuffix(".journal") {
            _ = try? JournalRepair.repair(directory + "/" + file, pointInTime: false, dryRun: false)
        }
    }
    let supervisor = Supervisor(directory: directory, logger: quiet)
    let failed =
        (try? await supervisor.run {
            var failed = false
            for p in 0..<trial.processes {
                let id = "room-\(p)"
                do {
                    let room = try await supervisor.child(id: id) {
                        ChildSpec(id: $0, process: Room(), options: ProcessOptions())
                    }
                    let posts = try await room.state
                    // Per sender: its messages in its order, 0, 1, 2, … with no gap or repeat (senders interleave).
                    var expected: [Int: Int] = [:]
                    var seen = Set<String>()
                    for post in posts {
                        let parts = post.split(separator: ":", maxSplits: 3)
                        guard parts.count >= 3, parts[0] == id, let s = Int(parts[1]), let k = Int(parts[2]) else {
                            counts.wrong += 1  // a refused message, or another room's
                            failed = true
                            break
                        }
                        if !seen.insert("\(s):\(k)").inserted {
                            counts.duplicates += 1
                            failed = true
                        }
                        if k != expected[s, default: 0] {
                            counts.wrong += 1
                            failed = true
                            break
                        }
                        expected[s] = k + 1
                    }
                    let mayBeEmpty = cleanStopStarted && posts.isEmpty
                    for (s, lastAcked) in acked[id] ?? [:] {
                        if case .buffered = trial.durability {
                        } else if trial.powerCut && trial.durability == .written {
                            counts.lostToPowerCut += max(0, lastAcked + 1 - expected[s, default: 0])
                        } else if !mayBeEmpty && expected[s, default: 0] <= lastAcked {
                            counts.lost += lastAcked + 1 - expected[s, default: 0]
                            failed = true
                            let kept = expected[s, default: 0]
                            let stderr = FileHandle.standardError
                            stderr.write(
                                Data("\(id) sender \(s): acknowledged through \(lastAcked), found \(kept)\n".utf8))
                        }
                    }
                } catch {
                    counts.recoveryErrors += 1
                    failed = true
                    FileHandle.standardError.write(Data("seed \(seed): \(id): \(error)\n".utf8))
                }
            }
            return failed
        }) ?? true
    if failed {
        counts.failingSeeds.append(seed)
        FileHandle.standardError.write(
            Data(
                "FAILED seed \(seed): \(trial.durability) (sync \(trial.syncMethod)), \(trial.processes) processes × \(trial.senders) senders, \(trial.refusePercent)% refused, kill \(trial.point)\(trial.snapshotEvery.map { ", snapshots every \($0)" } ?? "")\n"
                    .utf8))
    }
}

let arguments = CommandLine.arguments
if arguments.count == 4 && arguments[1] == "child" {
    try await child(
        directory: arguments[2], acksPath: arguments[2] + "/acks", trial: Trial(seed: UInt64(arguments[3])!))
    exit(0)
}
// A power cut of a disk under a real file system, in two steps run by tools/power-cut-disk/trials.sh:
// `device-child DIR ACKS SEED [CONTROL]` writes `.synced` journals in DIR (on the disk) and records
// each acknowledgement in ACKS (off it) until it is killed (in a quarter of the trials it stops
// normally, and arms a cut that lands during the stop through the disk's CONTROL file); `device-check DIR ACKS SEED`, on the image
// that survived the cut, restarts every process and checks that each acknowledged message is there.
if arguments.count >= 5 && (arguments[1] == "device-child" || arguments[1] == "device-check") {
    var trial = Trial(deviceSeed: UInt64(arguments[4])!)
    trial.cutControl = arguments.count > 5 ? arguments[5] : nil
    if arguments[1] == "device-child" {
        try await child(directory: arguments[2], acksPath: arguments[3], trial: trial)
        exit(0)
    }
    var counts = Counts()
    await check(trial: trial, directory: arguments[2], acksPath: arguments[3], counts: &counts)
    let acknowledged = (try? String(contentsOfFile: arguments[3], encoding: .utf8))?.split(separator: "\n").count ?? 0
    print(
        "seed \(trial.seed): \(trial.durability) (sync \(trial.syncMethod))\(trial.cleanStopAfter.map { ", cut during a clean stop after \($0) acknowledged" } ?? ""), \(trial.processes) processes × \(trial.senders) senders, snapshots \(trial.snapshotEvery.map { "every \($0)" } ?? "off"): \(acknowledged) acknowledged, lost \(counts.lost), wrong states \(counts.wrong), duplicates \(counts.duplicates), recovery errors \(counts.recoveryErrors)\(trial.durability == .written ? ", acknowledged .written lost to the cut \(counts.lostToPowerCut)" : "")"
    )
    exit(counts.failingSeeds.isEmpty ? 0 : 1)
}
var trials = 100
var histories: Int?
var powerCuts: Int?
var verbose = false
var seed = UInt64(Date().timeIntervalSince1970)
var iterator = arguments.dropFirst().makeIterator()
while let argument = iterator.next() {
    switch argument {
    case "--trials": trials = Int(iterator.next()!)!
    case "--histories": histories = Int(iterator.next()!)!
    case "--power-cuts": powerCuts = Int(iterator.next()!)!
    case "--seed": seed = UInt64(iterator.next()!)!
    case "--sabotage": sabotage = true
    case "--verbose": verbose = true
    default:
        print(
            "usage: statejournal-crash-campaign [--trials N] [--seed S] [--sabotage] | --histories N [--seed S] [--verbose] | --power-cuts N [--seed S] [--verbose]"
        )
        exit(64)
    }
}
if let powerCuts {
    print("power cuts: \(powerCuts) trials per sync method from seed \(seed)")
    var failing: [(SyncMethod, UInt64)] = []
    for method in [SyncMethod.automatic, .perFile, .fileSystem] {
        var acknowledged = 0
        var lost = 0
        var cuts = 0
        for index in 0..<powerCuts {
            let trialSeed = seed &+ UInt64(index)
            let configuration = PowerCutCheck.Configuration.random(seed: trialSeed, method: method)
            let report = try await PowerCutCheck.run(configuration)
            if verbose || !report.lost.isEmpty { print("seed \(trialSeed), \(configuration): \(report)") }
            if !report.lost.isEmpty { failing.append((method, trialSeed)) }
            acknowledged += report.acknowledged
            lost += report.lost.count
            cuts += report.watermarkCuts
        }
        print(
            "  \(method): \(powerCuts) trials, \(acknowledged) acknowledged, \(lost) lost, \(cuts) torn unsynced writes cut by watermark"
        )
        fflush(nil)
    }
    if let (method, first) = failing.first {
        print(
            "reproduce with: swift run -c release statejournal-crash-campaign --power-cuts 1 --seed \(first) --verbose (method \(method))"
        )
        exit(1)
    }
    exit(0)
}
if let histories {
    print("concurrent histories: \(histories) from seed \(seed)")
    var total = HistoryCheck.Report(seed: seed)
    var failing: [UInt64] = []
    for index in 0..<histories {
        let report = try await HistoryCheck.run(seed: seed &+ UInt64(index))
        if verbose || !report.violations.isEmpty { print(report) }
        if !report.violations.isEmpty { failing.append(report.seed) }
        total.operations += report.operations
        total.acknowledged += report.acknowledged
        total.refused += report.refused
        total.declined += report.declined
        total.cancelled += report.cancelled
        total.timedOut += report.timedOut
        total.stopped += report.stopped
        total.crashes += report.crashes
        total.stops += report.stops
        total.violations += report.violations
        if (index + 1) % 100 == 0 && index + 1 < histories {
            print(
                "… after \(index + 1) histories: \(total.operations) operations, \(total.violations.count) violations")
            fflush(nil)
        }
    }
    print(
        "histories \(histories), operations \(total.operations) (acknowledged \(total.acknowledged), declined by validate \(total.declined), refused by apply (crash) \(total.refused), cancelled \(total.cancelled), timed out \(total.timedOut), answered stopped \(total.stopped), crashes \(total.crashes), stops \(total.stops)), violations \(total.violations.count)"
    )
    if let first = failing.first {
        print(
            "reproduce with: swift run -c release statejournal-crash-campaign --histories 1 --seed \(first) --verbose")
        exit(1)
    }
    exit(0)
}
print("crash campaign: \(trials) trials from seed \(seed)")
var perPoint: [String: Int] = [:]
for index in 0..<trials { perPoint[Trial(seed: seed &+ UInt64(index)).point.description, default: 0] += 1 }
func campaign(trials: Int, seed: UInt64) async -> Counts {
    var counts = Counts()
    for index in 0..<trials {
        await runTrial(seed: seed &+ UInt64(index), counts: &counts)
        if (index + 1) % 500 == 0 && index + 1 < trials {
            print(
                "… after \(counts.trials) trials: acknowledged lost \(counts.lost), wrong states \(counts.wrong), duplicates \(counts.duplicates), recovery errors \(counts.recoveryErrors)"
            )
            fflush(nil)
        }
    }
    return counts
}
let counts = await campaign(trials: trials, seed: seed)
print("kill points: " + perPoint.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
print(
    "trials \(counts.trials), acknowledged lost \(counts.lost), wrong states \(counts.wrong), duplicates \(counts.duplicates), recovery errors \(counts.recoveryErrors)"
)
if !counts.failingSeeds.isEmpty {
    print(
        "reproduce with: swift run -c release statejournal-crash-campaign --trials 1 --seed \(counts.failingSeeds[0])")
    exit(1)
}
