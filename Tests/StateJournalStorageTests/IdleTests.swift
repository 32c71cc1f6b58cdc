import Foundation
import StateJournalStorage
import Testing

@Suite(.timeLimit(.minutes(10))) struct IdleTests {
    /// Waits for a condition that a background timer makes true. No deadline: the suite's time
    /// limit stops a test whose condition never comes, so a slow machine cannot fail it.
    func eventually(_ condition: () -> Bool) async -> Bool {
        while !condition() {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    func openDescriptors(for path: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path
        }.count
    }

    @Test func idleWriterReleasesItsFileAndReopensOnAppend() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("idle.journal")
        var options = JournalOptions.testing()
        options.idleTimeout = .milliseconds(20)
        let writer = try await JournalWriter.open(path: path, processID: "idle", options: options, logger: testLogger)
        for i in 1...5 { try await writer.append(Array(String(repeating: "a\(i) compressible ", count: 10).utf8)) }
        #expect(await eventually { !writer.isFileOpen })
        #expect(openDescriptors(for: path) == 0, "an idle journal holds no descriptor")
        // While idle, another writer in this process could take the lock: the journal is not held.
        for i in 6...10 { try await writer.append(Array(String(repeating: "a\(i) compressible ", count: 10).utf8)) }
        #expect(openDescriptors(for: path) <= 1, "one descriptor at most (it may already be idle again)")
        try await writer.close(discard: false)
        let reader = try JournalReader(path: path)
        var sequences: [UInt64] = []
        while let frame = try reader.nextFrame() { sequences += frame.messages.map(\.sequence) }
        #expect(sequences == Array(1...10))
        #expect(reader.chainsRead >= 2, "the reopened writer started a new chain")
    }

    @Test func changesWhileIdleAreDetected() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("changed.journal")
        var options = JournalOptions.testing()
        options.idleTimeout = .milliseconds(20)
        let writer = try await JournalWriter.open(path: path, processID: "c", options: options, logger: testLogger)
        try await writer.append([1])
        #expect(await eventually { !writer.isFileOpen })
        // Someone appends garbage while the writer is idle.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([1, 2, 3]))
        try handle.close()
        do {
            try await writer.append([2])
            Issue.record("an append went to a journal changed behind the writer's back")
        } catch {
            #expect(error.code == .changedWhileIdle)
        }
    }
}

@Suite struct TimeMarkTests {
    @Test func timeMarksAreWrittenBetweenBatchesAndSkippedByReplay() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("marks.journal")
        var options = JournalOptions.testing()
        options.timeMarkInterval = .milliseconds(1)
        let writer = try await JournalWriter.open(path: path, processID: "m", options: options, logger: testLogger)
        for i in 0..<5 {
            try await writer.append(Array("m\(i)".utf8))
            try await Task.sleep(for: .milliseconds(3))
        }
        try await writer.close(discard: false)
        let reader = try JournalReader(path: path)
        var marks: [UInt64] = []
        var messages: [UInt64] = []
        while let frame = try reader.nextFrame() {
            if let mark = frame.timeMarkNanoseconds { marks.append(mark) }
            messages += frame.messages.map(\.sequence)
        }
        #expect(messages == Array(1...5))
        #expect(marks.count == 5, "one mark before each batch written a few ms apart")
        #expect(marks == marks.sorted())
        #expect(try await replayAll(path).messages.map(\.sequence) == Array(1...5))
        let inspection = JournalInspection.inspect(path)
        #expect(inspection.timeMarks == 5 && inspection.verdict == .clean)
    }
}
