import Foundation
import Testing

@testable import StateJournalStorage

/// Replay memory is bounded by the chunk, not by what one frame holds: a frame of hundreds of
/// thousands of empty messages is yielded in chunks of at most `chunkMessages` (before, one
/// frame was one chunk: 64 M empty messages in a 257 KiB file took 1–2 GB to replay).
@Suite struct ReplayMemoryTests {
    @Test func aFrameOfManyMessagesIsYieldedInChunks() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/many.journal"
        let writer = try await JournalWriter.open(
            path: path, processID: "many", options: JournalOptions(idleTimeout: nil), logger: testLogger)
        // One batch: the writer packs up to 1 MiB of payload per frame, about a million empty messages.
        let count = 600_000
        _ = try await writer.append(contentsOf: [[UInt8]](repeating: [], count: count))
        _ = try await writer.append(Array("last".utf8))
        try await writer.close(discard: false)
        let reader = try JournalReader(path: path)
        var largestFrame = 0
        while let frame = try reader.nextFrame() { largestFrame = max(largestFrame, frame.messages.count) }
        #expect(largestFrame == count, "the batch is one frame")

        var total = 0
        var largest = 0
        var expected: UInt64 = 1
        for try await element in JournalReplay(path: path, chunkMessages: 4096) {
            guard case .messages(let messages) = element else { continue }
            largest = max(largest, messages.count)
            for message in messages {
                #expect(message.sequence == expected)
                expected += 1
            }
            total += messages.count
        }
        #expect(total == count + 1)
        #expect(largest <= 4096, "a chunk of \(largest) messages")
    }
}
