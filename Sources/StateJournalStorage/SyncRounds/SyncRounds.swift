import StateJournalSystem

/// Group commit across journals: the writers of one file system share sync rounds.
///
/// A writer whose batch is written asks for a sync with `request`. Requests
/// that arrive while a round is running wait for the next round, which covers
/// all of them at once. Only writes that completed before a round's sync call
/// are covered by it, because a request is made after its `pwrite` returned.
///
/// A request that finds no round running starts a leader on one of the
/// file system's sync threads, which runs rounds until none is pending, so
/// the threads that write journals never block in a sync. Before syncing, a
/// leader gathers: until every journal of the previous round has asked again,
/// it waits for them, at most as long as the last sync took (and 2 ms).
/// Under the usual load (many processes, each awaiting its acknowledgement
/// before sending again) one round then covers every journal instead of
/// splitting in two.
final class SyncRounds: @unchecked Sendable {
    // Safe: every mutable field is read and written with `mutex` held.
    /// Answers a request: the failed sync call, or else the journal's failed identity check.
    typealias Completion = @Sendable (SystemCallError?, JournalError?) -> Void
    /// Checks that a journal's file is still the one at its path (``JournalEngine/checkIdentity(sequence:)``).
    typealias IdentityCheck = @Sendable () throws(JournalError) -> Void

    private struct Request {
        var fd: Int32
        var check: IdentityCheck
        var completion: Completion
    }

    /// Guards the round state below; its condition is "a request arrived".
    private let arrived = ConditionLock()
    private var pending: [Request] = []
    private var roundRunning = false
    private var leaderGathering = false
    /// The journals of the previous round that have not asked again since it ended: the
    /// leader gathers until they have (or a budget runs out).
    private var awaited: Set<Int32> = []
    private var lastSyncNanoseconds: UInt64 = 0
    private var statistics = SyncRoundStatistics()

    /// Per-file syncs in flight at once per file system: concurrent `fdatasync`s wait on one
    /// journal commit of the file system instead of one each (measured with `statejournal-storage-bench`).
    static let fileSyncThreadCount = 32

    /// An open directory on the file system, for `syncfs`. Never closed: one per file system.
    private let directoryFD: Int32
    private let syncThreads: IOThreadPool

    private init(directoryFD: Int32, syncThreads: IOThreadPool) {
        self.directoryFD = directoryFD
        self.syncThreads = syncThreads
    }

    /// The sync rounds of each file system, by device.
    private static let registry = LockedValue([UInt64: SyncRounds]())

    /// The sync rounds of the file system that holds `directory`.
    static func forDirectory(_ directory: String) throws(SystemCallError) -> SyncRounds {
        let status = try Syscall.status(ofPath: directory)
        return try registry.withLock { registry throws(SystemCallError) in
            if let existing = registry[status.device] { return existing }
            // Fewer threads than asked when the OS process is near its limit of threads; fewer
            // than two (a round's leader waits for its identity checks, run on another thread of
            // the pool) is this journal's error (`EAGAIN`), not a crash, and the next open tries
            // again. (The directory first: a pool that started keeps its threads for good, so
            // nothing may fail after it.)
            let fd = try Syscall.open(directory, [.readOnly, .directory])
            let threads: IOThreadPool
            do throws(SystemCallError) {
                threads = try IOThreadPool(name: "sj-fsync", threads: Self.fileSyncThreadCount, atLeast: 2)
            } catch {
                Syscall.close(fd)
                throw error
            }
            let rounds = SyncRounds(directoryFD: fd, syncThreads: threads)
            registry[status.device] = rounds
            return rounds
        }
    }

    /// Makes the completed writes of `fd` durable and runs `check` (after the
    /// writes, before the answer; in a round, while the round's sync blocks, so
    /// that its file-system lookup costs the writing threads nothing), then
    /// calls `completion` (on a sync thread) with the error of the failed sync
    /// call, or else the error of the check, or nils. Returns at once: the
    /// `syncfs`/`fdatasync` calls block threads of this file system's sync
    /// pool, never the caller's and never Swift's pool.
    func request(
        fd: Int32, method: SyncMethod, checkingIdentity check: @escaping IdentityCheck,
        completion: @escaping Completion
    ) {
        if method != .fileSystem {
            // No `sync_file_range` hint to start the write-back first: measured with
            // statejournal-storage-bench, it made 64 and 1,024 journals slower on ext4 without a
            // journal (27k -> 33k msg/s at 64 without it) and changed nothing on ext4 with one.
            syncThreads.execute {
                let outcome = Self.fileSync(fd)
                completion(outcome, outcome == nil ? Self.run(check) : nil)
            }
            return
        }
        arrived.lock()
        pending.append(Request(fd: fd, check: check, completion: completion))
        awaited.remove(fd)
        let lead = !roundRunning
        if lead { roundRunning = true }
        // The gathering leader waits for the last of the journals it awaits, not for each one:
        // waking it per request (and putting it back to sleep) cost two context switches per
        // journal in every round, on the cores the writes of that same round need.
        let wake = leaderGathering && awaited.isEmpty
        arrived.unlock()
        if wake { arrived.signal() }
        // The rounds are led on a sync thread, not on the calling one: a writing thread blocked
        // in `syncfs` (or waiting for the round to gather) would leave the other journals'
        // writes, those the next round waits for, to the remaining writing threads.
        if lead { syncThreads.execute { self.runRounds() } }
    }

    private func runRounds() {
        arrived.lock()
        while true {
            // Gather: wait, briefly, for the journals of the previous round to ask again. Waiting
            // for those very journals (not for as many requests) lets the journals that missed a
            // round join the next one with the rest, instead of splitting every later round in two.
            // The leader waits even before any has asked: it stays, so the next round does not
            // also wait for a new leader to be woken.
            let gatherStart = IOThreadPool.now()
            if !awaited.isEmpty {
                let budget = min(lastSyncNanoseconds, 2_000_000)
                let deadline = IOThreadPool.now() &+ budget
                leaderGathering = true
                while !awaited.isEmpty && IOThreadPool.now() < deadline {
                    arrived.wait(untilNanoseconds: deadline)
                }
                leaderGathering = false
            }
            if pending.isEmpty {
                awaited.removeAll()
                roundRunning = false
                arrived.unlock()
                return
            }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            awaited = batch.count > 1 ? Set(batch.lazy.map(\.fd)) : []
            let start = IOThreadPool.now()
            statistics.rounds += 1
            statistics.requests += batch.count
            statistics.gatherNanoseconds &+= start &- gatherStart
            arrived.unlock()

            let outcomes = syncRound(batch)
            let synced = IOThreadPool.now()
            for (request, outcome) in zip(batch, outcomes) { request.completion(outcome.sync, outcome.identity) }
            let completed = IOThreadPool.now()
            arrived.lock()
            lastSyncNanoseconds = completed &- start
            statistics.syncNanoseconds &+= synced &- start
            statistics.completionNanoseconds &+= completed &- synced
        }
    }

    /// Syncs the journals of `batch` in one round and checks their identities meanwhile, on
    /// another sync thread. Returns each one's outcomes.
    private func syncRound(_ batch: [Request]) -> [(sync: SystemCallError?, identity: JournalError?)] {
        if batch.count == 1 {
            let outcome = Self.fileSync(batch[0].fd)
            return [(outcome, outcome == nil ? Self.run(batch[0].check) : nil)]
        }
        let checks = RoundChecks(batch.map(\.check))
        syncThreads.execute { checks.run() }
        let outcomes = Self.syncRound(batch.map(\.fd), directoryFD: directoryFD)
        let identities = checks.wait()
        return zip(outcomes, identities).map { sync, identity in (sync, sync == nil ? identity : nil) }
    }

    /// Runs `check`; its error, or nil.
    fileprivate static func run(_ check: IdentityCheck) -> JournalError? {
        do throws(JournalError) {
            try check()
            return nil
        } catch {
            return error
        }
    }

    private static func fileSync(_ fd: Int32) -> SystemCallError? {
        do throws(SystemCallError) {
            try Syscall.fdatasync(fd)
            return nil
        } catch {
            return error
        }
    }

    /// Makes the completed writes of the journals `fds` durable in one round and returns each
    /// one's own outcome (nil: durable). `directoryFD` is an open directory of their file system.
    static func syncRound(_ fds: [Int32], directoryFD: Int32) -> [SystemCallError?] {
        if fds.count == 1 { return [fileSync(fds[0])] }
        do throws(SystemCallError) {
            try Syscall.syncfs(directoryFD, covering: fds)
        } catch {
            // The file system's error is not the journal's: each journal of the round asks
            // with its own `fdatasync`, which reports its own file's write-back error (and
            // makes its bytes durable if they are not yet). Never retried after its own failure.
            return fds.map(fileSync)
        }
        do throws(SystemCallError) {
            // A `syncfs` that returned while the file system was failing may have dropped what
            // it was committing: the file system stops for all its files at once, so one
            // journal's check answers for the round (``Syscall/confirmCommitted(_:after:)``).
            try Syscall.confirmCommitted(fds[0], after: "syncfs")
        } catch {
            return fds.map { _ in error }
        }
        // `syncfs` persisted the file system, and reports a write-back error once per file
        // system, to whichever round asks first: maybe not this one, though a journal of it
        // failed. Each journal asks for its own file's error, on its own descriptor.
        return fds.map { fd in
            do throws(SystemCallError) {
                try Syscall.checkWriteback(fd)
                return nil
            } catch {
                return error
            }
        }
    }

    /// What the rounds of this file system did so far.
    var counters: SyncRoundStatistics {
        arrived.lock()
        defer { arrived.unlock() }
        return statistics
    }
}

/// Totals over the sync rounds of one file system (for benchmarks).
package struct SyncRoundStatistics: Sendable {
    package var rounds = 0
    package var requests = 0
    /// Spent by leaders waiting for the journals of the previous round.
    package var gatherNanoseconds: UInt64 = 0
    /// In the rounds' syncs and per-file write-back checks.
    package var syncNanoseconds: UInt64 = 0
    /// Answering the journals of the rounds.
    package var completionNanoseconds: UInt64 = 0

    /// What the rounds since `before` did, per round, over `seconds` of a benchmark run: rounds,
    /// journals per round, and µs per round gathering, syncing and answering.
    package func summary(since before: SyncRoundStatistics, seconds: Double) -> String {
        let count = rounds - before.rounds
        let perRound = Double(max(count, 1))
        func microseconds(_ total: UInt64, _ start: UInt64) -> Int {
            Int((Double(total &- start) / 1000 / perRound).rounded())
        }
        let requestsPerRound = (Double(requests - before.requests) / perRound * 10).rounded() / 10
        return "[rounds \(count), \(requestsPerRound) requests per round, "
            + "\(Int((seconds / perRound * 1e6).rounded())) µs per round: "
            + "gather \(microseconds(gatherNanoseconds, before.gatherNanoseconds)), "
            + "sync \(microseconds(syncNanoseconds, before.syncNanoseconds)), "
            + "answers \(microseconds(completionNanoseconds, before.completionNanoseconds))]"
    }
}

/// The sync rounds of the file system of `directory` so far (for benchmarks).
package func syncRoundStatistics(forDirectory directory: String) -> SyncRoundStatistics? {
    guard let rounds = try? SyncRounds.forDirectory(directory) else { return nil }
    return rounds.counters
}

/// The identity checks of one round's journals, run on one sync thread while the round's
/// leader waits for the file system, and awaited by the leader before it answers.
private final class RoundChecks: @unchecked Sendable {
    // Safe: `outcomes` is written by `run` before it signals under `done`, read after `wait`.
    private let checks: [SyncRounds.IdentityCheck]
    private let done = ConditionLock()
    private var outcomes: [JournalError?]?

    init(_ checks: [SyncRounds.IdentityCheck]) { self.checks = checks }

    func run() {
        let results = checks.map(SyncRounds.run)
        done.lock()
        outcomes = results
        done.unlock()
        done.broadcast()
    }

    func wait() -> [JournalError?] {
        done.lock()
        defer { done.unlock() }
        while outcomes == nil { done.wait() }
        return outcomes!
    }
}
