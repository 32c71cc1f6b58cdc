import Foundation
import StateJournal
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real child OS process runs a supervisor and is killed with SIGKILL.
@Suite struct RuntimeCrashTests {
    /// After kill -9 at several points, the rebuilt state is the fold of every
    /// acknowledged message, in order, possibly plus messages sent but not yet acknowledged.
    @Test(arguments: [(".written", 150), (".written", 1700), (".synced", 400), (".buffered", 900)])
    func stateAfterKill9IsTheFoldOfAcknowledgedMessages(durability: String, killAfter: Int) async throws {
        let directory = TemporaryDirectory()
        let ackPath = directory.path + "/acks"
        await #expect(processExitsWith: .signal(SIGKILL)) {
            [
                dir = directory.path as String, ackPath = ackPath as String, durability = durability as String,
                killAfter = killAfter as Int
            ] in
            var options = fastOptions(
                durability == ".synced"
                    ? .synced : durability == ".buffered" ? .buffered(within: .milliseconds(1)) : .written)
            options.snapshots = .every(messages: 500)
            let supervisor = Supervisor(directory: dir, logger: quietLogger)
            let room = try await supervisor.start(ChildSpec(id: "room", process: ChatRoom(), options: options))
            let acks = open(ackPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            await withTaskGroup(of: Void.self) { group in
                for sender in 0..<4 {
                    group.addTask {
                        for i in 0..<1_000_000 {
                            let text = "\(sender):\(i)"
                            guard let sequence = try? await room.send(.post(text)) else { return }
                            let line = "\(sequence) \(text)\n"
                            _ = line.withCString { write(acks, $0, strlen($0)) }
                            if sequence == UInt64(killAfter) { kill(getpid(), SIGKILL) }
                        }
                    }
                }
            }
        }
        let acknowledged = String(decoding: FileManager.default.contents(atPath: ackPath) ?? Data(), as: UTF8.self)
            .split(separator: "\n").map { line -> (UInt64, String) in
                let parts = line.split(separator: " ")
                return (UInt64(parts[0])!, String(parts[1]))
            }
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(ChildSpec(id: "room", process: ChatRoom(), options: fastOptions()))
            let posts = try await room.state.posts
            // Replay is a prefix-closed fold: every acknowledged message is at its sequence number.
            if durability != ".buffered" {
                #expect(posts.count >= acknowledged.count)
                for (sequence, text) in acknowledged {
                    #expect(
                        Int(sequence) <= posts.count && posts[Int(sequence) - 1] == text,
                        "acknowledged \(sequence) lost or moved")
                }
            }
            // Never a duplicate or a reorder within a sender, whatever the durability.
            var next: [Int: Int] = [:]
            for post in posts {
                let parts = post.split(separator: ":").map { Int($0)! }
                #expect(parts[1] == next[parts[0], default: 0], "sender \(parts[0]) out of order")
                next[parts[0]] = parts[1] + 1
            }
        }
    }
}
