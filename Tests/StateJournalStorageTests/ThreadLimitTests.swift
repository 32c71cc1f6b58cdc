import Foundation
import StateJournalStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// An OS process at its limit of threads (a container's `pids.max`; here a pids cgroup of its
/// own, root only), when its first `.synced` journal on a file system needs that file system's
/// sync threads: with no thread to spare the open fails with `EAGAIN`, a clear error; with two
/// to spare the journal syncs in rounds on two threads. Before, the library stopped the whole
/// OS process (a failed `pthread_create` was a precondition).
@Suite(.enabled(if: getuid() == 0, "a pids cgroup needs root"), .timeLimit(.minutes(1)))
struct ThreadLimitTests {
    @Test func aSyncedJournalWithoutThreadsToSpareFailsClearlyAndWithTwoSyncs() async throws {
        guard let cgroupRoot = PidsCgroup.root else {
            print("ThreadLimitTests: not run, no pids cgroup controller is mounted here")
            return
        }
        let directory = TemporaryDirectory()
        let cgroupPath = cgroupRoot + "/statejournal-test-\(UInt64.random(in: 0...UInt64.max))"
        // The child OS process exits without unwinding: its cgroup, empty then, is removed here.
        defer { rmdir(cgroupPath) }
        await #expect(processExitsWith: .success) {
            [
                path = directory.file("synced.journal") as String, warm = directory.file("warm.journal") as String,
                cgroupPath = cgroupPath as String
            ] in
            // The library's shared threads and Swift's own start first, as in a running program.
            let warming = try await JournalWriter.open(
                path: warm, processID: "warm", options: .testing(.written), logger: testLogger)
            try await warming.append(Array("warm".utf8))
            try await warming.close(discard: true)
            guard let cgroup = PidsCgroup(path: cgroupPath) else { exit(10) }
            var options = JournalOptions.testing(.synced)
            options.syncMethod = .fileSystem  // rounds: a leader and its identity checks, two threads
            guard cgroup.allow(moreThreads: 0) else { exit(11) }
            do {
                _ = try await JournalWriter.open(path: path, processID: "synced", options: options, logger: testLogger)
                exit(12)
            } catch let error as JournalError {
                guard error.errno == .wouldBlock, error.systemCall == "pthread_create" else { exit(13) }
            }
            guard cgroup.allow(moreThreads: 2) else { exit(14) }
            let writer = try await JournalWriter.open(
                path: path, processID: "synced", options: options, logger: testLogger)
            var acknowledged: [UInt64] = []
            try await withThrowingTaskGroup(of: UInt64.self) { group in
                for i in 0..<40 { group.addTask { try await writer.append(Array("message \(i)".utf8)) } }
                for try await sequence in group { acknowledged.append(sequence) }
            }
            guard acknowledged.sorted() == Array(1...40) else { exit(15) }
            try await writer.close(discard: false)
            let reader = try JournalReader(path: path)
            var count = 0
            _ = try reader.forEachMessage { _, _ in count += 1 }
            guard count == 40 else { exit(16) }
            exit(0)
        }
    }
}

/// A pids cgroup holding this OS process alone, whose limit is set in threads beyond those it
/// has (cgroup v1's pids controller, or v2 where the pids controller is enabled).
struct PidsCgroup {
    let path: String

    /// The hierarchy that has the pids controller, if any.
    static var root: String? {
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") { return "/sys/fs/cgroup/pids" }
        if let controllers = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.subtree_control", encoding: .utf8),
            controllers.split(separator: " ").contains(where: {
                $0.trimmingCharacters(in: .whitespacesAndNewlines) == "pids"
            })
        {
            return "/sys/fs/cgroup"
        }
        return nil
    }

    /// Moves this OS process into a new cgroup at `path` (it stays there until it exits).
    init?(path: String) {
        self.path = path
        guard mkdir(path, 0o755) == 0 || errno == EEXIST, Self.write("\(getpid())", to: path + "/cgroup.procs")
        else { return nil }
    }

    /// Allows `moreThreads` threads beyond those the OS process has now.
    func allow(moreThreads: Int) -> Bool {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
        return threads > 0 && Self.write("\(threads + moreThreads)", to: path + "/pids.max")
    }

    private static func write(_ text: String, to file: String) -> Bool {
        let fd = open(file, O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { Glibc.write(fd, $0, strlen($0)) } == text.utf8.count
    }
}
