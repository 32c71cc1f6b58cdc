import Foundation
import StateJournalStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A file system frozen under live journals (`fsfreeze`, as LVM snapshots and backup tools do;
/// root only, on a loop-mounted ext4): every `write` to it blocks until it is thawed, in the
/// kernel, where no cancellation reaches. The journals on it wait; journals on other file
/// systems must not wait with them.
@Suite(.enabled(if: getuid() == 0, "mounting an image needs root"), .timeLimit(.minutes(2)))
struct FrozenFileSystemTests {
    /// Journals on the frozen file system each have an append blocked in `pwrite` (more than the
    /// library has threads that write a file system's journals); an append to a journal in
    /// another directory, on another file system, must still be answered (within 30 s, bounded
    /// so that a stall fails instead of hanging). After the thaw every blocked append is
    /// answered and every message is in its journal.
    @Test func anAppendIsNotHeldUpByWritesBlockedOnAFrozenFileSystem() async throws {
        let directory = TemporaryDirectory("frozen-fs")
        guard let disk = LoopDisk(fileSystem: "ext4", in: directory.path) else { return }
        defer { disk.detach() }
        let elsewhere = TemporaryDirectory("live-beside-frozen")
        let live = try await JournalWriter.open(
            path: elsewhere.file("live.journal"), processID: "live", options: .testing(), logger: testLogger)
        _ = try await live.append([0])
        // More journals than a pool of the library has threads (one per core, at least two).
        var frozen: [JournalWriter] = []
        for i in 0..<max(4, ProcessInfo.processInfo.activeProcessorCount + 2) {
            let writer = try await JournalWriter.open(
                path: disk.mountPoint + "/f\(i).journal", processID: "f\(i)", options: .testing(),
                logger: testLogger)
            _ = try await writer.append([UInt8(i)])
            frozen.append(writer)
        }
        guard LoopDisk.run(["fsfreeze", "-f", disk.mountPoint]) != nil else {
            print("FrozenFileSystemTests: not run: fsfreeze failed (util-linux)")
            return
        }
        var thawed = false
        defer { if !thawed { LoopDisk.run(["fsfreeze", "-u", disk.mountPoint]) } }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, writer) in frozen.enumerated() {
                group.addTask { _ = try await writer.append([UInt8(10 + i)]) }
            }
            // The appends reach `pwrite` and block there: threads of this OS process asleep in
            // the kernel waiting for the thaw (in `percpu_rwsem_wait`, where a write to a frozen
            // file system waits, and nothing else of the tests running beside this one does).
            for _ in 0..<3000 where Self.threadsWaitingForTheThaw() < 2 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(Self.threadsWaitingForTheThaw() >= 2)
            let answered = try await finishesBeforeBound({ _ = try await live.append([1]) }) {
                LoopDisk.run(["fsfreeze", "-u", disk.mountPoint])
                thawed = true
            }
            #expect(answered, "an append to a journal elsewhere waited for writes blocked on a frozen file system")
            try await group.waitForAll()
        }
        for (i, writer) in frozen.enumerated() {
            try await writer.close(discard: false)
            let messages = try readAll(disk.mountPoint + "/f\(i).journal").messages.map(\.bytes)
            #expect(messages == [[UInt8(i)], [UInt8(10 + i)]])
        }
        try await live.close(discard: true)
    }

    /// Threads of this OS process asleep where a write to a frozen file system waits (their
    /// kernel wait channel).
    static func threadsWaitingForTheThaw() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/wchan", encoding: .utf8)) == "percpu_rwsem_wait"
        }.count
    }
}
