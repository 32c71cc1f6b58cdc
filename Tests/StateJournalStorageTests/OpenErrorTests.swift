import Foundation
import StateJournalStorage
import Testing

/// A valid header with fields changed and the CRC recomputed.
func craftedHeader(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
    var bytes = JournalHeader(
        processID: "p", codec: .lz4, salt: 0x0123_4567_89AB_CDEF, createdNanoseconds: 0, baseSequence: 1
    ).encoded()
    change(&bytes)
    let crc = CRC32C.checksum(bytes[0..<(bytes.count - 4)])
    withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((bytes.count - 4)..., with: $0) }
    return bytes
}

@Suite struct OpenErrorTests {
    func expectOpenFails(
        _ path: String, _ code: JournalError.Code, options: JournalOptions = .testing(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            _ = try JournalReader(path: path)
            Issue.record("the reader accepted the file", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.path == path, sourceLocation: sourceLocation)
        }
        let before = fileBytes(path)
        do {
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: options, logger: testLogger)
            try? await writer.close(discard: false)
            Issue.record("the writer accepted the file", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        }
        #expect(fileBytes(path) == before, "a refused file is left as it was", sourceLocation: sourceLocation)
    }

    @Test func notAJournal() async throws {
        let directory = TemporaryDirectory()
        let text = directory.file("notes.journal")
        writeBytes(Array("just some text, not a journal at all\n".utf8), to: text)
        await expectOpenFails(text, .notAJournal)
        let png = directory.file("image.journal")
        writeBytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 100), to: png)
        await expectOpenFails(png, .notAJournal)
    }

    /// Empty: an error for the reader and for a `.synced` writer. (A `.written` or `.buffered`
    /// writer takes it for a creation a power cut undid, sets it aside and starts anew:
    /// LostCreationTests.)
    @Test func emptyFile() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("empty.journal")
        writeBytes([], to: path)
        await expectOpenFails(path, .emptyFile, options: .testing(.synced))
    }

    @Test(arguments: [4, 8, 30, 55, 60])
    func headerCutShort(length: Int) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("short.journal")
        writeBytes(Array(craftedHeader { _ in }.prefix(length)), to: path)
        await expectOpenFails(path, .truncatedHeader)
    }

    @Test func futureMajorVersion() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("future.journal")
        writeBytes(craftedHeader { $0[8] = 2 }, to: path)
        await expectOpenFails(path, .unsupportedVersion)
    }

    @Test func newerMinorVersionIsRead() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("minor.journal")
        writeBytes(craftedHeader { $0[10] = 7 }, to: path)
        let reader = try JournalReader(path: path)
        #expect(reader.header.minorVersion == 7)
        #expect(try reader.nextFrame() == nil)
        #expect(reader.end == .clean)
    }

    @Test func unknownIncompatibleFlag() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("flag.journal")
        writeBytes(craftedHeader { $0[16] = 0x04 }, to: path)
        await expectOpenFails(path, .unsupportedFeature)
        // An unknown compatible flag is ignored.
        let compatible = directory.file("compatible.journal")
        writeBytes(craftedHeader { $0[20] = 0x04 }, to: compatible)
        #expect(try JournalReader(path: compatible).header.compatibleFlags == 4)
    }

    @Test func corruptHeader() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("crc.journal")
        var bytes = craftedHeader { _ in }
        bytes[33] ^= 0x01  // the salt, without fixing the CRC
        writeBytes(bytes, to: path)
        await expectOpenFails(path, .corruptHeader)
    }

    @Test func missingFileAndDirectory() throws {
        let directory = TemporaryDirectory()
        #expect { try JournalReader(path: directory.file("none.journal")) } throws: {
            ($0 as? JournalError)?.code == .notFound
        }
        #expect { try JournalReader(path: directory.path) } throws: { ($0 as? JournalError)?.code == .notAJournal }
    }

    @Test func wrongProcessIsRefused() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("owned.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "alice", options: .testing(), logger: testLogger)
        try await writer.append([1])
        try await writer.close(discard: false)
        await #expect {
            _ = try await JournalWriter.open(path: path, processID: "bob", options: .testing(), logger: testLogger)
        } throws: {
            ($0 as? JournalError)?.code == .invalidArgument
        }
    }

    @Test func lockedInThisProcess() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("locked.journal")
        let first = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
        do {
            _ = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
            Issue.record("a second writer opened a locked journal")
        } catch {
            #expect(error.code == .locked)
            #expect(error.path == path)
        }
        try await first.close(discard: false)
        // Once closed, it opens again.
        let second = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
        try await second.close(discard: false)
    }

    @Test func lockedByAnotherProcess() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("other.journal")
        let first = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
        try await first.append([1])
        try await first.close(discard: false)
        // Another OS process holds an exclusive flock on the journal.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'rb')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)",
            path,
        ]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer {
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
        }
        _ = pipe.fileHandleForReading.availableData  // "locked": the holder has the lock
        do {
            _ = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
            Issue.record("opened a journal locked by another process")
        } catch {
            #expect(error.code == .locked)
        }
    }

    @Test func anotherProcessCannotLockAnOpenJournal() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("held.journal")
        let writer = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        probe.arguments = ["-x", "-n", path, "true"]
        try probe.run()
        probe.waitUntilExit()
        #expect(probe.terminationStatus == 1, "flock -n must fail while the writer holds the journal")
        try await writer.close(discard: false)
    }
}
