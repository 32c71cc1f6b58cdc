import Logging
import PostgresNIO
import Synchronization

/// Why a statement was given up before the server answered it.
public struct PostgresStatementInterrupted: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable, Equatable {
        /// The connection closed before the answer came (the server crashed or restarted, the
        /// network dropped it). The statement may or may not have been committed.
        case connectionClosed
        /// No answer within the store's `statementTimeout`; the connection was closed.
        case timedOut(Duration)
        /// The waiting task was cancelled; the statement goes on on its connection.
        case cancelled
    }
    public var reason: Reason

    public var description: String {
        switch reason {
        case .connectionClosed:
            "the connection closed before the server answered (the statement's outcome is unknown)"
        case .timedOut(let timeout):
            "the server did not answer within \(timeout) (the connection was closed; the statement's outcome is unknown)"
        case .cancelled:
            "cancelled while waiting for the server's answer"
        }
    }
}

extension PostgresConnection {
    /// Runs `query`, handing each row to `onRow` (on the connection's event loop), and returns
    /// once the server answered it. Throws ``PostgresStatementInterrupted`` when the connection
    /// closes first, when `timeout` passes (and closes the connection), or when the waiting task
    /// is cancelled.
    ///
    /// postgres-nio (1.33) writes a query to its channel without a promise for the write: a query
    /// written to a connection that closed meanwhile — the moments after a server's crash — is
    /// dropped with its promise, and awaiting its own query methods never returns. Here the
    /// answer races a watch on the connection (closed already, or found closed by a check every
    /// 200 ms while the statement lasts), the deadline and cancellation; the first one wins.
    func answer(
        _ query: PostgresQuery, logger: Logger, timeout: Duration?,
        onRow: @escaping @Sendable (PostgresRow) throws -> Void = { _ in }
    ) async throws {
        if isClosed { throw PostgresStatementInterrupted(reason: .connectionClosed) }
        let loop = eventLoop
        let outcome = loop.makePromise(of: Void.self)
        let decided = Atomic<Bool>(false)
        let decide: @Sendable (Result<Void, any Error>) -> Void = { result in
            if !decided.exchange(true, ordering: .acquiringAndReleasing) { outcome.completeWith(result) }
        }
        self.query(query, logger: logger, onRow).whenComplete { decide($0.map { _ in () }) }
        let check = Duration.milliseconds(200)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let watch = loop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .milliseconds(200)) {
            [self] task in
            if isClosed {
                decide(.failure(PostgresStatementInterrupted(reason: .connectionClosed)))
                task.cancel()
            } else if let deadline, let timeout, ContinuousClock.now >= deadline - check / 2 {
                decide(.failure(PostgresStatementInterrupted(reason: .timedOut(timeout))))
                _ = self.close() as EventLoopFuture<Void>
                task.cancel()
            }
        }
        defer { watch.cancel() }
        do {
            try await withTaskCancellationHandler {
                try await outcome.futureResult.get()
            } onCancel: {
                decide(.failure(PostgresStatementInterrupted(reason: .cancelled)))
            }
        } catch let interrupted as PostgresStatementInterrupted where interrupted.reason != .cancelled {
            // The connection goes back to the pool only once it is closed: given back while it
            // was still closing, the pool handed it to the next statement, which then failed
            // (`clientClosedConnection`) and failed a journal that had nothing to do with it.
            try? await closeFuture.get()
            throw interrupted
        }
    }

    /// The rows of `query` (see ``answer(_:logger:timeout:onRow:)``).
    func rows(_ query: PostgresQuery, logger: Logger, timeout: Duration?) async throws -> [PostgresRow] {
        let rows = RowCollector()
        try await answer(query, logger: logger, timeout: timeout) { rows.append($0) }
        return rows.take()
    }
}

/// Rows collected by a row callback (which runs on the connection's event loop).
final class RowCollector: Sendable {
    private let rows = Mutex<[PostgresRow]>([])
    func append(_ row: PostgresRow) { rows.withLock { $0.append(row) } }
    func take() -> [PostgresRow] { rows.withLock { $0 } }
}

extension PostgresJournalStore {
    /// Runs `query` on a connection of the store's client and returns its rows: the way the
    /// store runs its own statements, for statements of yours on the same database.
    ///
    /// Unlike `client.query`, it never waits without end. It throws
    /// ``PostgresStatementInterrupted`` when the server does not answer within the
    /// configuration's `statementTimeout` (the connection is then closed), when the connection
    /// closes first (a query postgres-nio wrote to a connection closing under it is otherwise
    /// never answered), or when the waiting task is cancelled. In the first two cases the
    /// statement's outcome is unknown.
    @discardableResult
    public func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.withConnection { connection in
            try await connection.rows(query, logger: logger, timeout: configuration.statementTimeout)
        }
    }

    /// The rows of `query`, answered only once its transaction is committed: in a transaction of
    /// its own, whose `COMMIT` answers after the commit. (A statement's own answer comes before
    /// the commit of its implicit transaction, and can reach the client when that commit then
    /// fails or never happens; see `commit_frames` in ``PostgresSchema``.)
    func committedRows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await transaction { try await $0.rows(query) }
    }

    /// Runs `body` in a transaction on one connection of the pool: committed when it returns,
    /// rolled back when it throws (a rollback that fails closes the connection instead).
    func transaction<R: Sendable>(_ body: (Transaction) async throws -> R) async throws -> R {
        try await client.withConnection { connection in
            let transaction = Transaction(
                connection: connection, logger: logger, timeout: configuration.statementTimeout)
            try await transaction.rows("BEGIN")
            let result: R
            do {
                result = try await body(transaction)
            } catch {
                do { try await transaction.rows("ROLLBACK") } catch { _ = connection.close() as EventLoopFuture<Void> }
                throw error
            }
            try await transaction.rows("COMMIT")
            return result
        }
    }

    /// One connection in an open transaction.
    struct Transaction {
        let connection: PostgresConnection
        let logger: Logger
        let timeout: Duration?

        @discardableResult
        func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
            try await connection.rows(query, logger: logger, timeout: timeout)
        }
    }
}
