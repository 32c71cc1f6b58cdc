import Foundation
import StateJournalStorage
import StateJournalTesting
import Testing

/// A `.written` or `.buffered` journal is created without syncing its file and directory (its
/// messages do not survive a power cut either). After a power cut its name may then hold an
/// empty or zero-filled file: such a journal is set aside and created anew, never an error that
/// needs an operator. A `.synced` journal is created synced, so zeros there are damage and an
/// error, as is anything but zeros.
@Suite struct LostCreationTests {
    /// What a power cut can leave of a journal created without syncing: nothing, or zeros where
    /// its header went, and whatever unsynced sectors of its appends persisted after it.
    static let zeroFiles: [(String, [UInt8])] = [
        ("empty", []), ("a short run of zeros", [UInt8](repeating: 0, count: 5)),
        ("a sector of zeros", [UInt8](repeating: 0, count: 512)),
        (
            "a lost header sector, then a kept one",
            [UInt8](repeating: 0, count: 512) + [UInt8](repeating: 0x5A, count: 512)
        ),
    ]

    @Test(arguments: [Durability.written, .buffered(within: .milliseconds(10))])
    func aJournalOfZerosOpensAnewAtWrittenAndBuffered(_ durability: Durability) async throws {
        for (what, bytes) in Self.zeroFiles {
            let directory = TemporaryDirectory("lost-creation")
            let path = directory.file("p.journal")
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(durability), logger: testLogger)
            #expect(writer.recovery.lostCreation, "\(what)")
            #expect(writer.recovery.created, "\(what)")
            #expect(writer.recovery.nextSequence == 1, "\(what)")
            let aside = try #require(writer.recovery.savedTo, "\(what)")
            #expect(FileManager.default.contents(atPath: aside) == Data(bytes), "\(what): kept aside as it was")
            #expect(try await writer.append([1, 2, 3]) == 1)
            try await writer.close(discard: false)
            let reader = try JournalReader(path: path)
            #expect(try reader.nextFrame()?.messages.map(\.bytes) == [[1, 2, 3]], "\(what)")
        }
    }

    @Test func aSyncedJournalOfZerosIsAnErrorAndStaysAsItWas() async throws {
        for (what, bytes) in Self.zeroFiles {
            let directory = TemporaryDirectory("lost-creation-synced")
            let path = directory.file("p.journal")
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let error = await #expect(throws: JournalError.self, "\(what)") {
                _ = try await JournalWriter.open(
                    path: path, processID: "p", options: .testing(.synced), logger: testLogger)
            }
            #expect(error?.code == (bytes.isEmpty ? .emptyFile : .notAJournal), "\(what)")
            #expect(FileManager.default.contents(atPath: path) == Data(bytes), "\(what)")
            #expect(!directory.files.contains { $0.contains(".cut-") }, "\(what)")
        }
    }

    /// Not a lost creation: a file that starts with anything but zeros (not a journal, or a
    /// journal whose header is damaged); zeros beside a snapshot that does not read are an error
    /// too (the snapshot's).
    @Test func anythingElseIsAnErrorAndStaysAsItWas() async throws {
        let source = TemporaryDirectory("lost-creation-source")
        let valid = source.file("p.journal")
        let writer = try await JournalWriter.open(
            path: valid, processID: "p", options: .testing(.written), logger: testLogger)
        _ = try await writer.append([1])
        try await writer.close(discard: false)
        var damaged = [UInt8](try #require(FileManager.default.contents(atPath: valid)))
        damaged[20] ^= 0x40
        for (what, bytes, snapshot) in [
            ("text", Array("not a journal\n".utf8), false),
            ("a header with a flipped bit", damaged, false),
            ("zeros beside a snapshot that does not read", [UInt8](repeating: 0, count: 512), true),
            ("one zero byte of the magic, then the rest", [0] + Array(JournalFormat.magic.dropFirst()), false),
        ] {
            let directory = TemporaryDirectory("lost-creation-not")
            let path = directory.file("p.journal")
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            if snapshot {
                #expect(
                    FileManager.default.createFile(
                        atPath: JournalSnapshot.path(forJournal: path), contents: Data([9, 9, 9])))
            }
            await #expect(throws: JournalError.self, "\(what)") {
                _ = try await JournalWriter.open(
                    path: path, processID: "p", options: .testing(.written), logger: testLogger)
            }
            #expect(FileManager.default.contents(atPath: path) == Data(bytes), "\(what)")
            #expect(!directory.files.contains { $0.contains(".cut-") }, "\(what)")
        }
    }

    /// Against the power-cut model (only bytes covered by a sync of their file persist; directory
    /// operations not followed by a directory sync may be undone; the sectors of unsynced writes
    /// persist in any subset): a `.written` journal created and written, then the power cut,
    /// reopens every time, with a prefix of what was written. Before its creation was unsynced
    /// it could not lose its header; with the creation unsynced and without the rule above, the
    /// reopen failed with `emptyFile`.
    @Test func aWrittenJournalReopensAfterAnyPowerCut() async throws {
        var lostCreations = 0
        for seed in 0..<24 as Range<UInt64> {
            let directory = TemporaryDirectory("lost-creation-cut")
            let path = directory.file("p.journal")
            let faults = FileFaults(under: directory.path)
            faults.install()
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(.written), logger: testLogger)
            let written = (0..<Int(seed % 4)).map { [UInt8](repeating: UInt8($0 + 1), count: 700) }
            for message in written { _ = try await writer.append(message) }
            await writer.abandon()
            try faults.cutPower(seed: seed)
            faults.uninstall()

            let reopened = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(.written), logger: testLogger)
            if reopened.recovery.lostCreation { lostCreations += 1 }
            try await reopened.close(discard: false)
            var read: [[UInt8]] = []
            let reader = try JournalReader(path: path)
            while let frame = try reader.nextFrame() { read += frame.messages.map(\.bytes) }
            #expect(Array(written.prefix(read.count)) == read, "seed \(seed): not a prefix of what was written")
        }
        #expect(lostCreations > 0, "no power cut left the journal's name on a file without its header")
    }

    /// A snapshot of a `.written` journal is made durable (its file synced, renamed, its directory
    /// synced) before the journal is compacted; the journal itself was never synced. A power cut
    /// in between leaves the snapshot and, at the journal's name (made durable by that directory
    /// sync), a file whose header never reached the disk. Found by the power-cut-disk trials on the
    /// real ext4 (a cut during a clean stop of 64 `.written` processes with snapshots every 7):
    /// the processes could not start (`emptyFile`). The journal is set aside and created anew
    /// after the snapshot, whose state is the process's; what followed it was never synced.
    @Test func aLostCreationBesideADurableSnapshotStartsAfterTheSnapshot() async throws {
        var lostBesideSnapshot = 0
        for seed in 0..<16 as Range<UInt64> {
            let directory = TemporaryDirectory("lost-creation-snapshot")
            let path = directory.file("p.journal")
            let faults = FileFaults(under: directory.path)
            faults.install()
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(.written), logger: testLogger)
            for i in 1...7 { _ = try await writer.append([UInt8](repeating: UInt8(i), count: 300)) }
            // The snapshot is durable; the compaction that would sync the journal never happens.
            writer.setSnapshotHook { step in if step == .compactedTemporaryWritten { throw SimulatedCrash() } }
            await #expect(throws: JournalError.self) { try await writer.writeSnapshot([7, 7], through: 7) }
            await writer.abandon()
            try faults.cutPower(seed: seed)
            faults.uninstall()

            let reopened = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(.written), logger: testLogger)
            if reopened.recovery.lostCreation {
                lostBesideSnapshot += 1
                #expect(reopened.recovery.nextSequence == 8, "seed \(seed)")
            }
            #expect(reopened.recovery.nextSequence >= 8, "seed \(seed): numbered before the snapshot")
            #expect(try await reopened.append([8]) == reopened.recovery.nextSequence)
            try await reopened.close(discard: false)
            let (snapshot, messages) = try await replayAll(path)
            #expect(snapshot?.sequence == 7 && snapshot?.bytes == [7, 7], "seed \(seed): the snapshot's state")
            #expect(messages.last?.bytes == [8], "seed \(seed)")
        }
        #expect(lostBesideSnapshot > 0, "no power cut left the journal without its header beside the snapshot")
    }

    /// A flush of a `.written` journal syncs it and leaves a watermark saying so: damage to the
    /// flushed bytes stays an error, while the same zeros in bytes no flush covered are a tear.
    @Test(arguments: [true, false])
    func aFlushMarksWhatItSynced(flushed: Bool) async throws {
        let directory = TemporaryDirectory("flush-marks")
        let path = directory.file("p.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "p", options: .testing(.written), logger: testLogger)
        _ = try await writer.append([UInt8](repeating: 1, count: 300))
        if flushed { try await writer.flush() }
        _ = try await writer.append([UInt8](repeating: 2, count: 300))
        let headerLength = Int(try JournalReader(path: path).offset)
        await writer.abandon()
        var bytes = fileBytes(path)
        for i in headerLength..<(headerLength + 8) { bytes[i] = 0 }
        writeBytes(bytes, to: path)
        if flushed {
            let error = await #expect(throws: JournalError.self) {
                _ = try await JournalWriter.open(
                    path: path, processID: "p", options: .testing(.written), logger: testLogger)
            }
            #expect(error?.code == .corruptFrame)
            #expect(fileBytes(path) == bytes, "a failed recovery changes nothing")
        } else {
            let reopened = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(.written), logger: testLogger)
            #expect(reopened.recovery.tornTail?.sequence == 1)
            #expect(reopened.recovery.nextSequence == 1)
            try await reopened.close(discard: true)
        }
    }
}
