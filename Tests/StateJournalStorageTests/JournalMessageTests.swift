import StateJournalStorage
import Testing

/// A message over a chunk's shared buffer is the same value as one holding its own bytes:
/// equal, hashed alike, and its bytes, count and in-place bytes are its range, nothing more
/// (the oracle: plain arrays of the same bytes).
@Suite struct JournalMessageTests {
    @Test func aMessageOverASharedBufferIsItsRangeAndNothingMore() {
        let buffer: [UInt8] = Array(0..<40)
        let ranges = [0..<0, 0..<7, 7..<8, 8..<31, 31..<40, 0..<40]
        for range in ranges {
            let expected = Array(buffer[range])
            let shared = JournalMessage(sequence: 9, bytes: buffer, in: range)
            let own = JournalMessage(sequence: 9, bytes: expected)
            #expect(shared.bytes == expected)
            #expect(shared.count == expected.count)
            #expect(shared.withUnsafeBytes { Array($0) } == expected)
            #expect(shared == own)
            #expect(shared.hashValue == own.hashValue)
            #expect(shared != JournalMessage(sequence: 10, bytes: expected))
        }
        // Neighbours in one buffer differ, and a changed copy leaves the buffer's others alone.
        let first = JournalMessage(sequence: 1, bytes: buffer, in: 0..<5)
        var second = JournalMessage(sequence: 1, bytes: buffer, in: 5..<10)
        #expect(first != second)
        second.bytes = [7]
        #expect(second.bytes == [7] && second.count == 1)
        #expect(first.bytes == [0, 1, 2, 3, 4])
    }
}
