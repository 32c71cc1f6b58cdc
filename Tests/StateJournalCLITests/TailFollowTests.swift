import Foundation
import Logging
import StateJournalStorage
import Testing

/// `tail --follow` prints every sequence number exactly once, in order, across snapshot
/// rewrites (the journal renamed over by a compacted copy) and up to a clean stop. Before, each
/// rewrite restarted from `-n 0` on the new file: the messages written since the last poll
/// were skipped, silently.
@Suite(.timeLimit(.minutes(2))) struct TailFollowTests {
    @Test func followPrintsEverySequenceOnceAcrossSnapshotsAndAStop() async throws {
        let scratch = Scratch()
        let path = scratch.url.appendingPathComponent("follow.journal").path
        let logger = Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }
        let writer = try await JournalWriter.open(
            path: path, processID: "follow", options: JournalOptions(idleTimeout: nil), logger: logger)
        _ = try await writer.append(Array(#"{"n":0}"#.utf8))

        // `posix_spawn`, its output to a file, and its exit polled with `waitpid(WNOHANG)` between
        // sleeps: nothing blocks one of the two cooperative threads that the writer's appends need,
        // and nothing depends on Foundation noticing the exit (a `terminationHandler` that never
        // came held this test until its time limit once, in a CI run).
        let outputPath = scratch.url.appendingPathComponent("tail.out").path
        let tail = ["tail", "-n", "0", "--follow", "--json", path]
        let arguments = ["/usr/bin/timeout", "-s", "KILL", "60", CLI.binary.path] + tail
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // No signal blocked and default dispositions in the child (a pool thread blocks some, and
        // `timeout` counts on SIGALRM).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ) == 0)
        try await Task.sleep(for: .milliseconds(500))

        var last: UInt64 = 1
        for _ in 0..<5 {
            // A burst between two polls, then a snapshot that rewrites the file.
            for i in 0..<200 { last = try await writer.append(Array(#"{"n":\#(i)}"#.utf8)) }
            try await writer.writeSnapshot(Array("state".utf8), through: last)
            try await Task.sleep(for: .milliseconds(600))
        }
        for i in 0..<100 { last = try await writer.append(Array(#"{"n":\#(i)}"#.utf8)) }
        // A clean stop of a transient process: the marker, then the file removed at once.
        try await writer.close(discard: true)
        // `timeout` kills it after 60 s; the wait gives up a little later, whatever happens.
        var status: Int32?
        for _ in 0..<700 {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        if status == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        let sequences = text.split(separator: "\n").compactMap { line -> UInt64? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return (object["sequence"] as? NSNumber)?.uint64Value
        }
        #expect(status == 0, "tail ended with \(String(describing: status))")
        #expect(
            sequences == Array(2...last),
            "printed \(sequences.count) of \(last - 1); first gaps: \(zip(sequences, sequences.dropFirst()).filter { $1 != $0 + 1 }.prefix(3))"
        )
    }
}
