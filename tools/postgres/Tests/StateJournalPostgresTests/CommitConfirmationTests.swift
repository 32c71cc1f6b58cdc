import Logging
import PostgresNIO
import StateJournal
import StateJournalPostgres
import Testing

/// A statement's answer is not its commit. In PostgreSQL's extended query protocol an implicit
/// transaction commits at the `Sync` after the statement: its rows and `CommandComplete` are
/// produced first and normally wait in the server's output buffer until the commit is done, but
/// anything that flushes that buffer (a notice, a server shutting down in immediate mode, which
/// sends a warning before its backends exit) hands them to the client before the commit, which
/// may then fail or never happen. Seen in the server-crash trial: a message acknowledged at
/// `.synced` whose row a crash lost.
///
/// Here the commit itself fails, after a notice has flushed the statement's answer: a deferred
/// constraint trigger on the frames table raises a notice, then an error, at commit time. Nothing
/// of what the database refused may be acknowledged.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct CommitConfirmationTests {
    @Test(arguments: [Durability.written, .synced])
    func aCommitThatFailsAfterTheAnswerIsNotAcknowledged(_ durability: Durability) async throws {
        try await TestDatabase.withStore(schema: TestDatabase.schema("commit_confirmation")) { store in
            let logger = Logger(label: "test")
            let schema = store.configuration.schema
            let owner = try await store.open("cart", options: JournalOptions(durability: durability), logger: logger)
            _ = try await owner.submit(contentsOf: [[1]]).value()
            // From now on every commit that inserted a frame fails, after a notice.
            try await Self.refuseCommits(of: "frames", on: "INSERT", in: store)
            let refused = await #expect(throws: JournalError.self) {
                _ = try await owner.submit(contentsOf: [[2]]).value()
            }
            #expect(refused != nil, "a message whose commit failed was acknowledged")

            try await store.rows(
                PostgresQuery(unsafeSQL: "DROP TRIGGER refuse_at_commit ON \"\(schema)\".frames"))
            var messages: [[UInt8]] = []
            for try await element in store.replay("cart") {
                if case .messages(let chunk) = element { messages += chunk.map(\.bytes) }
            }
            #expect(messages == [[1]])
        }
    }

    /// The same for the statements on a journal's row: taking it (open), the synchronous no-op
    /// write of a flush, the release of a normal stop. Each fails; none is taken for done.
    @Test func aTakeAFlushAndAReleaseWhoseCommitsFailAfterTheAnswerFail() async throws {
        try await TestDatabase.withStore(schema: TestDatabase.schema("commit_confirmation_row")) { store in
            let logger = Logger(label: "test")
            let schema = store.configuration.schema
            let options = JournalOptions(durability: .written)
            let flushed = try await store.open("flushed", options: options, logger: logger)
            let closed = try await store.open("closed", options: options, logger: logger)
            _ = try await flushed.submit(contentsOf: [[1]]).value()
            _ = try await closed.submit(contentsOf: [[1]]).value()
            try await Self.refuseCommits(of: "journals", on: "UPDATE", in: store)

            await #expect(throws: JournalError.self, "a flush whose commit failed succeeded") {
                try await flushed.flush()
            }
            await #expect(throws: JournalError.self, "a release whose commit failed succeeded") {
                try await closed.close(discard: false)
            }
            await #expect(throws: JournalError.self, "a take whose commit failed succeeded") {
                _ = try await store.open("taken", options: options, logger: logger)
            }

            try await store.rows(
                PostgresQuery(unsafeSQL: "DROP TRIGGER refuse_at_commit ON \"\(schema)\".journals"))
            // The refused take left the journal untaken, the refused release left it owned.
            let rows = try await store.rows(
                PostgresQuery(
                    unsafeSQL:
                        "SELECT name, epoch, owner IS NOT NULL, stopped_cleanly FROM \"\(schema)\".journals ORDER BY name"
                ))
            var found: [String] = []
            for row in rows {
                let (name, epoch, owned, stopped) = try row.decode((String, Int64, Bool, Bool).self)
                found.append("\(name) \(epoch) \(owned) \(stopped)")
            }
            #expect(found == ["closed 1 true false", "flushed 1 true false", "taken 0 false false"])
        }
    }

    /// A deferred constraint trigger on `table`: at the commit of a transaction that did
    /// `operation` on it, a notice (which flushes the server's output), then an error.
    static func refuseCommits(of table: String, on operation: String, in store: PostgresJournalStore) async throws {
        let schema = store.configuration.schema
        try await store.rows(
            PostgresQuery(
                unsafeSQL: """
                    CREATE OR REPLACE FUNCTION "\(schema)".refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        RAISE NOTICE 'the commit is about to fail';
                        RAISE EXCEPTION 'commit refused (test)';
                    END $$
                    """))
        try await store.rows(
            PostgresQuery(
                unsafeSQL: """
                    CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER \(operation) ON "\(schema)".\(table)
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "\(schema)".refuse_at_commit()
                    """))
    }
}
