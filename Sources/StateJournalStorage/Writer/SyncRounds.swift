#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a `.synced` journal makes its writes durable.
public enum SyncMethod: Sendable, Hashable, CustomStringConvertible {
    /// The journals of one file system share sync rounds: a round that covers
    /// one journal calls `fdatasync` on it; a round that covers several calls
    /// `syncfs` once for all of them. The default.
    case automatic
    /// Always one `syncfs` per round, for all journals in it. It also forces
    /// out every other dirty page of that file system (see docs/FORMAT.md,
    /// "Sync rounds").
    case fileSystem
    /// One `fdatasync` per journal, run in parallel on the sync threads.
    case perFile

    public var description: String {
        switch self {
        case .automatic: "automatic"
        case .fileSystem: "syncfs"
        case .perFile: "fdatasync"
        }
    }
}

/// Group commit across journals: the writers of one file system share sync rounds.
///
/// A writer whose batch is written asks for a sync with `request`. Requests
/// that arrive while a round is running wait for the next round, which covers
/// all of them at once. Only writes that completed before a round's sync call
/// are covered by it, because a request is made after its `pwrite` returned.
///
/// The thread that finds no round running leads rounds until none is
/// pending; it is always a library I/O thread. Before syncing, a leader
/// gathers: while fewer journals have asked than took part in the previous
/// round, it waits for them, at most a fraction of the last sync's duration.
/// Under the usual load (many processes, each awaiting its acknowledgement
/// before sending again) one round then covers every journal instead of
/// splitting in two.
final class SyncRounds: @unchecked Sendable {
    // Safe: every mutable field is read and written with `mutex` held.
    typealias Completion = @Sendable (SystemCallError?) -> Void

    private struct Request {
        var fd: Int32
        var completion: Completion
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let arrived = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending: [Request] = []
    private var roundRunning = false
    private var leaderGathering = false
    private var previousRoundSize = 0
    private var lastSyncNanoseconds: UInt64 = 0
    private(set) var rounds = 0
    private(set) var requests = 0

    /// An open directory on the file system, for `syncfs`. Never closed: one per file system.
    private let directoryFD: Int32
    private let fileSyncThreads: IOThreadPool

    private init(directoryFD: Int32) {
        self.directoryFD = directoryFD
        self.fileSyncThreads = IOThreadPool(name: "sj-fsync", threads: 8)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(arrived, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    private static let registryLock = Lock()
    nonisolated(unsafe) private static var registry: [UInt64: SyncRounds] = [:]

    /// The sync rounds of the file system that holds `directory`.
    static func forDirectory(_ directory: String) throws(SystemCallError) -> SyncRounds {
        let status = try Syscall.status(ofPath: directory)
        registryLock.lock()
        defer { registryLock.unlock() }
        if let existing = registry[status.device] { return existing }
        let fd = try Syscall.open(directory, O_RDONLY | O_DIRECTORY)
        let rounds = SyncRounds(directoryFD: fd)
        registry[status.device] = rounds
        return rounds
    }

    /// Makes the completed writes of `fd` durable, then calls `completion`
    /// with nil or the error of the failed call. Call it on a library I/O
    /// thread: when no round is running, that thread leads rounds until none
    /// is pending (blocking in `syncfs`/`fdatasync`, never on Swift's pool).
    func request(fd: Int32, method: SyncMethod, completion: @escaping Completion) {
        if method == .perFile {
            fileSyncThreads.execute {
                do throws(SystemCallError) {
                    try Syscall.fdatasync(fd)
                    completion(nil)
                } catch {
                    completion(error)
                }
            }
            return
        }
        pthread_mutex_lock(mutex)
        pending.append(Request(fd: fd, completion: completion))
        let lead = !roundRunning
        if lead { roundRunning = true }
        let wake = leaderGathering
        pthread_mutex_unlock(mutex)
        if wake { pthread_cond_signal(arrived) }
        if lead { runRounds(method: method) }
    }

    private func runRounds(method: SyncMethod) {
        pthread_mutex_lock(mutex)
        while true {
            if pending.isEmpty {
                roundRunning = false
                pthread_mutex_unlock(mutex)
                return
            }
            // Gather: wait for the journals of the previous round, briefly.
            if pending.count < previousRoundSize && previousRoundSize > 1 {
                let budget = min(lastSyncNanoseconds / 2, 2_000_000)
                let deadline = IOThreadPool.now() &+ budget
                leaderGathering = true
                while pending.count < previousRoundSize && IOThreadPool.now() < deadline {
                    var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                    pthread_cond_timedwait(arrived, mutex, &spec)
                }
                leaderGathering = false
            }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            previousRoundSize = batch.count
            rounds += 1
            requests += batch.count
            pthread_mutex_unlock(mutex)

            var failure: SystemCallError?
            let start = IOThreadPool.now()
            do throws(SystemCallError) {
                if batch.count == 1 && method == .automatic {
                    try Syscall.fdatasync(batch[0].fd)
                } else {
                    try Syscall.syncfs(directoryFD, covering: batch.map(\.fd))
                }
            } catch {
                failure = error
            }
            let elapsed = IOThreadPool.now() &- start
            for request in batch { request.completion(failure) }
            pthread_mutex_lock(mutex)
            lastSyncNanoseconds = elapsed
        }
    }

    /// Rounds run and requests served, for statistics.
    var counters: (rounds: Int, requests: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return (rounds, requests)
    }
}

/// A plain mutex for rarely taken locks.
final class Lock: @unchecked Sendable {
    // Safe: a pthread mutex, used only through lock/unlock.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

/// Sync rounds run and requests served on the file system of `directory` so far (for benchmarks).
package func syncRoundStatistics(forDirectory directory: String) -> (rounds: Int, requests: Int)? {
    guard let rounds = try? SyncRounds.forDirectory(directory) else { return nil }
    return rounds.counters
}
