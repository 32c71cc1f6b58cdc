import Foundation
import StateJournalFixtureCatalog
import StateJournalStorage
import Testing

let fixturesDirectory: String = {
    // Tests/StateJournalStorageTests/FixtureTests.swift → the package root.
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("fixtures/v1").path
}()

struct ManifestEntry {
    var verdict: String
    var messages: [(UInt64, String)]
    var snapshot: (UInt64, String)?
}

func loadManifest() throws -> [String: ManifestEntry] {
    let data = try Data(contentsOf: URL(fileURLWithPath: fixturesDirectory + "/MANIFEST.json"))
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
    return root.mapValues { entry in
        let messages = (entry["messages"] as? [[String: Any]] ?? []).map {
            (($0["sequence"] as! NSNumber).uint64Value, $0["hex"] as! String)
        }
        var snapshot: (UInt64, String)?
        if let s = entry["snapshot"] as? [String: Any] {
            snapshot = ((s["sequence"] as! NSNumber).uint64Value, s["hex"] as! String)
        }
        return ManifestEntry(verdict: entry["verdict"] as! String, messages: messages, snapshot: snapshot)
    }
}

@Suite struct FixtureTests {
    static let names = FixtureCatalog.all.map(\.name)

    /// Every committed v1 journal reads as its manifest says: the format is stable.
    @Test(arguments: names)
    func committedFixtureReadsAsTheManifestSays(name: String) async throws {
        let manifest = try loadManifest()
        let entry = try #require(manifest[name])
        let path = fixturesDirectory + "/" + name
        var read: [(UInt64, String)] = []
        var failure: JournalError?
        var end: JournalEnd?
        do {
            let reader = try JournalReader(path: path)
            do {
                while let frame = try reader.nextFrame() {
                    read += frame.messages.map { ($0.sequence, FixtureCatalog.hexString($0.bytes)) }
                }
            } catch {
                failure = error
            }
            end = reader.end
        } catch {
            failure = error
        }
        #expect(read.map(\.0) == entry.messages.map(\.0))
        #expect(read.map(\.1) == entry.messages.map(\.1))
        switch (end, failure, entry.verdict) {
        case (.clean?, nil, "clean"), (.cleanStop?, nil, "clean-stop"), (.tornTail?, nil, "torn-tail"): break
        case (_, let error?, let verdict) where verdict == "error:\(error.code)": break
        default:
            Issue.record(
                "\(name): read ended \(String(describing: end)) / \(String(describing: failure)), manifest says \(entry.verdict)"
            )
        }
        if let (sequence, hex) = entry.snapshot {
            let snapshot = try #require(try JournalSnapshot.read(at: JournalSnapshot.path(forJournal: path)))
            #expect(snapshot.sequence == sequence)
            #expect(FixtureCatalog.hexString(snapshot.bytes) == hex)
        }
    }

    /// The generator's output equals the committed files: fixtures are never regenerated over silently.
    @Test func generatorOutputMatchesCommittedFiles() throws {
        let fixtures = FixtureCatalog.all
        for fixture in fixtures {
            #expect(
                fileBytes(fixturesDirectory + "/" + fixture.name) == fixture.bytes,
                "\(fixture.name) differs from the generator's output")
            if let snapshot = fixture.snapshotBytes {
                #expect(fileBytes(fixturesDirectory + "/" + fixture.name + ".snapshot") == snapshot)
            }
        }
        #expect(fileBytes(fixturesDirectory + "/MANIFEST.json") == Array(FixtureCatalog.manifest(fixtures).utf8))
    }

    /// The `.written` journals torn by a power cut: a reader (and a `.synced` writer) cannot tell
    /// the lost sector from damage; a `.written` writer can, and cuts it, unless a watermark
    /// after it says the bytes were synced (a flush).
    @Test func aWrittenWriterCutsAPowerCutsTearButNotFlushedDamage() async throws {
        for (name, id) in [
            ("torn-unsynced-written.journal", "room-10"), ("damaged-flushed-written.journal", "room-11"),
        ] {
            for durability in [Durability.written, .synced] {
                let directory = TemporaryDirectory()
                let path = directory.file(name)
                try FileManager.default.copyItem(atPath: fixturesDirectory + "/" + name, toPath: path)
                let original = fileBytes(path)
                let open = {
                    try await JournalWriter.open(
                        path: path, processID: id, options: .testing(durability), logger: testLogger)
                }
                if name.hasPrefix("torn"), durability == .written {
                    let writer = try await open()
                    #expect(writer.recovery.tornTail?.sequence == 2, "\(name)")
                    #expect(writer.recovery.messagesToReplay == 1, "\(name)")
                    let saved = try #require(writer.recovery.savedTo)
                    #expect(fileBytes(saved) == Array(original[Int(writer.recovery.tornTail!.offset)...]))
                    #expect(try await writer.append(Array("after".utf8)) == 2)
                    try await writer.close(discard: false)
                } else {
                    let error = await #expect(throws: JournalError.self, "\(name), \(durability)") {
                        _ = try await open()
                    }
                    #expect(error?.code == .corruptFrame, "\(name), \(durability)")
                    #expect(fileBytes(path) == original, "\(name), \(durability): a failed recovery changes nothing")
                }
            }
        }
    }

    /// A writer opening the fixtures recovers them as documented.
    @Test func writerRecoversFixtureCopies() async throws {
        let directory = TemporaryDirectory()
        for (name, id) in [
            ("plain.journal", "room-1"), ("torn-tail.journal", "room-3"), ("clean-stopped.journal", "room-2"),
            ("snapshot.journal", "user-7"),
        ] {
            let path = directory.file(name)
            try FileManager.default.copyItem(atPath: fixturesDirectory + "/" + name, toPath: path)
            if name == "snapshot.journal" {
                try FileManager.default.copyItem(
                    atPath: fixturesDirectory + "/" + name + ".snapshot", toPath: path + ".snapshot")
            }
            let writer = try await JournalWriter.open(
                path: path, processID: id, options: .testing(), logger: testLogger)
            switch name {
            case "plain.journal": #expect(writer.recovery.messagesToReplay == 21)
            case "torn-tail.journal":
                #expect(writer.recovery.tornTail != nil)
                #expect(writer.recovery.messagesToReplay == 2)
            case "clean-stopped.journal":
                #expect(writer.recovery.discardedCleanStop)
                #expect(writer.recovery.messagesToReplay == 0)
            default:
                #expect(writer.recovery.snapshotSequence == 10)
                #expect(writer.recovery.nextSequence == 16)
            }
            try await writer.append(Array("after".utf8))
            try await writer.close(discard: false)
        }
    }
}
