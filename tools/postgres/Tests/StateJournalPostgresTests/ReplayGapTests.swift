import Logging
import PostgresNIO
import StateJournal
import StateJournalPostgres
import Testing

/// A replay decodes a page of rows in two halves at once. A row missing anywhere — first, inside
/// either half, or exactly where the halves meet — is a `sequenceGap`, never a replay that skips
/// messages; with no row missing every message comes back once, in order.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct ReplayGapTests {
    /// 40 rows of 3 messages: one page, split at row 20.
    static let rows = 40

    @Test(arguments: [nil, 0, 1, 19, 20, 21, 38, 39] as [Int?])
    func aMissingRowIsAGapWhereverItIs(_ missing: Int?) async throws {
        try await TestDatabase.withStore(schema: TestDatabase.schema("replay_gap")) { store in
            let schema = store.configuration.schema
            let owner = try await store.open(
                "cart", options: JournalOptions(durability: .synced), logger: Logger(label: "test"))
            for row in 0..<Self.rows {
                _ = try await owner.submit(contentsOf: (0..<3).map { [UInt8(row), UInt8($0)] }).value()
            }
            try await owner.close(discard: false)
            if let missing {
                try await store.client.query(
                    PostgresQuery(
                        unsafeSQL: """
                            DELETE FROM "\(schema)".frames WHERE first_sequence = \(missing * 3 + 1)
                            """))
            }
            var sequences: [UInt64] = []
            var failure: JournalError?
            do {
                for try await element in store.replay("cart") {
                    if case .messages(let chunk) = element { sequences += chunk.map(\.sequence) }
                }
            } catch let error as JournalError {
                failure = error
            }
            if let missing, missing < Self.rows - 1 {
                #expect(failure?.code == .sequenceGap, "row \(missing) missing: \(String(describing: failure))")
            } else if let missing {
                // The last row missing is a shorter journal, not a gap.
                #expect(failure == nil)
                #expect(sequences == Array(1...UInt64(missing * 3)))
            } else {
                #expect(failure == nil)
                #expect(sequences == Array(1...UInt64(Self.rows * 3)))
            }
        }
    }
}
