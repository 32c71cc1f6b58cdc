import Foundation
import StateJournalStorage
import Testing

struct SimulatedCrash: Error {}

@Suite struct SnapshotTests {
    @Test func snapshotThenAppendsThenReopen() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("s.journal")
        let writer = try await JournalWriter.open(path: path, processID: "s", options: .testing(), logger: testLogger)
        for i in 1...100 { try await writer.append(Array("m\(i)".utf8)) }
        try await writer.writeSnapshot(Array("state@100".utf8), through: 100)
        for i in 101...130 { try await writer.append(Array("m\(i)".utf8)) }
        try await writer.close(discard: false)

        let (snapshot, messages) = try await replayAll(path)
        #expect(snapshot?.sequence == 100)
        #expect(snapshot?.bytes == Array("state@100".utf8))
        #expect(messages.map(\.sequence) == Array(101...130))
        #expect(messages.map { String(decoding: $0.bytes, as: UTF8.self) } == (101...130).map { "m\($0)" })
        // The frames before the snapshot were dropped.
        #expect(try JournalReader(path: path).header.baseSequence == 101)

        let reopened = try await JournalWriter.open(path: path, processID: "s", options: .testing(), logger: testLogger)
        #expect(reopened.recovery.snapshotSequence == 100)
        #expect(reopened.recovery.messagesToReplay == 30)
        #expect(reopened.recovery.nextSequence == 131)
        #expect(try await reopened.append([1]) == 131)
        try await reopened.close(discard: false)
    }

    @Test func snapshotBehindTheEndKeepsLaterMessages() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("b.journal")
        let writer = try await JournalWriter.open(path: path, processID: "b", options: .testing(), logger: testLogger)
        try await writer.append(contentsOf: (1...50).map { Array("m\($0)".utf8) })
        try await writer.writeSnapshot([0xAA], through: 20)
        try await writer.close(discard: false)
        let (snapshot, messages) = try await replayAll(path)
        #expect(snapshot?.sequence == 20)
        #expect(messages.map(\.sequence) == Array(21...50))
    }

    @Test func largeSnapshotRoundTrips() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("l.journal")
        let writer = try await JournalWriter.open(path: path, processID: "l", options: .testing(), logger: testLogger)
        try await writer.append([1])
        var generator = SeededGenerator(seed: 3)
        let state = (0..<3_000_000).map { _ in UInt8.random(in: 0...3, using: &generator) }
        try await writer.writeSnapshot(state, through: 1)
        try await writer.close(discard: false)
        let (snapshot, messages) = try await replayAll(path)
        #expect(snapshot?.bytes == state)
        #expect(messages.isEmpty)
    }

    @Test func snapshotOutOfRangeIsRefused() async throws {
        let directory = TemporaryDirectory()
        let writer = try await JournalWriter.open(
            path: directory.file("o.journal"), processID: "o", options: .testing(), logger: testLogger)
        try await writer.append([1])
        await #expect { try await writer.writeSnapshot([1], through: 5) } throws: {
            ($0 as? JournalError)?.code == .invalidArgument
        }
        try await writer.close(discard: true)
    }

    /// A crash between each step of a snapshot leaves an arrangement that replays to the same state.
    @Test(arguments: SnapshotStep.allCases)
    func crashBetweenSnapshotSteps(step: SnapshotStep) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("c.journal")
        let writer = try await JournalWriter.open(path: path, processID: "c", options: .testing(), logger: testLogger)
        for i in 1...40 { try await writer.append(Array("m\(i)".utf8)) }
        try await writer.writeSnapshot(Array("state@10".utf8), through: 10)  // an older snapshot exists
        for i in 41...60 { try await writer.append(Array("m\(i)".utf8)) }
        writer.setSnapshotHook { current in if current == step { throw SimulatedCrash() } }
        await #expect(throws: JournalError.self) { try await writer.writeSnapshot(Array("state@50".utf8), through: 50) }
        // The writer failed as a crashed process would; it released the file.

        let (snapshot, messages) = try await replayAll(path)
        let reopened = try await JournalWriter.open(path: path, processID: "c", options: .testing(), logger: testLogger)
        #expect(reopened.recovery.nextSequence == 61)
        try await reopened.close(discard: false)
        // Either arrangement yields the same fold: the snapshot's state plus the messages after it.
        switch snapshot?.sequence {
        case 10:
            #expect(snapshot?.bytes == Array("state@10".utf8))
            #expect(messages.map(\.sequence) == Array(11...60))
        case 50:
            #expect(snapshot?.bytes == Array("state@50".utf8))
            #expect(messages.map(\.sequence) == Array(51...60))
        default:
            Issue.record("unexpected snapshot \(String(describing: snapshot?.sequence)) after a crash at \(step)")
        }
        #expect(
            !directory.entries.contains { $0.hasSuffix(".tmp") },
            "reopening removed the temporaries: \(directory.entries)")
    }

    @Test func missingSnapshotIsAnError() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("m.journal")
        let writer = try await JournalWriter.open(path: path, processID: "m", options: .testing(), logger: testLogger)
        for i in 1...5 { try await writer.append([UInt8(i)]) }
        try await writer.writeSnapshot([9], through: 5)
        try await writer.close(discard: false)
        try FileManager.default.removeItem(atPath: JournalSnapshot.path(forJournal: path))
        await #expect {
            _ = try await JournalWriter.open(path: path, processID: "m", options: .testing(), logger: testLogger)
        } throws: {
            ($0 as? JournalError)?.code == .sequenceGap
        }
    }
}

@Suite struct CloseTests {
    @Test func cleanStopThenReopenReplaysNothing() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("t.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "t", options: .testing(.synced), logger: testLogger)
        for i in 1...10 { try await writer.append([UInt8(i)]) }
        try await writer.writeSnapshot([0], through: 5)
        try await writer.close(discard: true)
        // Only the directory's (empty) owners file stays: removing it could break the exclusion.
        #expect(directory.entries == [".statejournal-owners"], "journal and snapshot removed: \(directory.entries)")
        let reopened = try await JournalWriter.open(path: path, processID: "t", options: .testing(), logger: testLogger)
        #expect(reopened.recovery.created)
        #expect(reopened.recovery.messagesToReplay == 0)
        #expect(reopened.recovery.nextSequence == 1)
        try await reopened.close(discard: true)
    }

    @Test func withoutCloseEverythingReplays() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("k.journal")
        do {
            let writer = try await JournalWriter.open(
                path: path, processID: "k", options: .testing(), logger: testLogger)
            for i in 1...10 { try await writer.append([UInt8(i)]) }
            // No close: the writer is dropped as a crashed process's would be.
        }
        let reopened = try await JournalWriter.open(path: path, processID: "k", options: .testing(), logger: testLogger)
        #expect(reopened.recovery.messagesToReplay == 10)
        try await reopened.close(discard: false)
        #expect(try readAll(path).messages.map(\.bytes) == (1...10).map { [UInt8($0)] })
    }

    @Test func closeWithoutDiscardKeepsEverything() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.journal")
        let writer = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
        for i in 1...10 { try await writer.append([UInt8(i)]) }
        try await writer.close(discard: false)
        let reopened = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
        #expect(reopened.recovery.messagesToReplay == 10)
        try await reopened.close(discard: false)
    }

    /// A crash at any step of a discarding close: either the old state comes back whole, or nothing.
    @Test(arguments: CloseStep.allCases)
    func crashDuringCleanStop(step: CloseStep) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("d.journal")
        let writer = try await JournalWriter.open(path: path, processID: "d", options: .testing(), logger: testLogger)
        for i in 1...20 { try await writer.append([UInt8(i)]) }
        try await writer.writeSnapshot([0xEE], through: 8)
        writer.setCloseHook { current in if current == step { throw SimulatedCrash() } }
        await #expect(throws: JournalError.self) { try await writer.close(discard: true) }
        let reopened = try await JournalWriter.open(path: path, processID: "d", options: .testing(), logger: testLogger)
        if step == .markerWritten {
            // The marker is written but not synced: after a process crash it is on
            // disk (page cache) and counts; either way nothing half remains.
            #expect(reopened.recovery.discardedCleanStop || reopened.recovery.messagesToReplay == 12)
        } else {
            #expect(reopened.recovery.discardedCleanStop || reopened.recovery.created)
        }
        #expect(reopened.recovery.messagesToReplay == 0 || reopened.recovery.messagesToReplay == 12)
        #expect(reopened.recovery.nextSequence == 1, "a clean-stopped journal starts over")
        try await reopened.close(discard: true)
    }
}
