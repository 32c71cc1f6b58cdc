import Logging
import PostgresNIO
import StateJournal
import StateJournalPostgres
import Testing

/// Commits the database acknowledged and then lost (a server crash after `.written` commits, which
/// are asynchronous) must not leave a hole in the journal: an owner that went on appending after
/// them would write rows no replay can cross (`sequenceGap`), and its process could never start
/// again. The owner's next append inserts nothing and fails; the journal replays as the prefix the
/// database kept, and a new owner appends after it.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct LostCommitTests {
    @Test(arguments: [Durability.written, .synced])
    func anAppendAfterLostRowsFailsAndLeavesNoHole(_ durability: Durability) async throws {
        try await TestDatabase.withStore(schema: TestDatabase.schema("lost_commit")) { store in
            let logger = Logger(label: "test")
            let schema = store.configuration.schema
            let owner = try await store.open("cart", options: JournalOptions(durability: durability), logger: logger)
            for batch in 0..<3 {
                _ = try await owner.submit(contentsOf: [[UInt8(batch), 1], [UInt8(batch), 2]]).value()
            }
            // The last committed row disappears, as an asynchronous commit does in a server crash.
            try await store.rows(
                PostgresQuery(
                    unsafeSQL: """
                        DELETE FROM "\(schema)".frames
                        WHERE (journal, first_sequence) = (SELECT journal, max(first_sequence) FROM "\(schema)".frames GROUP BY journal)
                        """))

            let refused = await #expect(throws: JournalError.self) {
                _ = try await owner.submit(contentsOf: [[9, 9]]).value()
            }
            #expect(refused?.code == .writeFailed, "\(String(describing: refused))")
            #expect(refused?.message.contains("no longer holds") == true)
            await #expect(throws: JournalError.self) {
                _ = try await owner.submit(contentsOf: [[9, 10]]).value()
            }

            // Nothing was written after the hole: the journal is the prefix the database kept.
            var sequences: [UInt64] = []
            for try await element in store.replay("cart") {
                if case .messages(let chunk) = element { sequences += chunk.map(\.sequence) }
            }
            #expect(sequences == [1, 2, 3, 4])

            // The process's restart: a new owner (a new epoch) appends after the prefix.
            let next = try await store.open("cart", options: JournalOptions(durability: durability), logger: logger)
            let range = try await next.submit(contentsOf: [[7]]).value()
            #expect(range == 5...5)
            try await next.close(discard: false)
            var messages: [[UInt8]] = []
            for try await element in store.replay("cart") {
                if case .messages(let chunk) = element { messages += chunk.map(\.bytes) }
            }
            #expect(messages == [[0, 1], [0, 2], [1, 1], [1, 2], [7]])
        }
    }
}
