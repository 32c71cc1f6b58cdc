import Foundation
import Logging
public import StateJournal

/// Replays journals committed by older versions of a program (golden files under `fixtures/`)
/// with the current types, for tests that old journals still replay to the right state after
/// the types changed (see ``SchemaEvolution``).
///
/// ```swift
/// let state = try await JournalFixtureReplay.state(
///     ofJournal: "fixtures/cart-7.journal", as: ChildSpec(id: "cart-7", process: Cart()).evolving(schema))
/// #expect(state == Cart.State(lines: ["apple": 2, "fig": 3]))
/// ```
public enum JournalFixtureReplay {
    /// The state `spec`'s process rebuilds from the journal at `path` (and its snapshot beside
    /// it, `path + ".snapshot"`, if any). The files are copied into a temporary directory first,
    /// so the fixture is never changed; the journal is named for `spec.id` there. Throws what
    /// the start throws: a replay error says which message did not decode.
    public static func state<P: JournaledProcess>(ofJournal path: String, as spec: ChildSpec<P>) async throws -> P.State
    {
        let directory = TemporaryJournalDirectory("fixture-replay")
        let target = directory.file(JournalNaming.fileName(for: spec.id))
        try FileManager.default.copyItem(atPath: path, toPath: target)
        if FileManager.default.fileExists(atPath: path + ".snapshot") {
            try FileManager.default.copyItem(atPath: path + ".snapshot", toPath: target + ".snapshot")
        }
        var spec = spec
        spec.options.retention = .persistent
        spec.options.journal.idleTimeout = nil
        let supervisor = Supervisor(
            directory: directory.path,
            logger: Logger(label: "statejournal.fixture-replay") { _ in SwiftLogNoOpLogHandler() })
        return try await supervisor.run {
            let handle = try await supervisor.start(spec)
            return try await handle.read { $0 }
        }
    }
}
