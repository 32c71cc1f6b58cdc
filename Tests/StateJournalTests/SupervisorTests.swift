import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import StateJournal
import StateJournalTesting
import Testing

@Suite(.timeLimit(.minutes(10))) struct SupervisorTests {
    func startThree(_ supervisor: Supervisor) async throws -> [ProcessHandle<ChatRoom>] {
        var rooms: [ProcessHandle<ChatRoom>] = []
        for id in ["a", "b", "c"] {
            let room = try await supervisor.start(ChildSpec(id: id, process: ChatRoom(), options: fastOptions()))
            try await room.send(.join("owner-\(id)"))
            rooms.append(room)
        }
        return rooms
    }

    @Test(arguments: [
        (SupervisionStrategy.oneForOne, ["b"]),
        (.oneForAll, ["a", "b", "c"]),
        (.restForOne, ["b", "c"]),
    ])
    func strategyRestartsTheRightChildren(strategy: SupervisionStrategy, expected: [String]) async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, strategy: strategy, logger: quietLogger)
        try await supervisor.run {
            let rooms = try await startThree(supervisor)
            await #expect(throws: ProcessError.self) { try await rooms[1].send(.poison) }
            let events = await supervisor.collect { events in
                Set(events.compactMap(\.restartedID)) == Set(expected)
            }
            #expect(events.compactMap(\.restartedID) == expected, "restarted in start order")
            // Every child's state survived its restart (rebuilt from its journal).
            for (index, id) in ["a", "b", "c"].enumerated() {
                #expect(try await rooms[index].state.members == ["owner-\(id)"])
            }
        }
    }

    @Test func temporaryChildIsNotRestartedAndKeepsItsJournal() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(
                ChildSpec(id: "tmp", process: ChatRoom(), restart: .temporary, options: fastOptions()))
            try await room.send(.join("x"))
            await #expect(throws: ProcessError.self) { try await room.send(.poison) }
            do {
                try await room.send(.post("y"))
                Issue.record("a crashed temporary child accepted a message")
            } catch let error as ProcessError {
                #expect(error.code == .notRestarted)
            }
            #expect(directory.journals == ["tmp.journal"])
            #expect(await supervisor.childIDs.isEmpty)
        }
    }

    @Test func transientChildEndsOnNormalStopAndPermanentStartsAgain() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let transient = try await supervisor.start(
                ChildSpec(id: "t", process: Counter(), restart: .transient, options: fastOptions()))
            let permanent = try await supervisor.start(
                ChildSpec(id: "p", process: Counter(), restart: .permanent, options: fastOptions()))
            try await transient.send(1)
            try await permanent.send(2)
            try await transient.stop()
            try await permanent.stop()
            _ = await supervisor.collect { $0.contains { $0.restartedID == "p" } }
            #expect(await supervisor.childIDs == ["p"])
            // The permanent child runs again, with a fresh state (its transient journal was discarded).
            let again = try #require(await supervisor.handle(for: "p", as: Counter.self))
            #expect(try await again.state == 0)
            #expect(directory.journals == ["p.journal"])
        }
    }

    /// Under one-for-all, a child crashing more often than the intensity allows makes the
    /// supervisor escalate: every child stops keeping its journal, `run()` throws.
    @Test func intensityExceededEscalatesWithChildCrashesAndSequence() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(
            directory: directory.path, strategy: .oneForAll,
            intensity: RestartIntensity(maxRestarts: 2, within: .seconds(60)),
            logger: quietLogger)
        let running = Task { try await supervisor.run() }
        let counter = try await supervisor.start(
            ChildSpec(id: "flaky", process: Counter(rejecting: 7), options: fastOptions()))
        try await counter.send(1)
        for _ in 0..<3 {
            _ = try? await counter.send(7)
        }
        let result = await running.result
        guard case .failure(let failure) = result, let error = failure as? SupervisorError else {
            Issue.record("run() did not fail: \(result)")
            return
        }
        #expect(error.code == .intensityExceeded)
        #expect(error.childID == "flaky")
        #expect(error.crashes == 3)
        #expect(error.sequence == 2)
        #expect(directory.journals == ["flaky.journal"], "escalation keeps the journals")
        do {
            _ = try await supervisor.start(ChildSpec(id: "late", process: Counter(), options: fastOptions()))
            Issue.record("a failed supervisor started a child")
        } catch let error as SupervisorError {
            #expect(error.code == .notRunning)
        }
    }

    /// Under one-for-one, intensity is counted per child and a child that exceeds it is given
    /// up alone: its healthy sibling keeps working, the supervisor keeps running.
    @Test func underOneForOneASickChildIsGivenUpAlone() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(
            directory: directory.path, intensity: RestartIntensity(maxRestarts: 2, within: .seconds(60)),
            logger: quietLogger)
        try await supervisor.run {
            let healthy = try await supervisor.start(
                ChildSpec(id: "healthy", process: Counter(), options: fastOptions()))
            let flaky = try await supervisor.start(
                ChildSpec(id: "flaky", process: Counter(rejecting: 7), options: fastOptions()))
            try await healthy.send(1)
            try await flaky.send(1)
            // The healthy sibling's crashes count for it alone.
            await healthy.simulateCrash()
            await healthy.simulateCrash()
            for _ in 0..<3 { _ = try? await flaky.send(7) }
            let events = await supervisor.collect { events in
                events.contains { if case .gaveUp = $0 { true } else { false } }
            }
            let gaveUp = events.compactMap { if case .gaveUp(let error) = $0 { error } else { nil } }
            #expect(gaveUp.count == 1 && gaveUp.first?.childID == "flaky" && gaveUp.first?.crashes == 3, "\(gaveUp)")
            let refused = await #expect(throws: ProcessError.self) { try await flaky.send(1) }
            #expect(refused?.code == .notRestarted)
            #expect(try await healthy.send(2) == 2)
            #expect(try await healthy.state == 3)
            #expect(directory.journals == ["flaky.journal", "healthy.journal"], "the given-up child's journal is kept")
        }
    }

    @Test func backoffDelaysGrowWithEachRestart() async throws {
        let directory = TemporaryDirectory()
        let backoff = Backoff(initial: .milliseconds(1), maximum: .milliseconds(6), multiplier: 2, jitter: 0)
        let supervisor = Supervisor(
            directory: directory.path, intensity: RestartIntensity(maxRestarts: 10, within: .seconds(60)),
            backoff: backoff, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(
                ChildSpec(id: "b", process: Counter(rejecting: 7), options: fastOptions()))
            for _ in 0..<5 {
                _ = try? await counter.send(7)
                _ = try await counter.state  // waits for the restart
            }
            let events = await supervisor.collect { $0.compactMap(\.restartDelay).count == 5 }
            #expect(
                events.compactMap(\.restartDelay) == [
                    .milliseconds(1), .milliseconds(2), .milliseconds(4), .milliseconds(6), .milliseconds(6),
                ])
        }
    }

    @Test func backoffJitterStaysWithinItsFraction() {
        // A generator with state: see `JitterGenerator` in the supervisor (zero-sized inout under TSan).
        var generator = SplitMix64(seed: 0x5EED)
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(10), multiplier: 2, jitter: 0.5)
        for attempt in 1...6 {
            let full = Duration.milliseconds(100 * (1 << (attempt - 1)))
            for _ in 0..<50 {
                let delay = backoff.delay(attempt: attempt, using: &generator)
                #expect(delay <= full && delay >= full / 2)
            }
        }
    }

    @Test func dynamicChildrenAreFoundAgainByIdWithSafeFileNames() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let ids = [
                "room/1", "../etc/passwd", "héllo wörld", "", ".", String(repeating: "x", count: 500),
                String(repeating: "y", count: 3000),
            ]
            for id in ids {
                let room = try await supervisor.child(id: id) {
                    ChildSpec(id: $0, process: ChatRoom(), options: fastOptions())
                }
                try await room.send(.join(id))
            }
            for id in ids {
                let again = try await supervisor.child(id: id) { _ -> ChildSpec<ChatRoom> in
                    Issue.record("started twice: \(id)")
                    return ChildSpec(id: id, process: ChatRoom())
                }
                #expect(try await again.state.members == [id])
            }
            #expect(Set(directory.journals).count == ids.count)
            #expect(directory.journals.allSatisfy { !$0.contains("/") && $0.utf8.count <= 255 })
        }
    }

    @Test func unclaimedJournalsAreReportedNotDeleted() async throws {
        let directory = TemporaryDirectory()
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            let room = try await supervisor.start(ChildSpec(id: "old", process: ChatRoom(), options: fastOptions()))
            try await room.send(.join("x"))
        }
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            #expect(await supervisor.unclaimedJournals() == [directory.path + "/old.journal"])
            #expect(directory.journals == ["old.journal"])
        }
    }

    @Test func gracefulShutdownStopsChildrenNormally() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await supervisor.run() }
                let transient = try await supervisor.start(
                    ChildSpec(id: "t", process: Counter(), options: fastOptions()))
                var persistentOptions = fastOptions()
                persistentOptions.retention = .persistent
                let persistent = try await supervisor.start(
                    ChildSpec(id: "p", process: Counter(), options: persistentOptions))
                try await transient.send(1)
                try await persistent.send(2)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        let stops = await supervisor.collect { events in
            events.filter { if case .stopped = $0 { true } else { false } }.count == 2
        }
        #expect(
            stops.compactMap { if case .stopped(let id) = $0 { id } else { nil } } == ["p", "t"], "reverse start order")
        #expect(directory.journals == ["p.journal"], "transient discarded, persistent kept")
    }

    @Test func cancellationWithoutGracefulShutdownKeepsEveryJournal() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        let running = Task { try await supervisor.run() }
        let counter = try await supervisor.start(ChildSpec(id: "k", process: Counter(), options: fastOptions()))
        try await counter.send(41)
        running.cancel()
        _ = await running.result
        #expect(directory.journals == ["k.journal"])
        let next = Supervisor(directory: directory.path, logger: quietLogger)
        try await next.run {
            let again = try await next.start(ChildSpec(id: "k", process: Counter(), options: fastOptions()))
            #expect(try await again.state == 41)
        }
    }

    /// Supervision lives in `run()`: a child that crashes before `run()` begins is not restarted
    /// by anything else (its sender waits, here until its timeout); once `run()` runs, the
    /// buffered crash notice restarts it. (Before, a detached task restarted it at once.)
    @Test func crashesAreHandledOnlyInsideRun() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        let counter = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: fastOptions()))
        try await counter.send(1)
        await counter.simulateCrash()
        let waited = await #expect(throws: ProcessError.self) { try await counter.send(2, timeout: .milliseconds(50)) }
        #expect(waited?.code == .timedOut)
        try await supervisor.run {
            try await counter.send(2)
            #expect(try await counter.state == 3)
        }
        // `run()` runs once.
        await #expect(throws: SupervisorError.self) { try await supervisor.run() }
    }

    /// `run()` ending cancels the restarts it has not begun: a child waiting out a long backoff
    /// is not restarted after graceful shutdown, and `run()` returns without waiting for the delay.
    @Test func aRestartWaitingOutItsBackoffEndsWithRun() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(
            directory: directory.path, backoff: Backoff(initial: .seconds(3600), maximum: .seconds(3600), jitter: 0),
            logger: quietLogger)
        var options = fastOptions()
        options.retention = .persistent
        try await supervisor.run {
            let counter = try await supervisor.start(ChildSpec(id: "slow", process: Counter(), options: options))
            try await counter.send(5)
            await counter.simulateCrash()
            _ = await supervisor.collect(until: { $0.contains { if case .restarting = $0 { true } else { false } } })
        }
        let events = await supervisor.collect(until: { _ in false })
        #expect(!events.contains { if case .restarted = $0 { true } else { false } }, "\(events)")
        let again = Supervisor(directory: directory.path, logger: quietLogger)
        try await again.run {
            let counter = try await again.start(ChildSpec(id: "slow", process: Counter(), options: options))
            #expect(try await counter.state == 5)
        }
    }

    /// `supervisor.run { … }` whose body throws stops the children without grace: a transient
    /// journal is kept (a crash, as far as state goes) and the body's error comes out.
    @Test func aBodyThatThrowsStopsWithoutGrace() async throws {
        struct Boom: Error {}
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        await #expect(throws: Boom.self) {
            try await supervisor.run {
                let counter = try await supervisor.start(ChildSpec(id: "t", process: Counter(), options: fastOptions()))
                try await counter.send(7)
                throw Boom()
            }
        }
        #expect(directory.journals == ["t.journal"])
    }

    @Test func journalNamesAreSafeAndReversible() {
        for id in ["room-1", "a/b", "..", "", "😀", "x y", "a%b"] {
            let name = JournalNaming.fileName(for: id)
            #expect(!name.contains("/"))
            #expect(name != "..journal")
            #expect(JournalNaming.id(fromFileName: name) == id)
        }
        let long = String(repeating: "é", count: 300)
        let name = JournalNaming.fileName(for: long)
        #expect(name.utf8.count <= 220)
        #expect(name != JournalNaming.fileName(for: long + "x"))
        #expect(JournalNaming.fileName(for: "a.b") != JournalNaming.fileName(for: "a%2Eb"))
    }
}
