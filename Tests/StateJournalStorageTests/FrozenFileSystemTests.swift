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
    /// Four journals on the frozen file system each have an append blocked in `pwrite` (at least
    /// as many as the library has threads that write journals); an append to a journal in
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
        var frozen: [JournalWriter] = []
        for i in 0..<4 {
            let writer = try await JournalWriter.open(
                path: disk.mountPoint + "/f\(i).journal", processID: "f\(i)", options: .testing(),
                logger: testLogger)
            _ = try await writer.append([UInt8(i)])
            frozen.append(writer)
        }
        let blockedBefore = Self.threadsBlockedInWrites()
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
            // The appends reach `pwrite` and block there (threads of this OS process asleep in
            // the kernel, uninterruptibly, waiting for the thaw).
            for _ in 0..<3000 where Self.threadsBlockedInWrites() < blockedBefore + 2 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(Self.threadsBlockedInWrites() >= blockedBefore + 2)
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

    /// Threads of this OS process in uninterruptible sleep (state `D`): what a `write` to a
    /// frozen file system waits in.
    static func threadsBlockedInWrites() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            guard let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            return stat[stat.index(close, offsetBy: 2)...].hasPrefix("D")
        }.count
    }
}
