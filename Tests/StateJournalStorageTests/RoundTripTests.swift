import Foundation
import StateJournalStorage
import Synchronization
import Testing

@Suite struct RoundTripTests {
    static let durabilities: [Durability] = [.buffered(within: .milliseconds(5)), .written, .synced]

    @Test(arguments: durabilities, [true, false])
    func randomBatchesAndSizesReadBackExactly(durability: Durability, compression: Bool) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("p.journal")
        var generator = SeededGenerator(seed: 0x5EED)
        let writer = try await JournalWriter.open(
            path: path, processID: "p", options: .testing(durability, compression: compression), logger: testLogger)
        var expected: [[UInt8]] = []
        let sizes = [0, 1, 2, 150, 4096, 65_535, 65_536, 65_537, 300_000, 1 << 20]
        for round in 0..<40 {
            let count = 1 + Int(generator.next() % 20)
            var batch: [[UInt8]] = []
            for index in 0..<count {
                let size: Int
                if generator.next() % 8 == 0 {
                    size = sizes[Int(generator.next() % UInt64(sizes.count))]
                } else {
                    size = Int(generator.next() % 300)
                }
                if generator.next() % 2 == 0 {
                    batch.append(
                        sampleEvent(round * 100 + index, using: &generator)
                            + [UInt8](repeating: 0x20, count: max(0, size - 200)))
                } else {
                    batch.append((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
                }
            }
            let range = try await writer.append(contentsOf: batch)
            #expect(range.lowerBound == UInt64(expected.count + 1))
            #expect(range.count == batch.count)
            expected.append(contentsOf: batch)
        }
        try await writer.close(discard: false)
        let (messages, end) = try readAll(path)
        #expect(end == .clean)
        #expect(messages.map(\.sequence) == Array(1...UInt64(expected.count)))
        #expect(messages.map(\.bytes) == expected)
        // Reopening continues the numbering.
        let again = try await JournalWriter.open(
            path: path, processID: "p", options: .testing(durability), logger: testLogger)
        #expect(again.recovery.messagesToReplay == UInt64(expected.count))
        #expect(try await again.append([1, 2, 3]) == UInt64(expected.count + 1))
        try await again.close(discard: false)
    }

    @Test(arguments: durabilities)
    func concurrentAppendersKeepOrderAndLoseNothing(durability: Durability) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("shared.journal")
        let writer = try await JournalWriter.open(
            path: path, processID: "shared", options: .testing(durability), logger: testLogger)
        let senders = 64
        let perSender = 50
        let acknowledged = Locked<[UInt64: Pair]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    var last: UInt64 = 0
                    for index in 0..<perSender {
                        let sequence = try await writer.append(Array("\(sender):\(index)".utf8))
                        #expect(sequence > last, "sequence numbers of one sender increase")
                        last = sequence
                        acknowledged.withLock { $0[sequence] = Pair(sender: sender, index: index) }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await writer.close(discard: false)
        let (messages, _) = try readAll(path)
        #expect(messages.count == senders * perSender)
        #expect(messages.map(\.sequence) == Array(1...UInt64(senders * perSender)))
        var nextIndex = [Int](repeating: 0, count: senders)
        let acks = acknowledged.withLock { $0 }
        for message in messages {
            let parts = String(decoding: message.bytes, as: UTF8.self).split(separator: ":").map { Int($0)! }
            #expect(parts[1] == nextIndex[parts[0]], "per sender in send order")
            nextIndex[parts[0]] += 1
            #expect(
                acks[message.sequence]?.sender == parts[0] && acks[message.sequence]?.index == parts[1],
                "the acknowledged sequence number holds that message")
        }
        #expect(nextIndex.allSatisfy { $0 == perSender })
        // Every append was counted once (how they were grouped into batches depends on timing).
        #expect(writer.statistics.messagesAppended == UInt64(senders * perSender))
    }

    @Test func replayStreamsSnapshotThenMessages() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("r.journal")
        let writer = try await JournalWriter.open(path: path, processID: "r", options: .testing(), logger: testLogger)
        for i in 0..<1000 { try await writer.append(Array("m\(i)".utf8)) }
        try await writer.close(discard: false)
        let (snapshot, messages) = try await replayAll(path)
        #expect(snapshot == nil)
        #expect(messages.count == 1000)
        #expect(messages.last?.bytes == Array("m999".utf8))
    }

    @Test func appendRejectsOversizedAndEmpty() async throws {
        let directory = TemporaryDirectory()
        let writer = try await JournalWriter.open(
            path: directory.file("x.journal"), processID: "x", options: .testing(), logger: testLogger)
        await #expect(throws: JournalError.self) { try await writer.append(contentsOf: []) }
        do {
            try await writer.append([UInt8](repeating: 1, count: JournalFormat.maxMessageSize + 1))
            Issue.record("an oversized message was accepted")
        } catch {
            #expect(error.code == .messageTooLarge)
        }
        // The writer still works.
        #expect(try await writer.append([9]) == 1)
        try await writer.close(discard: true)
    }

    @Test func closedWriterRefusesAppends() async throws {
        let directory = TemporaryDirectory()
        let writer = try await JournalWriter.open(
            path: directory.file("c.journal"), processID: "c", options: .testing(), logger: testLogger)
        try await writer.close(discard: false)
        do {
            try await writer.append([1])
            Issue.record("append after close succeeded")
        } catch {
            #expect(error.code == .closed)
        }
    }
}

struct Pair: Sendable, Hashable {
    var sender: Int
    var index: Int
}
