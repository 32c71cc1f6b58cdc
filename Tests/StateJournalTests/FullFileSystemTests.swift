import Foundation
import StateJournal
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real file system that fills up: a tmpfs of 1 MiB, mounted for the test (root only; CI runs
/// as root). The file system, not a fault injector, says `ENOSPC`, to the snapshot first (a
/// state's worth of bytes at once) and then to the journal.
@Suite(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"), .timeLimit(.minutes(2)))
struct FullFileSystemTests {
    /// A chat room at `.synced` with snapshots every 50 messages posts until the file system is
    /// full. The snapshot that does not fit is not the journal's failure: the room goes on
    /// until its journal itself is refused space, and that is the error its sender gets
    /// (`noSpace` on the journal). Nothing is left behind that holds space (no temporary file,
    /// no torn tail set aside). Once space is freed, a new supervisor rebuilds the room with
    /// every acknowledged post, in order, and it takes new ones. Before: the first failed
    /// snapshot failed the journal, its temporary file stayed, and the room crashed at each
    /// snapshot until its supervisor gave up.
    @Test func aFullFileSystemRefusesSpaceAndLosesNothing() async throws {
        let mountPoint = TemporaryDirectory("full-fs")
        guard mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=1m") == 0 else {
            let reason = String(cString: strerror(errno))
            // Root without the right to mount (a container): nothing to test here, and it says so.
            if errno == EPERM {
                print("FullFileSystemTests: not run, mounting a tmpfs is not permitted here (\(reason))")
            } else {
                Issue.record("mount tmpfs: \(reason)")
            }
            return
        }
        // Lazily: the sync rounds keep a descriptor of each file system they synced (for `syncfs`).
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        let filler = mountPoint.path + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 800 * 1024)))
        let directory = mountPoint.path + "/journals"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let options = {
            var options = fastOptions(.synced)
            options.snapshots = .every(messages: 50)
            return options
        }()
        let spec: @Sendable (String) -> ChildSpec<ChatRoom> = {
            ChildSpec(id: $0, process: ChatRoom(), options: options)
        }

        var acknowledged: [String] = []
        var firstFailure: (any Error)?
        let supervisor = Supervisor(directory: directory, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.child(id: "room") { spec($0) }
            for i in 0..<50_000 {
                let text = "post \(i) " + String(repeating: "x", count: 10 + (i * 7919) % 290)
                do {
                    try await room.send(.post(text))
                    acknowledged.append(text)
                } catch {
                    firstFailure = error
                    break
                }
            }
            await supervisor.shutdown()
        }
        let journal = directory + "/room.journal"
        let causes = Self.journalErrors(in: firstFailure)
        #expect(causes.contains { $0.code == .noSpace && $0.path == journal }, "\(String(describing: firstFailure))")
        #expect(!causes.contains { $0.path?.hasSuffix(".tmp") ?? false }, "a snapshot's failure failed the journal")
        #expect(acknowledged.count > 100)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!left.contains { $0.hasSuffix(".tmp") || $0.contains(".cut-") }, "\(left)")

        try FileManager.default.removeItem(atPath: filler)
        let second = Supervisor(directory: directory, logger: quietLogger)
        try await second.run {
            let room = try await second.child(id: "room") { spec($0) }
            let posts = try await room.state.posts
            #expect(Array(posts.prefix(acknowledged.count)) == acknowledged)
            #expect(posts.count <= acknowledged.count + 1, "only the refused post may follow")
            try await room.send(.post("after"))
            #expect(try await room.state.posts.last == "after")
            await second.shutdown()
        }
    }

    /// `error` and its causes, the journal errors among them.
    static func journalErrors(in error: (any Error)?) -> [JournalError] {
        var found: [JournalError] = []
        var next = error
        while let current = next {
            if let journal = current as? JournalError {
                found.append(journal)
                next = journal.cause
            } else if let process = current as? ProcessError {
                next = process.cause
            } else {
                next = nil
            }
        }
        return found
    }
}
