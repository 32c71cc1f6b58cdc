import Synchronization

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
final class SyncRounds: Sendable {
    typealias Completion = @Sendable (SystemCallError?) -> Void

    private struct Request {
        var fd: Int32
        var completion: Completion
    }

    private struct State {
        var pending: [Request] = []
        var roundRunning = false
        var rounds = 0
        var syncedRequests = 0
    }

    private let state = Mutex(State())
    private let device: UInt64
    /// An open directory on the file system, for `syncfs`. Never closed: one per file system.
    private let directoryFD: Int32
    private let roundThread: IOThreadPool
    private let fileSyncThreads: IOThreadPool

    private init(device: UInt64, directoryFD: Int32) {
        self.device = device
        self.directoryFD = directoryFD
        self.roundThread = IOThreadPool(name: "sj-sync", threads: 1)
        self.fileSyncThreads = IOThreadPool(name: "sj-fsync", threads: 8)
    }

    private static let registry = Mutex<[UInt64: SyncRounds]>([:])

    /// The sync rounds of the file system that holds `directory`.
    static func forDirectory(_ directory: String) throws(SystemCallError) -> SyncRounds {
        let status = try Syscall.status(ofPath: directory)
        if let existing = registry.withLock({ $0[status.device] }) { return existing }
        let fd = try Syscall.open(directory, O_RDONLY_DIRECTORY)
        return registry.withLock { registry in
            if let existing = registry[status.device] {
                Syscall.close(fd)
                return existing
            }
            let rounds = SyncRounds(device: status.device, directoryFD: fd)
            registry[status.device] = rounds
            return rounds
        }
    }

    /// Makes the completed writes of `fd` durable, then calls `completion`
    /// (on a sync thread) with nil or the error of the failed call.
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
        let start = state.withLock { state -> Bool in
            state.pending.append(Request(fd: fd, completion: completion))
            if state.roundRunning { return false }
            state.roundRunning = true
            return true
        }
        if start { roundThread.execute { self.runRounds(method: method) } }
    }

    private func runRounds(method: SyncMethod) {
        while true {
            let batch = state.withLock { state -> [Request] in
                if state.pending.isEmpty {
                    state.roundRunning = false
                    return []
                }
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                state.rounds += 1
                state.syncedRequests += batch.count
                return batch
            }
            if batch.isEmpty { return }
            var failure: SystemCallError?
            do throws(SystemCallError) {
                if batch.count == 1 && method == .automatic {
                    try Syscall.fdatasync(batch[0].fd)
                } else {
                    try Syscall.syncfs(directoryFD)
                }
            } catch {
                failure = error
            }
            for request in batch { request.completion(failure) }
        }
    }

    /// Rounds run and requests served, for statistics.
    var counters: (rounds: Int, requests: Int) {
        state.withLock { ($0.rounds, $0.syncedRequests) }
    }
}

#if canImport(Glibc)
import Glibc
private let O_RDONLY_DIRECTORY = O_RDONLY | O_DIRECTORY
#elseif canImport(Darwin)
import Darwin
private let O_RDONLY_DIRECTORY = O_RDONLY | O_DIRECTORY
#endif
