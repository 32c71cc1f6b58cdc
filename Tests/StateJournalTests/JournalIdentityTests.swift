import Foundation
import StateJournal
import Testing

/// A journal is always its own file: a writer whose file is removed or replaced under it
/// acknowledges nothing more, and its process does not restart from whatever the path holds now.
@Suite(.timeLimit(.minutes(2))) struct JournalIdentityTests {
    static func persistent() -> ProcessOptions {
        var options = fastOptions()
        options.retention = .persistent
        return options
    }

    /// Another process's journal moved over a live writer's file, then a crash in this OS
    /// process: the restart fails with a clear error instead of replaying the other journal
    /// (before: the state came back as the other process's, `777`, without an error).
    @Test func aJournalMovedOverALiveOneIsNotReplayed() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let mine = try await supervisor.start(ChildSpec(id: "s", process: Counter(), options: Self.persistent()))
            try await mine.send(1)
            let other = try await supervisor.start(
                ChildSpec(id: "o", process: Counter(), restart: .temporary, options: Self.persistent()))
            try await other.send(777)
            try await other.stop()
            #expect(rename(directory.path + "/o.journal", directory.path + "/s.journal") == 0)
            let failure = await #expect(throws: ProcessError.self) { try await mine.crashAndRestartInPlace() }
            #expect(failure?.code == .journalFailed, "\(String(describing: failure))")
            #expect("\(String(describing: failure))".contains("replaced"))
            // And it stays refused: no later restart replays the other journal either.
            await #expect(throws: ProcessError.self) { try await mine.crashAndRestartInPlace() }
        }
    }

    /// The journal deleted under a live writer: the next send is not acknowledged (before, it
    /// was, into the unlinked file) and a restart does not come back empty.
    @Test func aJournalRemovedUnderItsWriterAcknowledgesNothingMore() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(ChildSpec(id: "d", process: Counter(), options: Self.persistent()))
            try await counter.send(5)
            #expect(unlink(directory.path + "/d.journal") == 0)
            let failure = await #expect(throws: ProcessError.self) { try await counter.send(6) }
            #expect(failure?.code == .journalFailed, "\(String(describing: failure))")
            // Its supervisor's restarts fail with the reason until it gives the child up; the
            // state never comes back empty.
            let read = await #expect(throws: ProcessError.self) { try await counter.state }
            #expect(read?.code == .notRestarted)
            #expect("\(String(describing: read))".contains("removed or replaced"), "\(String(describing: read))")
            #expect(
                !FileManager.default.fileExists(atPath: directory.path + "/d.journal"),
                "no empty journal was created in its place")
        }
    }

    /// One id, one file: ids equal as Swift strings but spelled with different code points
    /// name the same journal (before, the second spelling opened an empty one).
    @Test func equalIdsWithDifferentCodePointsShareOneJournal() async throws {
        let directory = TemporaryDirectory()
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(JournalNaming.fileName(for: composed) == JournalNaming.fileName(for: decomposed))
        let first = Supervisor(directory: directory.path, logger: quietLogger)
        try await first.run {
            let counter = try await first.start(
                ChildSpec(id: composed, process: Counter(), restart: .temporary, options: Self.persistent()))
            try await counter.send(3)
        }
        let second = Supervisor(directory: directory.path, logger: quietLogger)
        try await second.run {
            let counter = try await second.start(
                ChildSpec(id: decomposed, process: Counter(), options: Self.persistent()))
            #expect(try await counter.state == 3)
        }
        #expect(directory.journals == [JournalNaming.fileName(for: composed)])
    }

    /// A journal named by the earlier rule (the id's bytes as spelled) is found and renamed.
    @Test func aJournalUnderTheEarlierNameIsAdopted() async throws {
        let directory = TemporaryDirectory()
        let decomposed = "cafe\u{301}"
        let first = Supervisor(directory: directory.path, logger: quietLogger)
        try await first.run {
            let counter = try await first.start(
                ChildSpec(id: decomposed, process: Counter(), restart: .temporary, options: Self.persistent()))
            try await counter.send(4)
        }
        // As an earlier version named it.
        let legacy = "cafe%CC%81.journal"
        #expect(
            rename(directory.path + "/" + JournalNaming.fileName(for: decomposed), directory.path + "/" + legacy) == 0)
        let second = Supervisor(directory: directory.path, logger: quietLogger)
        try await second.run {
            let counter = try await second.start(
                ChildSpec(id: decomposed, process: Counter(), options: Self.persistent()))
            #expect(try await counter.state == 4)
        }
        #expect(directory.journals == [JournalNaming.fileName(for: decomposed)])
    }
}
