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
                try await store.rows(
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

    /// A state digest row anywhere in a page — last of the first half, first of the second, or
    /// elsewhere — comes back once, right after the message it was recorded after: never moved
    /// across the seam, dropped, or doubled.
    @Test(arguments: [0, 17, 18, 19, 20, 38, 39])
    func aDigestKeepsItsPlaceWhereverItIs(_ afterRow: Int) async throws {
        try await TestDatabase.withStore(schema: TestDatabase.schema("replay_digest")) { store in
            let owner = try await store.open(
                "cart", options: JournalOptions(durability: .synced), logger: Logger(label: "test"))
            let digest = StateDigest(sequence: UInt64(afterRow * 3 + 3), value: 0xD16E_57 &+ UInt64(afterRow))
            for row in 0..<Self.rows {
                let ticket = owner.submit(contentsOf: (0..<3).map { [UInt8(row), UInt8($0)] })
                if row == afterRow { owner.recordStateDigest(digest) }
                _ = try await ticket.value()
            }
            try await owner.close(discard: false)
            // 41 rows: the digest's row (kind 0) sorts before the message row of the same key,
            // so afterRow 18 puts it last in the first half (rows 0–19) and 19 first in the second.
            // Each digest with the number of messages replayed before it, and every message.
            var digests: [(before: Int, digest: StateDigest)] = []
            var sequences: [UInt64] = []
            for try await element in store.replay("cart") {
                switch element {
                case .messages(let chunk): sequences += chunk.map(\.sequence)
                case .stateDigest(let recorded): digests.append((sequences.count, recorded))
                case .snapshot: Issue.record("no snapshot was written")
                }
            }
            #expect(sequences == Array(1...UInt64(Self.rows * 3)))
            #expect(digests.count == 1, "digests replayed: \(digests)")
            #expect(digests.first?.digest == digest)
            #expect(
                digests.first?.before == Int(digest.sequence), "replayed after \(digests.first?.before ?? -1) messages")
        }
    }
}
