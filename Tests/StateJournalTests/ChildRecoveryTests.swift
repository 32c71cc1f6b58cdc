import Foundation
import StateJournal
import Testing

/// Dynamic children come back after the OS process died: `recoverChildren` starts every
/// journal on disk with its state, and a graceful stop discards unclaimed journals only
/// when the supervisor was asked to.
@Suite(.timeLimit(.minutes(10))) struct ChildRecoveryTests {
    /// 1,000 carts with journals on disk (left by a supervisor cancelled without grace, which
    /// keeps every journal, as a crash of the OS process does). A new supervisor recovers them
    /// all eagerly, each with the state its journal rebuilds.
    @Test func recoversAThousandDynamicChildrenWithTheirState() async throws {
        let directory = TemporaryDirectory()
        let ids = (0..<1000).map { "cart/\($0)" }
        let first = Supervisor(directory: directory.path, logger: quietLogger)
        await #expect(throws: CancellationError.self) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await first.run() }
                for (index, id) in ids.enumerated() {
                    let cart = try await first.child(id: id) {
                        ChildSpec(id: $0, process: Counter(), options: fastOptions())
                    }
                    try await cart.send(index)
                    try await cart.send(1)
                }
                group.cancelAll()
                try await group.waitForAll()
            }
        }
        #expect(directory.journals.count == 1000)

        let second = Supervisor(directory: directory.path, logger: quietLogger)
        try await second.run {
            let recovery = try await second.recoverChildren {
                ChildSpec(id: $0, process: Counter(), options: fastOptions())
            }
            #expect(recovery.skipped.isEmpty, "\(recovery.skipped.prefix(3))")
            #expect(recovery.started.sorted() == ids.sorted())
            for (index, id) in ids.enumerated() {
                let cart = try #require(await second.handle(for: id, as: Counter.self))
                #expect(try await cart.state == index + 1)
            }
            #expect(await second.unclaimedJournals().isEmpty)
            // A second recovery finds nothing left to start.
            #expect(
                try await second.recoverChildren { ChildSpec(id: $0, process: Counter(), options: fastOptions()) }
                    .started.isEmpty)
        }
        #expect(directory.journals.isEmpty, "the recovered transient children were stopped normally")
    }

    /// A journal whose name is a hashed long id cannot be recovered eagerly: it is reported and
    /// left alone; `child(id:orStart:)` with the id brings it back (lazy recovery).
    @Test func aHashedNameIsSkippedAndComesBackLazily() async throws {
        let directory = TemporaryDirectory()
        let long = String(repeating: "x", count: 300)
        let first = Supervisor(directory: directory.path, logger: quietLogger)
        await #expect(throws: CancellationError.self) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await first.run() }
                let child = try await first.child(id: long) {
                    ChildSpec(id: $0, process: Counter(), options: fastOptions())
                }
                try await child.send(7)
                group.cancelAll()
                try await group.waitForAll()
            }
        }
        let second = Supervisor(directory: directory.path, logger: quietLogger)
        try await second.run {
            let recovery = try await second.recoverChildren {
                ChildSpec(id: $0, process: Counter(), options: fastOptions())
            }
            #expect(recovery.started.isEmpty)
            #expect(recovery.skipped.count == 1)
            let child = try await second.child(id: long) {
                ChildSpec(id: $0, process: Counter(), options: fastOptions())
            }
            #expect(try await child.state == 7)
        }
    }

    /// A graceful stop keeps unclaimed journals by default, and discards them when asked.
    @Test func unclaimedJournalsAreDiscardedOnGracefulShutdownOnlyWhenAsked() async throws {
        let directory = TemporaryDirectory()
        let leave = Supervisor(directory: directory.path, logger: quietLogger)
        await #expect(throws: CancellationError.self) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await leave.run() }
                for id in ["a", "b"] {
                    try await leave.child(id: id) { ChildSpec(id: $0, process: Counter(), options: fastOptions()) }
                        .send(1)
                }
                group.cancelAll()
                try await group.waitForAll()
            }
        }
        #expect(directory.journals == ["a.journal", "b.journal"])
        let keeping = Supervisor(directory: directory.path, logger: quietLogger)
        try await keeping.run {}
        #expect(directory.journals == ["a.journal", "b.journal"], "kept by default")

        let discarding = Supervisor(
            directory: directory.path, unclaimedJournals: .discardOnGracefulShutdown, logger: quietLogger)
        try await discarding.run {
            let a = try await discarding.child(id: "a") {
                ChildSpec(id: $0, process: Counter(), restart: .temporary, options: fastOptions())
            }
            #expect(try await a.state == 1)
        }
        #expect(directory.journals.isEmpty, "b was never claimed, and a stopped normally")
    }
}
