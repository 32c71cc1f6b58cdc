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

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "60", CLI.binary.path, "tail", "-n", "0", "--follow", "--json", path]
        // Output to a file, and the exit awaited through the termination handler: nothing blocks
        // one of the two cooperative threads that the writer's appends need.
        let outputPath = scratch.url.appendingPathComponent("tail.out").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
        try process.run()
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
        var statuses = exited.stream.makeAsyncIterator()
        let status = await statuses.next()
        try output.close()
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
