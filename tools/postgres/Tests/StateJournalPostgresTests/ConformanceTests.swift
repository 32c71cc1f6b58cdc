import PostgresNIO
import StateJournal
import StateJournalPostgres
import StateJournalTesting
import Testing

/// The PostgreSQL store passes the store conformance suite of the test kit, every check, against
/// a real server.
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason))
struct ConformanceTests {
    @Test(arguments: JournalStoreConformance.Check.allCases)
    func thePostgresStoreKeepsEveryPromise(_ check: JournalStoreConformance.Check) async throws {
        try await TestDatabase.withStore(schema: TestDatabase.schema("conformance_\(check)")) { store in
            let suite = JournalStoreConformance(
                makeStore: { store },
                removeBehindOwner: { _, name in
                    // Behind the owner's back: its row and frames deleted by another client.
                    try await store.rows(
                        PostgresQuery(
                            unsafeSQL: """
                                WITH j AS (DELETE FROM "\(store.configuration.schema)".journals WHERE name = $1 RETURNING id)
                                DELETE FROM "\(store.configuration.schema)".frames WHERE journal IN (SELECT id FROM j)
                                """, binds: binds(name)))
                },
                failDurableWrites: { _, name in
                    // The server itself refuses every frame of the journal's current owner (a
                    // trigger raising an error), as a full disk or a broken constraint would.
                    let schema = store.configuration.schema
                    try await store.rows(
                        PostgresQuery(
                            unsafeSQL: """
                                CREATE OR REPLACE FUNCTION "\(schema)".refuse() RETURNS trigger LANGUAGE plpgsql AS $f$
                                BEGIN
                                    IF (SELECT epoch FROM "\(schema)".journals WHERE id = NEW.journal) = TG_ARGV[1]::bigint THEN
                                        RAISE EXCEPTION 'injected: the disk is full';
                                    END IF;
                                    RETURN NEW;
                                END $f$
                                """))
                    let rows = try await store.rows(
                        PostgresQuery(
                            unsafeSQL: "SELECT id, epoch FROM \"\(schema)\".journals WHERE name = $1",
                            binds: binds(name)))
                    for row in rows {
                        let (id, epoch) = try row.decode((Int64, Int64).self)
                        try await store.rows(
                            PostgresQuery(
                                unsafeSQL: """
                                    CREATE TRIGGER refuse BEFORE INSERT ON "\(schema)".frames FOR EACH ROW
                                    WHEN (NEW.journal = \(id)) EXECUTE FUNCTION "\(schema)".refuse('\(id)', '\(epoch)')
                                    """))
                    }
                    // The fault holds for that owner's epoch; a new owner (a new epoch) writes again.
                    return {}
                })
            try await suite.run(check)
        }
    }
}

func binds(_ values: String...) -> PostgresBindings {
    var bindings = PostgresBindings()
    for value in values { bindings.append(value) }
    return bindings
}
