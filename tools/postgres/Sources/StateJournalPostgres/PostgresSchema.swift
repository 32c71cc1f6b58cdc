import Logging
import PostgresNIO
@_spi(JournalStores) import StateJournalStorage

/// The store's tables, in one PostgreSQL schema of their own.
///
/// - `nodes`: one row per running store (a "node"): its lease and the server backend of the
///   connection that renews it, so a node that died is seen at once (its backend is gone) and a
///   node that stopped answering once its lease ran out.
/// - `journals`: one row per journal: its name (and the SHA-256 of its NFC form, unique), the
///   owner epoch (incremented by every take-over), the owning node, the salt that seeds its frame
///   CRCs, and whether its last owner stopped it normally.
/// - `frames`: the journal's version-1 frames, one per row, keyed (journal, first sequence,
///   kind): kind 1 holds messages, kind 0 a state digest recorded after message
///   `first_sequence - 1`. No global sequence: journals never contend for one counter.
/// - `snapshots`: at most one per journal.
/// - `quarantined`: frames moved aside by a quarantine, never dropped.
struct PostgresSchema: Sendable {
    let schema: String
    var nodes: String { "\"\(schema)\".nodes" }
    var journals: String { "\"\(schema)\".journals" }
    var frames: String { "\"\(schema)\".frames" }
    var snapshots: String { "\"\(schema)\".snapshots" }
    var quarantined: String { "\"\(schema)\".quarantined" }
    var commitFrames: String { "\"\(schema)\".commit_frames" }

    /// A schema name PostgreSQL takes unquoted: lower-case ASCII letters, digits and `_`, not
    /// starting with a digit, at most 63 bytes.
    static func isValid(_ schema: String) -> Bool {
        guard let first = schema.utf8.first, schema.utf8.count <= 63,
            !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { return false }
        return schema.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    /// The statements that create the schema; each is idempotent.
    var creation: [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \"\(schema)\"",
            """
            CREATE TABLE IF NOT EXISTS \(nodes) (
                id uuid PRIMARY KEY,
                name text NOT NULL,
                lease_until timestamptz NOT NULL,
                backend_pid integer NOT NULL,
                backend_start timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(journals) (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name_key bytea NOT NULL UNIQUE,
                name text NOT NULL,
                epoch bigint NOT NULL DEFAULT 0,
                owner uuid,
                salt bigint NOT NULL,
                base_sequence bigint NOT NULL DEFAULT 1,
                stopped_cleanly boolean NOT NULL DEFAULT false,
                created timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(frames) (
                journal bigint NOT NULL,
                first_sequence bigint NOT NULL,
                kind smallint NOT NULL,
                frame bytea NOT NULL,
                PRIMARY KEY (journal, first_sequence, kind)
            ) WITH (fillfactor = 100)
            """,
            // Frames are LZ4 already: PostgreSQL's own compression would only cost CPU.
            "ALTER TABLE \(frames) ALTER COLUMN frame SET STORAGE EXTERNAL",
            """
            CREATE TABLE IF NOT EXISTS \(snapshots) (
                journal bigint PRIMARY KEY,
                sequence bigint NOT NULL,
                state bytea NOT NULL,
                created timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS \(quarantined) (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                journal_name text NOT NULL,
                from_sequence bigint NOT NULL,
                epoch bigint NOT NULL,
                frames bytea[] NOT NULL,
                moved timestamptz NOT NULL DEFAULT now()
            )
            """,
            // A commit round's statement, as a procedure that commits before it answers.
            //
            // Committed before the answer: with the extended query protocol a statement's rows and
            // `CommandComplete` are produced before the commit at the following `Sync`; whatever
            // flushes the server's output meanwhile (a notice; an immediate shutdown, which warns
            // the client before its backends exit) hands them to the client before a commit that
            // may fail or never happen. Here the counts are produced after the `COMMIT`, so an
            // answer is a commit (at the procedure's `synchronous_commit`).
            //
            // Kept as PL/pgSQL for its plan, kept per session (the same statement sent as a query
            // was planned on every round, which took longer than the insert). Each journal's rows
            // are inserted only while its epoch is the owner's and its last row (`p_after_*`, -1
            // for none) is still there; the journal rows are share-locked, so a take-over waits
            // for the round or makes it insert nothing for that journal. The plan must stay good
            // whatever the tables' sizes: per journal one index probe of `journals` and one of
            // `frames` (a scalar subquery: as `EXISTS` under an `OR`, a plan made while `frames`
            // was small hashed the whole table on every round), then the rows of the ready
            // journals. Answers the journals written to and the rows inserted for each.
            """
            CREATE OR REPLACE PROCEDURE \(commitFrames)(
                p_journals int8[], p_firsts int8[], p_kinds int2[], p_frames bytea[],
                p_ids int8[], p_epochs int8[], p_after_firsts int8[], p_after_kinds int2[],
                p_synchronous_commit text, INOUT journal_ids int8[] DEFAULT NULL, INOUT row_counts int8[] DEFAULT NULL)
            LANGUAGE plpgsql AS $body$
            DECLARE
                v_ids int8[];
                v_counts int8[];
            BEGIN
                PERFORM set_config('synchronous_commit', p_synchronous_commit, true);
                WITH ready AS (
                    SELECT j.id
                    FROM unnest(p_ids, p_epochs, p_after_firsts, p_after_kinds)
                        AS h(id, epoch, after_first, after_kind)
                    JOIN \(journals) j ON j.id = h.id AND j.epoch = h.epoch
                    WHERE h.after_first < 0 OR coalesce((
                        SELECT true FROM \(frames) f
                        WHERE f.journal = h.id AND f.first_sequence = h.after_first AND f.kind = h.after_kind), false)
                    FOR SHARE OF j),
                inserted AS (
                    INSERT INTO \(frames) (journal, first_sequence, kind, frame)
                    SELECT i.journal, i.first_sequence, i.kind, i.frame
                    FROM unnest(p_journals, p_firsts, p_kinds, p_frames) AS i(journal, first_sequence, kind, frame)
                    WHERE i.journal = ANY (ARRAY(SELECT id FROM ready))
                    RETURNING journal),
                counted AS (SELECT inserted.journal, count(*) AS n FROM inserted GROUP BY inserted.journal)
                SELECT coalesce(array_agg(counted.journal), '{}'), coalesce(array_agg(counted.n), '{}')
                INTO v_ids, v_counts FROM counted;
                COMMIT;
                journal_ids := v_ids;
                row_counts := v_counts;
            END
            $body$
            """,
        ]
    }
}

extension PSQLError {
    /// The server rejected the statement (it was rolled back, definitively), as opposed to a
    /// connection that failed with the outcome unknown.
    var isServerError: Bool { code == .server }

    var serverMessage: String {
        guard let info = serverInfo else { return "\(code)" }
        let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
        return (info[.message] ?? "\(code)") + state
    }
}

/// A JournalError for a failed database call: server errors say what the server said,
/// connection errors that the outcome is unknown.
func journalError(_ error: any Error, _ what: String, location: String, code: JournalError.Code = .ioFailure)
    -> JournalError
{
    if let error = error as? JournalError { return error }
    if let error = error as? PSQLError {
        if error.isServerError {
            return JournalError(
                code: code, message: "\(what): PostgreSQL refused: \(error.serverMessage)", path: location,
                cause: error)
        }
        return JournalError(
            code: code, message: "\(what): the connection to PostgreSQL failed (\(error.code)); the outcome is unknown",
            path: location, cause: error)
    }
    if error is CancellationError {
        return JournalError(code: .cancelled, message: "\(what): cancelled", path: location, cause: error)
    }
    return JournalError(code: code, message: "\(what): \(error)", path: location, cause: error)
}
