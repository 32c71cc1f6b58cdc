import Foundation
import Logging
public import StateJournalStorage

/// Power cuts against a model of what file systems persist (``FileFaults/FileSystemModel``),
/// written from what Linux does, not from what the writer expects: a file's bytes are durable
/// once that file was synced; `syncfs` persists every file of a local file system and nothing
/// on FUSE; each sector of an unsynced write survives or not. The oracle is what the writer told
/// its callers: every `.synced` append that returned a sequence number must be there after the
/// cut (or covered by the journal's snapshot), in every sync method.
///
/// A trial: `journals` writers in one directory, two concurrent appenders each, every append
/// awaited; optionally snapshots between appends; then one more write per journal whose sync
/// never returns before the power goes; then every journal is reopened (recovery) and read.
public enum PowerCutCheck {
    /// One power-cut trial.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// What a sync persists on the modelled file system.
        public var model: FileFaults.FileSystemModel
        /// The journals' sync method.
        public var method: SyncMethod
        /// Journals appended to concurrently.
        public var journals: Int
        /// Messages each journal's appender sends; the cut may come before all are acknowledged.
        public var messages: Int
        /// Whether `fstatfs` reports the modelled type (false: a FUSE that hides what it is).
        public var reportsFileSystemType: Bool
        /// The sectors of unsynced writes kept are drawn from it; nil keeps the first half of
        /// each file's first unsynced write (and cuts after every writer stopped).
        public var sectorSeed: UInt64?
        /// Bytes added to each message; uncompressed, so that one write spans sectors.
        public var padding: Int
        /// A snapshot (a rewrite of the journal) after every this many messages of one appender.
        public var snapshotEvery: Int?

        /// A trial with these settings.
        public init(
            model: FileFaults.FileSystemModel = .local, method: SyncMethod = .automatic, journals: Int = 8,
            messages: Int = 24,
            reportsFileSystemType: Bool = true, sectorSeed: UInt64? = nil, padding: Int = 0, snapshotEvery: Int? = nil
        ) {
            self.model = model
            self.method = method
            self.journals = journals
            self.messages = messages
            self.reportsFileSystemType = reportsFileSystemType
            self.sectorSeed = sectorSeed
            self.padding = padding
            self.snapshotEvery = snapshotEvery
        }

        /// A configuration drawn from `seed` for `method`: either model, 2–8 journals, small or
        /// sector-spanning messages, with or without snapshots, sectors drawn from the seed.
        public static func random(seed: UInt64, method: SyncMethod) -> Configuration {
            var generator = SplitMix64(seed: seed ^ 0x9C07_0000)
            return Configuration(
                model: generator.next() % 3 == 0 ? .fuse : .local, method: method,
                journals: 2 + Int(generator.next() % 7),
                messages: 4 + Int(generator.next() % 12), sectorSeed: generator.next(),
                padding: generator.next() % 2 == 0 ? 0 : 600 + Int(generator.next() % 1200),
                snapshotEvery: generator.next() % 2 == 0 ? nil : 3 + Int(generator.next() % 5))
        }

        public var description: String {
            "\(model), \(method), \(journals) journals × 2 appenders × \(messages) messages"
                + (padding > 0 ? ", \(padding)-byte padding" : "")
                + (snapshotEvery.map { ", a snapshot every \($0)" } ?? "")
                + (sectorSeed.map { ", sectors from \($0)" } ?? "")
        }
    }

    /// What the trials found.
    public struct Report: Sendable, CustomStringConvertible {
        /// Messages acknowledged as synced before the cut.
        public var acknowledged = 0
        /// Each acknowledged message the cut lost, and each journal that did not open.
        public var lost: [String] = []
        /// Journals whose recovery cut damage that synced watermarks proved unsynced.
        public var watermarkCuts = 0

        /// An empty report.
        public init() {}

        public var description: String {
            "\(acknowledged) acknowledged, \(lost.count) lost, \(watermarkCuts) watermark cut(s)"
                + (lost.isEmpty ? "" : ":\n  " + lost.prefix(10).joined(separator: "\n  "))
        }
    }

    /// Runs one trial: appends to every journal, cuts the power (undoing what was not synced,
    /// as the model says), recovers every journal and checks that each acknowledged message is there.
    public static func run(_ configuration: Configuration) async throws -> Report {
        let logger = Logger(label: "statejournal.power-cut") { _ in SwiftLogNoOpLogHandler() }
        let pad = String(repeating: "p", count: configuration.padding)
        let directory = TemporaryJournalDirectory("power-cut")
        let faults = FileFaults(
            under: directory.path, fileSystem: configuration.model, reportsItsType: configuration.reportsFileSystemType)
        faults.install()
        defer { faults.uninstall() }
        var options = JournalOptions(durability: .synced, syncMethod: configuration.method, idleTimeout: nil)
        options.timeMarkInterval = nil
        options.compression = configuration.padding == 0
        var writers: [JournalWriter] = []
        for index in 0..<configuration.journals {
            writers.append(
                try await JournalWriter.open(
                    path: directory.file("j\(index).journal"), processID: "j\(index)", options: options, logger: logger)
            )
        }
        let journals = writers
        // The first appends of every journal are held in their sync, so the next round covers many journals.
        faults.holdSyncs()
        let acknowledged = try await withThrowingTaskGroup(of: [(Int, UInt64, [UInt8])].self) { group in
            for (index, writer) in journals.enumerated() {
                for sender in 0..<2 {
                    group.addTask {
                        let bytes = Array("j\(index)-s\(sender)-first\(pad)".utf8)
                        return [(index, try await writer.append(bytes), bytes)]
                    }
                }
            }
            while faults.heldSyncs == 0 { await Task.yield() }
            try await Task.sleep(for: .milliseconds(20))
            faults.releaseSyncs()
            for (index, writer) in journals.enumerated() where configuration.messages > 0 {
                for sender in 0..<2 {
                    group.addTask {
                        var sent: [(Int, UInt64, [UInt8])] = []
                        for i in 0..<configuration.messages {
                            let bytes = Array("j\(index)-s\(sender)-\(i)\(pad)".utf8)
                            let sequence = try await writer.append(bytes)
                            sent.append((index, sequence, bytes))
                            if let every = configuration.snapshotEvery, sender == 0, i % every == every - 1 {
                                try await writer.writeSnapshot(
                                    Array("state through \(sequence)".utf8), through: sequence)
                            }
                        }
                        return sent
                    }
                }
            }
            return try await group.reduce(into: [(Int, UInt64, [UInt8])]()) { $0 += $1 }
        }
        if let seed = configuration.sectorSeed {
            // The power goes while one more write of each journal is made and its sync has not
            // returned: those appends are never acknowledged (their answers come after the cut).
            faults.holdSyncs()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, writer) in journals.enumerated() {
                    group.addTask { _ = try? await writer.append(Array("j\(index)-unacknowledged\(pad)".utf8)) }
                }
                while faults.heldSyncs == 0 { await Task.yield() }
                try await Task.sleep(for: .milliseconds(50))
                try faults.cutPower(seed: seed)
                faults.releaseSyncs()
                try await group.waitForAll()
            }
            for writer in journals { await writer.abandon() }
        } else {
            for writer in journals { await writer.abandon() }
            try faults.cutPower(tearLastWrite: true)
        }
        faults.uninstall()

        var report = Report()
        report.acknowledged = acknowledged.count
        var survived: [Int: [UInt64: [UInt8]]] = [:]
        var snapshots: [Int: UInt64] = [:]
        for index in 0..<configuration.journals {
            let path = directory.file("j\(index).journal")
            do {
                let reopened = try await JournalWriter.open(
                    path: path, processID: "j\(index)", options: JournalOptions(idleTimeout: nil), logger: logger)
                if reopened.recovery.tornTail?.reason.contains("never synced") == true { report.watermarkCuts += 1 }
                try await reopened.close(discard: false)
                snapshots[index] = try JournalSnapshot.read(at: JournalSnapshot.path(forJournal: path))?.sequence
                let reader = try JournalReader(path: path)
                while let frame = try reader.nextFrame() {
                    for m in frame.messages { survived[index, default: [:]][m.sequence] = m.bytes }
                }
            } catch {
                report.lost.append("j\(index) did not open: \(error)")
            }
        }
        for (index, sequence, bytes) in acknowledged
        where survived[index]?[sequence] != bytes && (snapshots[index] ?? 0) < sequence {
            report.lost.append("j\(index) sequence \(sequence) (\(String(decoding: bytes.prefix(40), as: UTF8.self)))")
        }
        return report
    }
}
