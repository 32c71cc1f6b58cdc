import StateJournalSystem
import Testing

@testable import StateJournalStorage

/// `JournalReplay.deliver`: a cursor that does not read ahead by itself is read in a child task
/// while the consumer handles what came before, never more than `readAhead` elements ahead, one
/// `next()` at a time, in order; a stop or an error of either side ends both.
@Suite struct ReadAheadTests {
    /// Elements 1...count, one message each (sequence = index); throws at `failing` instead.
    final class ScriptedCursor: JournalReplayCursor {
        struct Counters {
            var calls = 0
            var inFlight = 0
            var mostInFlight = 0
            /// The consumer waits here for the cursor to be asked for element `index`.
            var waiters: [(index: Int, continuation: CheckedContinuation<Void, Never>)] = []
        }
        let count: Int
        let failing: Int?
        let readsAhead: Bool
        let counters = LockedValue(Counters())

        init(count: Int, failing: Int? = nil, readsAhead: Bool = false) {
            self.count = count
            self.failing = failing
            self.readsAhead = readsAhead
        }

        var calls: Int { counters.withLock { $0.calls } }

        func next() async throws(JournalError) -> ReplayElement? {
            let (index, ready) = counters.withLock { counters in
                counters.calls += 1
                counters.inFlight += 1
                counters.mostInFlight = max(counters.mostInFlight, counters.inFlight)
                let index = counters.calls
                let ready = counters.waiters.filter { $0.index <= index }.map(\.continuation)
                counters.waiters.removeAll { $0.index <= index }
                return (index, ready)
            }
            for continuation in ready { continuation.resume() }
            // A real suspension, so that the consumer runs meanwhile.
            await Task.yield()
            counters.withLock { $0.inFlight -= 1 }
            if index == failing {
                throw JournalError(code: .corruptFrame, message: "scripted failure", path: "scripted", sequence: 7)
            }
            guard index <= count else { return nil }
            return .messages([JournalMessage(sequence: UInt64(index), bytes: [UInt8(index & 0xFF)])])
        }

        /// Returns once `next()` was called for element `index` (at once when it was).
        func asked(for index: Int) async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = counters.withLock { counters -> Bool in
                    if counters.calls >= index { return true }
                    counters.waiters.append((index, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }

    static func sequences(_ element: ReplayElement) -> [UInt64] {
        if case .messages(let messages) = element { return messages.map(\.sequence) }
        return []
    }

    @Test(.timeLimit(.minutes(1))) func readsAheadInOrderAndNoFurtherThanAllowed() async throws {
        let cursor = ScriptedCursor(count: 200)
        var delivered: [UInt64] = []
        var mostAhead = 0
        try await JournalReplay { cursor }.deliver(readAhead: 4) { element in
            delivered += Self.sequences(element)
            // The reading goes on while this element is handled: the consumer waits until the
            // cursor was asked for the element two further on (or the end), which only a reading
            // ahead of it can do.
            await cursor.asked(for: min(delivered.count + 2, 201))
            mostAhead = max(mostAhead, cursor.calls - delivered.count)
            return true
        }
        #expect(delivered == Array(1...200))
        // Four queued, one in the reader's hand, one being read.
        #expect(mostAhead >= 2)
        #expect(mostAhead <= 4 + 2)
        #expect(cursor.counters.withLock { $0.mostInFlight } == 1)
        #expect(cursor.calls == 201)
    }

    @Test func aStopEndsTheReading() async throws {
        let cursor = ScriptedCursor(count: 1_000)
        var delivered: [UInt64] = []
        try await JournalReplay { cursor }.deliver(readAhead: 4) { element in
            delivered += Self.sequences(element)
            return delivered.count < 3
        }
        #expect(delivered == [1, 2, 3])
        let calls = cursor.calls
        #expect(calls <= 3 + 4 + 2)
        // Nothing reads on after `deliver` returned.
        for _ in 0..<100 { await Task.yield() }
        #expect(cursor.calls == calls)
    }

    @Test func aReadingErrorComesAfterEverythingReadBeforeIt() async throws {
        let cursor = ScriptedCursor(count: 100, failing: 6)
        var delivered: [UInt64] = []
        await #expect(throws: JournalError.self) {
            try await JournalReplay { cursor }.deliver(readAhead: 8) { element in
                delivered += Self.sequences(element)
                if delivered.count == 1 {
                    // Elements 2 to 5 wait in the queue when the reading fails.
                    await cursor.asked(for: 6)
                    for _ in 0..<1_000 { await Task.yield() }
                }
                return true
            }
        }
        #expect(delivered == [1, 2, 3, 4, 5])
    }

    @Test func aConsumerErrorEndsTheReading() async throws {
        struct Stop: Error {}
        let cursor = ScriptedCursor(count: 1_000)
        var delivered: [UInt64] = []
        await #expect(throws: Stop.self) {
            try await JournalReplay { cursor }.deliver(readAhead: 2) { element in
                delivered += Self.sequences(element)
                if delivered.count == 5 { throw Stop() }
                return true
            }
        }
        #expect(delivered == [1, 2, 3, 4, 5])
        #expect(cursor.calls <= 5 + 2 + 2)
    }

    @Test func aCursorThatReadsAheadItselfIsReadOnlyWhenAsked() async throws {
        let cursor = ScriptedCursor(count: 50, readsAhead: true)
        var delivered: [UInt64] = []
        var callsWhenDelivered: [Int] = []
        try await JournalReplay { cursor }.deliver(readAhead: 4) { element in
            delivered += Self.sequences(element)
            for _ in 0..<10 { await Task.yield() }
            callsWhenDelivered.append(cursor.calls)
            return true
        }
        #expect(delivered == Array(1...50))
        #expect(callsWhenDelivered == Array(1...50))
    }
}
