import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import StateJournalStorage
import StateJournalTesting
import Synchronization
import Testing

@testable import StateJournal

/// A counter with a guard: `requireZero` is refused unless the state is 0, `poison` always.
struct Guarded: JournaledProcess {
    enum Message: Codable, Sendable, Equatable {
        case add(Int)
        case poison
        case requireZero
    }

    var initialState: Int { 0 }

    func apply(_ message: Message, to state: inout Int) throws {
        switch message {
        case .add(let n): state += n
        case .poison: throw Rejected()
        case .requireZero: guard state == 0 else { throw Rejected() }
        }
    }
}

/// A switch shared by a test and its process (the process must be `Sendable`).
final class Switch: Sendable {
    private let value = Mutex(false)
    var isOn: Bool { value.withLock { $0 } }
    func set(_ on: Bool) { value.withLock { $0 = on } }
}

/// A counter that refuses 5 while its switch is on: flip it after 5 was journaled and every
/// replay throws (the code changed under a journal), so restarts fail again and again.
struct Refuser: JournaledProcess {
    let refuseFives: Switch
    var initialState: Int { 0 }
    func apply(_ message: Int, to state: inout Int) throws {
        if message == 5, refuseFives.isOn { throw Rejected() }
        state += message
    }
}

/// One test per defect of the runtime under concurrency; each failed on the code before the fix.
@Suite(.timeLimit(.minutes(10))) struct ConcurrencyDefectTests {
    /// A supervisor that restarts without end (no intensity limit to speak of, 1–2 ms apart).
    static func restartingForever(_ directory: TemporaryDirectory) -> Supervisor {
        Supervisor(
            directory: directory.path, intensity: RestartIntensity(maxRestarts: 1_000_000, within: .seconds(3600)),
            backoff: Backoff(initial: .milliseconds(1), maximum: .milliseconds(2), jitter: 0), logger: quietLogger)
    }

    /// A child stuck in a restart loop: 5 is journaled, then refused by every replay (until the
    /// returned switch is turned off).
    static func childInARestartLoop(_ supervisor: Supervisor) async throws -> (ProcessHandle<Refuser>, Switch) {
        let refuse = Switch()
        let child = try await supervisor.start(
            ChildSpec(id: "loop", process: Refuser(refuseFives: refuse), options: fastOptions()))
        try await child.send(5)
        refuse.set(true)
        await child.simulateCrash()
        return (child, refuse)
    }

    /// Waits (without a clock) until `condition` holds.
    static func until(_ condition: () async -> Bool) async {
        while await !condition() { await Task.yield() }
    }

    /// Senders released together after a restart look at the process again: a sender woken
    /// after another one crashed it waits for the next restart instead of applying its message
    /// to the reset state.
    @Test func sendersQueuedDuringARestartApplyToTheReplayedState() async throws {
        for round in 0..<40 {
            let directory = TemporaryDirectory()
            let supervisor = Supervisor(
                directory: directory.path, intensity: RestartIntensity(maxRestarts: 100, within: .seconds(60)),
                logger: quietLogger)
            try await supervisor.run {
                let guarded = try await supervisor.start(
                    ChildSpec(id: "guarded", process: Guarded(), options: fastOptions()))
                try await guarded.send(.add(1))
                let outcomes = await withTaskGroup(of: (Guarded.Message, Bool).self) { group in
                    for message in [Guarded.Message.poison, .poison, .requireZero] {
                        group.addTask { (message, (try? await guarded.send(message)) != nil) }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                // The state is never 0 after add(1) was acknowledged: requireZero is always refused.
                #expect(outcomes.allSatisfy { !$0.1 }, "round \(round): \(outcomes)")
                #expect(try await guarded.state == 1, "round \(round)")
            }
        }
    }

    /// A second `child(id:)` that finds the child still starting gets a handle; when the start
    /// fails, its senders are answered (they waited forever).
    @Test func sendersOfAChildWhoseStartFailsAreAnswered() async throws {
        let directory = TemporaryDirectory()
        // Not a journal: opening it fails.
        try Data(repeating: 0x41, count: 200).write(to: URL(fileURLWithPath: "\(directory.path)/cart.journal"))
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        do {
                            let cart = try await supervisor.child(id: "cart") {
                                ChildSpec(id: $0, process: Guarded(), options: fastOptions())
                            }
                            try await cart.send(.add(1))
                            return "acknowledged"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.count == 2 && !outcomes.contains("acknowledged"), "\(outcomes)")
        }
    }

    /// Under one-for-all, crashes of two children at once restart a third twice: the restarts
    /// take turns, so its state is replayed once per restart, never twice into the same state.
    @Test func overlappingRestartsOfOneChildNeverReplayTwiceIntoOneState() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(
            directory: directory.path, strategy: .oneForAll,
            intensity: RestartIntensity(maxRestarts: 1000, within: .seconds(60)),
            logger: quietLogger)
        try await supervisor.run {
            let a = try await supervisor.start(ChildSpec(id: "a", process: Counter(), options: fastOptions()))
            let big = try await supervisor.start(ChildSpec(id: "big", process: Counter(), options: fastOptions()))
            let c = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: fastOptions()))
            let count = 20_000
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { for _ in 0..<(count / 8) { _ = try? await big.send(1) } } }
            }
            #expect(try await big.state == count)
            for round in 0..<5 {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await a.simulateCrash() }
                    group.addTask { await c.simulateCrash() }
                    group.addTask { await big.simulateCrash() }
                }
                // Every restart has finished when each child answers.
                _ = try await a.state
                _ = try await c.state
                #expect(try await big.state == count, "round \(round)")
            }
        }
    }

    /// A `send` waiting for a child stuck in a restart loop ends with task cancellation, and with
    /// its timeout; graceful shutdown then answers every waiting sender.
    @Test func aSenderWaitingOnARestartLoopCanBeCancelledOrTimedOut() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Self.restartingForever(directory)
        try await supervisor.run {
            let (child, refuse) = try await Self.childInARestartLoop(supervisor)

            let waiting = Task { try await child.send(1) }
            await Self.until { child.cell.waiters.count > 0 }
            waiting.cancel()
            let cancelled = await waiting.result
            #expect(throws: CancellationError.self) { try cancelled.get() }

            let timedOut = await #expect(throws: ProcessError.self) {
                try await child.send(1, timeout: .milliseconds(20))
            }
            #expect(timedOut?.code == .timedOut)

            // Senders still waiting when the supervisor shuts down get an answer.
            let late = Task { try await child.send(2) }
            await Self.until { child.cell.waiters.count > 0 }
            await supervisor.shutdown()
            let answer = await late.result
            #expect(throws: ProcessError.self) { try answer.get() }
            refuse.set(false)
        }
    }

    /// `ReplayCheck.restartAndCompare` fails fast with the replay's error when replay throws,
    /// instead of restarting forever.
    @Test func restartAndCompareFailsFastWhenReplayThrows() async throws {
        /// Counts how often 5 was applied: by the check's model, live, then by replays.
        final class Count: Sendable {
            private let value = Mutex(0)
            func next() -> Int {
                value.withLock {
                    $0 += 1
                    return $0
                }
            }
        }
        struct ThrowsOnReplay: JournaledProcess {
            let fives: Count
            var initialState: Int { 0 }
            func apply(_ message: Int, to state: inout Int) throws {
                // The model's apply and the live apply accept 5; every replay of it throws.
                if message == 5, fives.next() > 2 { throw Rejected() }
                state += message
            }
        }
        let error = await #expect(throws: (any Error).self) {
            try await ReplayCheck.restartAndCompare(
                ChildSpec(id: "replay-throws", process: ThrowsOnReplay(fives: Count())), messages: [1, 5, 2],
                restarts: .after([1]))
        }
        #expect(!(error is ReplayDivergence), "\(String(describing: error))")
    }

    /// An append ticket awaited by two tasks answers both.
    @Test func anAppendTicketAnswersEveryWaiter() async throws {
        let directory = TemporaryDirectory()
        let writer = try await JournalWriter.open(
            path: "\(directory.path)/t.journal", processID: "t", logger: quietLogger)
        let ticket = writer.submit(contentsOf: [[1], [2]])
        async let first = ticket.value()
        async let second = ticket.value()
        let (a, b) = try await (first, second)
        #expect(a == 1...2 && b == 1...2)
        try await writer.close(discard: true)
    }

    /// A child whose stop exceeds its shutdown timeout (its disk stopped answering) is stopped
    /// without grace: `shutdown()` returns while the sync is still blocked.
    @Test func shutdownIsBoundedByTheChildsTimeout() async throws {
        let directory = TemporaryJournalDirectory()
        let faults = FileFaults(under: directory.path)
        faults.install()
        defer { faults.uninstall() }
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        let (child, sender) = try await supervisor.run {
            var options = fastOptions(.synced)
            options.journal.syncMethod = .perFile
            let child = try await supervisor.start(
                ChildSpec(id: "stuck", process: Counter(), options: options, shutdownTimeout: .milliseconds(50)))
            try await child.send(1)
            faults.holdSyncs()
            // A sender whose sync hangs; the clean stop queues behind it.
            let sender = Task { try await child.send(2) }
            await Self.until { faults.heldSyncs > 0 }
            return (child, sender)
        }
        // The sync is still blocked: shutdown did not wait for it.
        #expect(faults.heldSyncs > 0)
        faults.releaseSyncs()
        let secondAcknowledged = (try? await sender.result.get()) != nil
        await Self.until { faults.heldSyncs == 0 }

        // G2 for a stop without grace: once its close has ended (the lock is released), the journal
        // was either discarded whole or kept whole (1, plus 2 if it was written).
        let path = child.journalPath
        await Self.until { JournalLockProbe.holder(of: path) == nil }
        let again = Supervisor(directory: directory.path, logger: quietLogger)
        try await again.run {
            let reopened = try await again.start(ChildSpec(id: "stuck", process: Counter(), options: fastOptions()))
            let state = try await reopened.state
            #expect(state == 0 || state == 3 || (state == 1 && !secondAcknowledged), "state \(state)")
        }
    }

    /// A program told to shut down (SIGTERM through swift-service-lifecycle) while senders wait
    /// on a child stuck in a restart loop ends: `run()` returns and every sender is answered.
    @Test func gracefulShutdownEndsWithSendersWaitingOnARestartLoop() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Self.restartingForever(directory)
        let answers = try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    try await supervisor.run()
                    return nil
                }
                let (child, _) = try await Self.childInARestartLoop(supervisor)
                for message in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await child.send(message)
                            return "acknowledged"
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                await Self.until { child.cell.waiters.count == 8 }
                trigger.triggerGracefulShutdown()
                return try await group.reduce(into: [String]()) { if let answer = $1 { $0.append(answer) } }
            }
        }
        #expect(answers.count == 8 && !answers.contains("acknowledged"), "\(answers)")
    }
}
