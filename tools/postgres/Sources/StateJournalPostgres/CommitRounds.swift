import Logging
import PostgresNIO
@_spi(JournalStores) import StateJournalStorage
import Synchronization

/// The journals this node has open, by name: a second open of one of them is refused here, and a
/// journal whose handle ended (closed, abandoned, failed) may be taken again by this node.
final class OpenJournals: Sendable {
    private struct Entry {
        weak var journal: PostgresJournal?
    }
    private struct State {
        var journals: [String: Entry] = [:]
        var opening: Set<String> = []
    }
    private let state = Mutex(State())

    func reserve(_ name: String, location: String) throws(JournalError) {
        try state.withLock { state throws(JournalError) in
            if state.opening.contains(name) || state.journals[name]?.journal?.isHealthy == true {
                throw JournalError(code: .locked, message: "this node owns the journal already", path: location)
            }
            state.opening.insert(name)
            if state.journals.count > 1024 { state.journals = state.journals.filter { $0.value.journal != nil } }
        }
    }

    func release(_ name: String, opened journal: PostgresJournal?) {
        state.withLock { state in
            state.opening.remove(name)
            if let journal { state.journals[name] = Entry(journal: journal) }
        }
    }
}

extension PostgresJournalStore {
    /// Takes rounds from the queue and commits them, up to `roundsInFlight` at once, until cancelled.
    func commitRounds() async {
        await withTaskGroup(of: Void.self) { rounds in
            var inFlight = 0
            while true {
                if inFlight >= max(1, configuration.roundsInFlight) {
                    await rounds.next()
                    inFlight -= 1
                    continue
                }
                let limit = max(1, configuration.journalsPerRound)
                guard var journals = await queue.next(limit: limit) else { break }
                if inFlight > 0 && journals.count < limit {
                    // A round just answered wakes its journals' senders, which append again one
                    // after the other; the first of them woke this loop. One turn of the pool
                    // lets the others join this round instead of each starting a round of its
                    // own (a commit, a WAL flush, for one journal).
                    await Task.yield()
                    journals += queue.take(limit: limit - journals.count)
                }
                inFlight += 1
                rounds.addTask { await self.commit(journals) }
            }
            await rounds.waitForAll()
        }
        for journal in queue.stop() {
            journal.fail(JournalError(code: .closed, message: "the store stopped running", path: journal.location))
        }
    }

    /// One journal's share of a round.
    private struct Work {
        let journal: PostgresJournal
        let items: [PostgresJournal.Item]
        let rows: [FrameRow]
    }

    /// Commits one round: the frames of every journal in one statement per durability class,
    /// then each journal's control, then acknowledges.
    func commit(_ journals: [PostgresJournal]) async {
        var synced: [Work] = []
        var written: [Work] = []
        for journal in journals {
            let items = journal.takeItems(bytes: configuration.bytesPerRound)
            if items.isEmpty {
                journal.endRound()
                continue
            }
            let work = Work(journal: journal, items: items, rows: journal.rows(for: items))
            if journal.durability == .synced { synced.append(work) } else { written.append(work) }
        }
        async let syncedOutcomes = insert(synced, synchronous: true)
        async let writtenOutcomes = insert(written, synchronous: false)
        let outcomes = Array(zip(synced, await syncedOutcomes)) + Array(zip(written, await writtenOutcomes))
        for (work, outcome) in outcomes {
            await finish(work, outcome)
        }
    }

    /// Acknowledges a journal's share of a round (or fails it), runs its control, queues it again.
    private func finish(_ work: Work, _ outcome: Result<Void, JournalError>) async {
        let journal = work.journal
        switch outcome {
        case .failure(let error):
            journal.fail(error, alsoFailing: work.items)
        case .success:
            var control: (PostgresJournal.Control, Completion<String>)?
            for item in work.items {
                switch item {
                case .messages(let first, let messages, let ticket?):
                    ticket.complete(.success(first...(first + UInt64(messages.count) - 1)))
                case .messages, .digest: break
                case .control(let kind, let completion): control = (kind, completion)
                }
            }
            if let (kind, completion) = control {
                do {
                    let result = try await run(kind, of: journal)
                    completion.complete(.success(result))
                } catch {
                    let failure = journalError(error, "\(kind)", location: journal.location)
                    completion.complete(.failure(failure))
                    if case .close = kind {
                        journal.end()
                    } else if failure.code != .invalidArgument {
                        journal.fail(failure)
                    }
                }
            }
        }
        journal.endRound()
    }

    /// Inserts the rows of `works` in one statement (the schema's `commit_frames`, which commits before it answers), each journal's
    /// rows only while its epoch is the owner's and its last row is still there (see `FrameKey`).
    private func insert(_ works: [Work], synchronous: Bool) async -> [Result<Void, JournalError>] {
        guard works.contains(where: { !$0.rows.isEmpty }) else { return works.map { _ in .success(()) } }
        do {
            let counts = try await insertStatement(works, synchronous: synchronous)
            var outcomes: [Result<Void, JournalError>] = []
            for work in works {
                if counts[work.journal.id, default: 0] == work.rows.count {
                    if let last = work.rows.last { work.journal.lastRow = last.key }
                    outcomes.append(.success(()))
                } else {
                    outcomes.append(.failure(await appendRefused(work.journal)))
                }
            }
            return outcomes
        } catch let error as PSQLError where error.isServerError && works.count > 1 {
            // The server rolled the statement back: nothing of it was committed. Commit each
            // journal alone, so that a row one journal cannot write fails that journal only.
            var outcomes: [Result<Void, JournalError>] = []
            for work in works { outcomes += await insert([work], synchronous: synchronous) }
            return outcomes
        } catch {
            let failure = journalError(
                error, synchronous ? "committing the round (synchronous_commit on)" : "committing the round",
                location: works.count == 1 ? works[0].journal.location : "postgres:\(configuration.schema)",
                code: synchronous ? .syncFailed : .writeFailed)
            return works.map { _ in .failure(failure) }
        }
    }

    private func insertStatement(_ works: [Work], synchronous: Bool) async throws -> [Int64: Int] {
        var journals: [Int64] = []
        var firsts: [Int64] = []
        var kinds: [Int16] = []
        var frames: [ByteBuffer] = []
        var ids: [Int64] = []
        var epochs: [Int64] = []
        var afterFirsts: [Int64] = []
        var afterKinds: [Int16] = []
        for work in works where !work.rows.isEmpty {
            ids.append(work.journal.id)
            epochs.append(work.journal.epoch)
            let after = work.journal.lastRow
            afterFirsts.append(after?.firstSequence ?? -1)
            afterKinds.append(after?.kind ?? -1)
            for row in work.rows {
                journals.append(work.journal.id)
                firsts.append(Int64(row.firstSequence))
                kinds.append(row.kind)
                frames.append(ByteBuffer(bytes: row.frame))
            }
        }
        let commit = synchronous ? "on" : "off"
        let rows = try await rows(
            """
            CALL \(unescaped: tables.commitFrames)(
                \(journals)::int8[], \(firsts)::int8[], \(kinds)::int2[], \(frames)::bytea[],
                \(ids)::int8[], \(epochs)::int8[], \(afterFirsts)::int8[], \(afterKinds)::int2[], \(commit), NULL, NULL)
            """)
        var counts: [Int64: Int] = [:]
        for row in rows {
            let (journals, rowCounts) = try row.decode(([Int64], [Int64]).self)
            for (journal, count) in zip(journals, rowCounts) { counts[journal] = Int(count) }
        }
        return counts
    }

    /// Why a round inserted nothing for `journal`: another owner took it (``JournalError/Code/fenced``),
    /// its row is gone (``JournalError/Code/replaced``), or its last row is (``JournalError/Code/writeFailed``).
    private func appendRefused(_ journal: PostgresJournal) async -> JournalError {
        if let lost = await lostOwnership(
            id: journal.id, epoch: journal.epoch, location: journal.location, what: "appending")
        {
            return lost
        }
        let last = journal.lastRow.map { "(first sequence \($0.firstSequence), kind \($0.kind))" } ?? ""
        return JournalError(
            code: .writeFailed,
            message:
                "appending: the database no longer holds this journal's last committed row \(last): commits it had acknowledged were lost (a server crash after .written commits, or rows removed behind the owner); nothing is appended after the hole, and nothing more is acknowledged",
            path: journal.location, sequence: journal.lastRow.map { UInt64($0.firstSequence) })
    }

    // MARK: Controls

    /// Runs `control` for `journal` (its frames before it are committed).
    private func run(_ control: PostgresJournal.Control, of journal: PostgresJournal) async throws -> String {
        switch control {
        case .flush:
            try await touch(journal, what: "flushing")
            return ""
        case .snapshot(let bytes, let sequence):
            try await snapshot(journal, bytes, through: sequence)
            return ""
        case .quarantine(let from):
            return try await quarantine(journal, from: from)
        case .close(let discard):
            try await close(journal, discard: discard)
            return ""
        }
    }

    /// A synchronous no-op write on the journal's row at the owner's epoch: once it commits, every
    /// earlier commit (also the asynchronous ones) is flushed, and the journal is still this owner's.
    private func touch(_ journal: PostgresJournal, what: String) async throws {
        let touched = try await committedRows(
            """
            WITH settings AS (SELECT set_config('synchronous_commit', 'on', true))
            UPDATE \(unescaped: tables.journals) SET epoch = epoch FROM settings
            WHERE id = \(journal.id) AND epoch = \(journal.epoch) RETURNING id
            """)
        if touched.isEmpty {
            throw await ownershipLost(id: journal.id, epoch: journal.epoch, location: journal.location, what: what)
        }
    }

    /// Locks the journal's row at the owner's epoch within `transaction`, or throws
    /// why it is no longer this owner's.
    private func lockOwned(_ journal: PostgresJournal, _ transaction: Transaction, what: String, exclusive: Bool)
        async throws
    {
        let mode = exclusive ? "UPDATE" : "SHARE"
        let locked = try await transaction.rows(
            """
            SELECT id FROM \(unescaped: tables.journals) WHERE id = \(journal.id) AND epoch = \(journal.epoch)
            FOR \(unescaped: mode)
            """)
        if locked.isEmpty {
            throw await ownershipLost(id: journal.id, epoch: journal.epoch, location: journal.location, what: what)
        }
    }

    /// Stores the snapshot and drops the frames the previous snapshot covered (one snapshot's
    /// worth is kept, so a reader that began before this snapshot still finds its frames).
    private func snapshot(_ journal: PostgresJournal, _ bytes: [UInt8], through sequence: UInt64) async throws {
        try await transaction { transaction in
            try await transaction.rows("SET LOCAL synchronous_commit = on")
            try await lockOwned(journal, transaction, what: "writing a snapshot", exclusive: false)
            try await transaction.rows(
                """
                WITH previous AS (SELECT sequence FROM \(unescaped: tables.snapshots) WHERE journal = \(journal.id)),
                boundary AS (
                    SELECT max(first_sequence) AS first FROM \(unescaped: tables.frames)
                    WHERE journal = \(journal.id) AND kind = 1
                      AND first_sequence <= (SELECT sequence FROM previous) + 1)
                DELETE FROM \(unescaped: tables.frames)
                WHERE journal = \(journal.id) AND first_sequence < (SELECT first FROM boundary)
                """)
            try await transaction.rows(
                """
                INSERT INTO \(unescaped: tables.snapshots) (journal, sequence, state)
                VALUES (\(journal.id), \(Int64(sequence)), \(ByteBuffer(bytes: bytes)))
                ON CONFLICT (journal) DO UPDATE SET sequence = EXCLUDED.sequence, state = EXCLUDED.state,
                    created = now()
                """)
        }
    }

    /// Moves the messages from `from` on into the quarantine table (the frames as they were) and
    /// cuts them from the journal; a frame holding messages on both sides is written again with
    /// the ones before `from`.
    private func quarantine(_ journal: PostgresJournal, from: UInt64) async throws -> String {
        try await transaction { transaction in
            try await transaction.rows("SET LOCAL synchronous_commit = on")
            try await lockOwned(journal, transaction, what: "quarantining", exclusive: true)
            let rows = try await transaction.rows(
                """
                SELECT first_sequence, kind, frame FROM \(unescaped: tables.frames)
                WHERE journal = \(journal.id) AND first_sequence >= coalesce(
                    (SELECT max(first_sequence) FROM \(unescaped: tables.frames)
                     WHERE journal = \(journal.id) AND kind = 1 AND first_sequence <= \(Int64(from))), \(Int64(from)))
                ORDER BY first_sequence, kind
                """)
            var moved: [ByteBuffer] = []
            var lowest: Int64?
            var kept: (first: UInt64, messages: [[UInt8]])?
            for row in rows {
                let (first, kind, frame) = try row.decode((Int64, Int16, ByteBuffer).self)
                lowest = lowest ?? first
                moved.append(frame)
                guard kind == 1, UInt64(first) < from else { continue }
                if case .messages(let firstSequence, let messages) = try journal.codec.decode(
                    Array(frame.readableBytesView), location: journal.location)
                {
                    kept = (firstSequence, Array(messages.prefix(Int(from - firstSequence))))
                }
            }
            if let lowest {
                try await transaction.rows(
                    "DELETE FROM \(unescaped: tables.frames) WHERE journal = \(journal.id) AND first_sequence >= \(lowest)"
                )
            }
            if let kept, !kept.messages.isEmpty {
                let frame = journal.codec.messagesFrame(
                    kept.messages, firstSequence: kept.first, compress: journal.compress)
                try await transaction.rows(
                    """
                    INSERT INTO \(unescaped: tables.frames) (journal, first_sequence, kind, frame)
                    VALUES (\(journal.id), \(Int64(kept.first)), 1, \(ByteBuffer(bytes: frame)))
                    """)
            }
            // The rows left end the journal now; the next append follows the last of them.
            let last = try await transaction.rows(
                """
                SELECT first_sequence, kind FROM \(unescaped: tables.frames) WHERE journal = \(journal.id)
                ORDER BY first_sequence DESC, kind DESC LIMIT 1
                """)
            var lastRow: FrameKey?
            for row in last {
                let (first, kind) = try row.decode((Int64, Int16).self)
                lastRow = FrameKey(firstSequence: first, kind: kind)
            }
            let aside = try await transaction.rows(
                """
                INSERT INTO \(unescaped: tables.quarantined) (journal_name, from_sequence, epoch, frames)
                VALUES (\(journal.name), \(Int64(from)), \(journal.epoch), \(moved)::bytea[]) RETURNING id
                """)
            var id: Int64 = 0
            for row in aside { id = try row.decode(Int64.self) }
            journal.lastRow = lastRow
            return "postgres:\(configuration.schema)/quarantined/\(id)"
        }
    }

    /// A normal stop: the journal is kept (its owner cleared, `stopped_cleanly` set) or removed
    /// with its frames and snapshot, in one transaction.
    private func close(_ journal: PostgresJournal, discard: Bool) async throws {
        defer { journal.end() }
        if discard {
            try await transaction { transaction in
                try await transaction.rows("SET LOCAL synchronous_commit = on")
                try await lockOwned(journal, transaction, what: "discarding", exclusive: true)
                try await transaction.rows("DELETE FROM \(unescaped: tables.frames) WHERE journal = \(journal.id)")
                try await transaction.rows("DELETE FROM \(unescaped: tables.snapshots) WHERE journal = \(journal.id)")
                try await transaction.rows("DELETE FROM \(unescaped: tables.journals) WHERE id = \(journal.id)")
            }
        } else {
            let released = try await committedRows(
                """
                WITH settings AS (SELECT set_config('synchronous_commit', 'on', true))
                UPDATE \(unescaped: tables.journals) SET owner = NULL, stopped_cleanly = true FROM settings
                WHERE id = \(journal.id) AND epoch = \(journal.epoch) RETURNING id
                """)
            if released.isEmpty {
                throw await ownershipLost(
                    id: journal.id, epoch: journal.epoch, location: journal.location, what: "closing")
            }
        }
    }
}
