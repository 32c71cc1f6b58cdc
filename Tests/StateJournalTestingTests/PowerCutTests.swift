import Foundation
import Logging
import StateJournal
import StateJournalStorage
import StateJournalTesting
import Testing

/// Power cuts against a model of what file systems persist (``FileFaults/FileSystemModel``),
/// written from what Linux does — a file's bytes are durable once that file was synced; `syncfs`
/// persists every file of a local file system and nothing on FUSE — not from what the writer
/// expects. The oracle is what the writer told its callers: every `.synced` append that returned
/// a sequence number must be there after the cut, in every sync method, on both models.
@Suite(.timeLimit(.minutes(5))) struct PowerCutTests {
    typealias Outcome = PowerCutCheck.Report

    static func trial(
        model: FileFaults.FileSystemModel, method: SyncMethod, journals: Int = 8, messages: Int = 24,
        reportFUSE: Bool = true,
        sectors seed: UInt64? = nil, padding: Int = 0, snapshotEvery: Int? = nil
    ) async throws -> Outcome {
        try await PowerCutCheck.run(
            PowerCutCheck.Configuration(
                model: model, method: method, journals: journals, messages: messages, reportsFileSystemType: reportFUSE,
                sectorSeed: seed, padding: padding, snapshotEvery: snapshotEvery))
    }

    /// Random configurations (either model, snapshots or not, sector-spanning writes or not), in
    /// every sync method; the long run is `statejournal-crash-campaign --power-cuts N`.
    @Test(arguments: [SyncMethod.automatic, .perFile, .fileSystem])
    func randomPowerCutsLoseNothingAcknowledged(method: SyncMethod) async throws {
        for seed in 0..<6 as Range<UInt64> {
            let configuration = PowerCutCheck.Configuration.random(seed: seed, method: method)
            let report = try await PowerCutCheck.run(configuration)
            #expect(report.lost.isEmpty, "seed \(seed), \(configuration): \(report)")
        }
    }

    @Test(arguments: [FileFaults.FileSystemModel.local, .fuse], [SyncMethod.automatic, .perFile, .fileSystem])
    func everyAcknowledgedSyncedMessageSurvivesAPowerCut(model: FileFaults.FileSystemModel, method: SyncMethod)
        async throws
    {
        let outcome = try await Self.trial(model: model, method: method)
        #expect(outcome.acknowledged > 0)
        #expect(
            outcome.lost.isEmpty,
            "\(model), \(method): \(outcome.lost.count) of \(outcome.acknowledged) acknowledged lost: \(outcome.lost.prefix(5))"
        )
    }

    /// The sectors of each unsynced write kept in any subset (the torn multi-frame tails a
    /// watermark lets recovery cut): still every acknowledged message, and every journal opens.
    /// Messages of about 1 KB, so a write spans sectors; over the seeds some recovery must have
    /// cut such a tear (else the test would not be testing it).
    @Test(arguments: [SyncMethod.automatic, .fileSystem])
    func unsyncedSectorsInAnySubsetLoseNothingAcknowledged(method: SyncMethod) async throws {
        var cuts = 0
        for seed in 0..<8 as Range<UInt64> {
            let outcome = try await Self.trial(
                model: .local, method: method, messages: 8, sectors: 0x5EC7_0000 + seed, padding: 1000)
            #expect(outcome.lost.isEmpty, "\(method), seed \(seed): \(outcome.lost.prefix(5))")
            cuts += outcome.watermarkCuts
        }
        #expect(cuts > 0, "no trial tore a write across sectors")
    }

    /// Snapshots (each a rewrite of the journal: a temporary file synced and renamed over, the
    /// directory synced) between appends, then the cut: every acknowledged message is in the
    /// journal or covered by the snapshot, in every sync method.
    @Test(arguments: [SyncMethod.automatic, .perFile, .fileSystem])
    func snapshotsThenAPowerCutLoseNothingAcknowledged(method: SyncMethod) async throws {
        for seed in 0..<4 as Range<UInt64> {
            let outcome = try await Self.trial(
                model: .local, method: method, journals: 4, messages: 20, sectors: 0x54A9_0000 + seed, snapshotEvery: 6)
            #expect(outcome.lost.isEmpty, "\(method), seed \(seed): \(outcome.lost.prefix(5))")
        }
    }

    /// The model can fail: a FUSE file system that does not say it is one (as a network file
    /// system of unknown type might not) makes `syncfs` rounds lose acknowledged messages,
    /// and the check sees it.
    @Test func theCheckCatchesSyncfsOnAFileSystemWhereItPersistsNothing() async throws {
        // Only the first, held batch: a later per-file sync of a journal (a round of one) would
        // persist what an earlier syncfs round did not, and hide the loss.
        // A round of one journal is a per-file sync; a machine loaded enough to give every
        // request a round of its own would hide the loss once, not three times.
        var outcome = Outcome()
        for _ in 0..<3 where outcome.lost.isEmpty {
            outcome = try await Self.trial(model: .fuse, method: .fileSystem, messages: 0, reportFUSE: false)
        }
        #expect(
            !outcome.lost.isEmpty,
            "a syncfs that persists nothing went unnoticed (\(outcome.acknowledged) acknowledged)")
    }

    /// `.automatic` shares `syncfs` rounds only where `fstatfs` proves `syncfs` persists every
    /// file, and syncs each file elsewhere; `.fileSystem` asked for on FUSE is downgraded.
    @Test func automaticSharesRoundsOnlyWhereSyncfsIsProven() async throws {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let options = { (method: SyncMethod) in
            JournalOptions(durability: .synced, syncMethod: method, idleTimeout: nil)
        }
        let local = TemporaryJournalDirectory("method-local")
        // The file system's type as coreutils' `stat -f` reads it; `syncfs` writes back and
        // flushes every file of ext2/3/4, XFS and tmpfs, and keeps failing after a failure.
        let stat = Process()
        stat.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
        stat.arguments = ["-f", "-c", "%t", local.path]
        let pipe = Pipe()
        stat.standardOutput = pipe
        try stat.run()
        stat.waitUntilExit()
        let type = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let proven = ["ef53", "58465342", "1021994"].contains(type)
        let writer = try await JournalWriter.open(
            path: local.file("a.journal"), processID: "a", options: options(.automatic), logger: logger)
        #expect(writer.syncMethod == (proven ? .fileSystem : .perFile))
        try await writer.close(discard: true)

        let fuse = TemporaryJournalDirectory("method-fuse")
        let faults = FileFaults(under: fuse.path, fileSystem: .fuse)
        faults.install()
        defer { faults.uninstall() }
        for method in [SyncMethod.automatic, .fileSystem, .perFile] {
            let writer = try await JournalWriter.open(
                path: fuse.file("\(method).journal"), processID: "\(method)", options: options(method), logger: logger)
            #expect(writer.syncMethod == .perFile, "\(method) on FUSE")
            try await writer.close(discard: true)
        }
    }

    /// `.written` journals promise nothing across a power cut, but their processes must restart
    /// without an operator and never from a wrong state: after any cut, every journal opens, and
    /// what it holds is a prefix of what was written (each message at its sequence, with its
    /// bytes, none missing before the last kept), after its snapshot if it has one. With
    /// messages spanning sectors, flushes and snapshots (compactions) between appends.
    @Test func writtenJournalsReopenAfterAnyPowerCutWithAPrefix() async throws {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        var cutsOrLost = 0
        for seed in 0..<16 as Range<UInt64> {
            let directory = TemporaryJournalDirectory("written-power-cut")
            let faults = FileFaults(under: directory.path)
            faults.install()
            var options = JournalOptions(durability: .written, idleTimeout: nil)
            options.timeMarkInterval = nil
            var written: [[UInt64: [UInt8]]] = []
            for index in 0..<4 {
                let writer = try await JournalWriter.open(
                    path: directory.file("j\(index).journal"), processID: "j\(index)", options: options,
                    logger: logger)
                var messages: [UInt64: [UInt8]] = [:]
                for i in 0..<12 {
                    let bytes = Array("j\(index)-\(i)-".utf8) + [UInt8](repeating: UInt8(i), count: 300 + 97 * i)
                    messages[try await writer.append(bytes)] = bytes
                    if (seed + UInt64(i)) % 5 == 0 { try await writer.flush() }
                    if index % 2 == 1, i == 6 { try await writer.writeSnapshot(Array("state".utf8), through: 7) }
                }
                written.append(messages)
                await writer.abandon()
            }
            try faults.cutPower(seed: 0x0057_0000 + seed)
            faults.uninstall()
            for index in 0..<4 {
                let path = directory.file("j\(index).journal")
                let reopened = try await JournalWriter.open(
                    path: path, processID: "j\(index)", options: options, logger: logger)
                if reopened.recovery.tornTail != nil || reopened.recovery.lostCreation { cutsOrLost += 1 }
                try await reopened.close(discard: false)
                let snapshot = try JournalSnapshot.read(at: JournalSnapshot.path(forJournal: path))?.sequence ?? 0
                var kept: [UInt64: [UInt8]] = [:]
                let reader = try JournalReader(path: path)
                while let frame = try reader.nextFrame() { for m in frame.messages { kept[m.sequence] = m.bytes } }
                let last = kept.keys.max() ?? snapshot
                for sequence in (snapshot + 1)..<(last + 1) {
                    #expect(
                        kept[sequence] == written[index][sequence],
                        "seed \(seed), j\(index): sequence \(sequence) of 1...\(last) is not what was written")
                }
            }
        }
        #expect(cutsOrLost > 0, "no power cut tore a journal")
    }
}
