import Foundation
import Logging
import PostgresNIO
import StateJournalPostgres
import Testing

/// The server the tests use: `STATEJOURNAL_POSTGRES_URL` (set by `.ci/run`, or by
/// `eval "$(tools/postgres/scripts/test-server.sh start)"`).
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["STATEJOURNAL_POSTGRES_URL"]
    static let skipReason: Comment =
        "STATEJOURNAL_POSTGRES_URL is not set: these tests need a PostgreSQL server (eval \"$(tools/postgres/scripts/test-server.sh start)\")"
    static var isAvailable: Bool { url != nil }

    static var configuration: PostgresClient.Configuration {
        guard let url, let configuration = PostgresClient.Configuration(url: url) else {
            fatalError("STATEJOURNAL_POSTGRES_URL is not a postgres:// URL")
        }
        return configuration
    }

    /// A schema name of its own for one test.
    static func schema(_ label: String) -> String {
        let clean = label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return "t_" + String(clean.prefix(30)) + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Runs `body` with a running client and store on a new schema, dropped afterwards.
    static func withStore<R: Sendable>(
        schema: String, lease: Duration = .seconds(2),
        configure: (inout PostgresJournalStore.Configuration) -> Void = { _ in },
        _ body: @Sendable (PostgresJournalStore) async throws -> R
    ) async throws -> R {
        let client = PostgresClient(configuration: configuration)
        var settings = PostgresJournalStore.Configuration()
        settings.schema = schema
        settings.lease = lease
        configure(&settings)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = PostgresJournalStore(client: client, configuration: settings, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask { try await store.run() }
            do {
                try await store.prepare()
                let result = try await body(store)
                try await dropSchema(schema, store)
                group.cancelAll()
                return result
            } catch {
                _ = try? await store.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
                group.cancelAll()
                throw error
            }
        }
    }

    /// Drops a test's schema. A drop can lose a deadlock to a statement of the test still ending
    /// in the server (a stalled backend, a lease renewal); it is tried again, up to five times.
    static func dropSchema(_ schema: String, _ store: PostgresJournalStore) async throws {
        for attempt in 1...5 {
            do {
                try await store.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
                return
            } catch  where attempt < 5 {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
