import Foundation
import StateJournalStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Crash tests: a real child OS process appends and is killed with SIGKILL.
@Suite struct CrashTests {
    /// Every message acknowledged before `kill -9` is in the journal, in order, once.
    @Test(arguments: ["written", "synced"])
    func acknowledgedMessagesSurviveKill9(durability: String) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("kill.journal")
        let ackPath = directory.file("acks")
        await #expect(processExitsWith: .signal(SIGKILL)) {
            [path = path as String, ackPath = ackPath as String, durability = durability as String] in
            let options = JournalOptions.testing(durability == "synced" ? .synced : .written)
            let writer = try await JournalWriter.open(
                path: path, processID: "kill", options: options, logger: testLogger)
            let acks = open(ackPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            // Concurrent senders, each recording what was acknowledged (after the ack, never before).
            await withTaskGroup(of: Void.self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        for index in 0..<100_000 {
                            guard let sequence = try? await writer.append(Array("\(sender):\(index)".utf8)) else {
                                return
                            }
                            let line = "\(sequence) \(sender):\(index)\n"
                            _ = line.withCString { write(acks, $0, strlen($0)) }
                            if sequence == 3000 { kill(getpid(), SIGKILL) }
                        }
                    }
                }
            }
        }
        let acknowledged = String(decoding: fileBytes(ackPath), as: UTF8.self).split(separator: "\n").map {
            line -> (UInt64, String) in
            let parts = line.split(separator: " ")
            return (UInt64(parts[0])!, String(parts[1]))
        }
        #expect(acknowledged.count >= 2900)
        let writer = try await JournalWriter.open(
            path: path, processID: "kill", options: .testing(), logger: testLogger)
        try await writer.close(discard: false)
        let (messages, end) = try readAll(path)
        #expect(end == .clean)
        // Sequence numbers 1...n without gap; every acknowledged one holds what was acknowledged.
        #expect(messages.map(\.sequence) == Array(1...UInt64(messages.count)))
        let bySequence = Dictionary(
            uniqueKeysWithValues: messages.map { ($0.sequence, String(decoding: $0.bytes, as: UTF8.self)) })
        for (sequence, text) in acknowledged {
            #expect(bySequence[sequence] == text, "acknowledged sequence \(sequence) lost or changed")
        }
        // Per sender, messages are in send order and never duplicated.
        var next = [Int](repeating: 0, count: 8)
        for message in messages {
            let parts = String(decoding: message.bytes, as: UTF8.self).split(separator: ":").map { Int($0)! }
            #expect(parts[1] == next[parts[0]])
            next[parts[0]] = parts[1] + 1
        }
    }

    /// A process killed before its normal stop keeps its whole journal; one stopped normally keeps nothing.
    @Test func killBeforeCleanStopReplaysEverything() async throws {
        let directory = TemporaryDirectory()
        let killed = directory.file("killed.journal")
        let stopped = directory.file("stopped.journal")
        await #expect(processExitsWith: .signal(SIGKILL)) { [killed = killed as String, stopped = stopped as String] in
            let a = try await JournalWriter.open(
                path: killed, processID: "killed", options: .testing(), logger: testLogger)
            let b = try await JournalWriter.open(
                path: stopped, processID: "stopped", options: .testing(), logger: testLogger)
            for i in 0..<500 {
                try await a.append(Array("a\(i)".utf8))
                try await b.append(Array("b\(i)".utf8))
            }
            try await b.close(discard: true)
            kill(getpid(), SIGKILL)
        }
        let a = try await JournalWriter.open(path: killed, processID: "killed", options: .testing(), logger: testLogger)
        #expect(a.recovery.messagesToReplay == 500)
        try await a.close(discard: false)
        #expect(
            try readAll(killed).messages.map { String(decoding: $0.bytes, as: UTF8.self) } == (0..<500).map { "a\($0)" }
        )
        let b = try await JournalWriter.open(
            path: stopped, processID: "stopped", options: .testing(), logger: testLogger)
        #expect(b.recovery.created)
        #expect(b.recovery.messagesToReplay == 0)
        try await b.close(discard: true)
    }

    /// A failed write fails its batch and every later append; nothing unwritten is acknowledged.
    @Test func failedWriteFailsTheBatchAndEveryLaterAppend() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("full.journal")
        await #expect(processExitsWith: .success) { [path = path as String] in
            // The file-size limit makes pwrite fail with EFBIG, as a full disk would with ENOSPC.
            limitFileSize(toBytes: 64 * 1024)
            let writer = try await JournalWriter.open(
                path: path, processID: "full", options: .testing(compression: false), logger: testLogger)
            var acknowledged: UInt64 = 0
            var failure: JournalError?
            for _ in 0..<200 {
                do {
                    acknowledged = try await writer.append([UInt8](repeating: 7, count: 1000))
                } catch {
                    failure = error as? JournalError
                    break
                }
            }
            guard let failure, failure.code == .writeFailed, failure.systemCall == "pwrite",
                failure.errno == .fileTooLarge
            else { exit(10) }
            guard failure.sequence == acknowledged + 1 else { exit(11) }
            do {
                try await writer.append([1])
                exit(12)
            } catch {
                guard let error = error as? JournalError, error.code == .writerFailed, error.errno == .fileTooLarge
                else {
                    exit(13)
                }
            }
            // What was acknowledged is on disk, whole.
            let reader = try JournalReader(path: path)
            var count: UInt64 = 0
            _ = try reader.forEachMessage { _, _ in count += 1 }
            guard count == acknowledged else { exit(14) }
            exit(0)
        }
    }
}
