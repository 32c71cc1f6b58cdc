import Logging
import PostgresNIO
import StateJournal
import StateJournalPostgres
import Testing

/// No statement of the store waits without end: one the server does not answer within
/// `statementTimeout` is given up (its connection closed), the appends it carried fail with the
/// outcome unknown, and the journal is not appended to again; the store goes on with the others.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct StatementTimeoutTests {
    @Test func aRoundTheServerDoesNotAnswerFailsAfterTheTimeout() async throws {
        // Long enough for the setup's statements on a loaded machine (the suites run in parallel,
        // and every store's prepare() takes one advisory lock: 5 s was not, in 1 run of 15 beside
        // a CI run), far shorter than the stall.
        let timeout = Duration.seconds(20)
        let configure: (inout PostgresJournalStore.Configuration) -> Void = { $0.statementTimeout = timeout }
        try await TestDatabase.withStore(schema: TestDatabase.schema("statement_timeout"), configure: configure) {
            store in
            let logger = Logger(label: "test")
            let schema = store.configuration.schema
            let stuck = try await store.open("stuck", options: JournalOptions(durability: .synced), logger: logger)
            let other = try await store.open("other", options: JournalOptions(durability: .synced), logger: logger)
            _ = try await stuck.submit(contentsOf: [[1]]).value()
            // An insert of the stuck journal's next frame waits in the server (until ended below).
            try await store.rows(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE FUNCTION "\(schema)".stall() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN
                            IF NEW.first_sequence = 2 AND NEW.journal = (SELECT id FROM "\(schema)".journals WHERE name = 'stuck') THEN
                                PERFORM pg_sleep(600);
                            END IF;
                            RETURN NEW;
                        END $$
                        """))
            try await store.rows(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TRIGGER stall BEFORE INSERT ON "\(schema)".frames
                        FOR EACH ROW EXECUTE FUNCTION "\(schema)".stall()
                        """))

            let refused = await #expect(throws: JournalError.self) {
                _ = try await stuck.submit(contentsOf: [[2]]).value()
            }
            #expect(refused?.code == .syncFailed, "\(String(describing: refused))")
            let interrupted = refused?.cause as? PostgresStatementInterrupted
            #expect(interrupted?.reason == .timedOut(timeout), "\(String(describing: refused))")
            // The server goes on running a statement whose connection closed (until it writes to
            // it): the stalled backend is ended here, so that its locks do not hold the schema's drop.
            try await store.rows(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                        WHERE pid <> pg_backend_pid() AND wait_event = 'PgSleep' AND query LIKE '%\(schema)%'
                        """))
            // The journal is not appended to again (the outcome of its round is unknown).
            await #expect(throws: JournalError.self) { _ = try await stuck.submit(contentsOf: [[3]]).value() }
            // The store goes on: another journal appends (the trigger stalls only the stuck one's
            // frame; dropping it here raced the stalled backend's locks, and the schema goes anyway).
            _ = try await other.submit(contentsOf: [[9]]).value()
        }
    }
}
