import Foundation
import StateJournal
import Testing

/// Subscriptions to a process's acknowledged messages, checked against its journal: every
/// acknowledged message once, in order, across the switch from the journal to live messages,
/// crashes, restarts, snapshots and a slow consumer.
@Suite(.timeLimit(.minutes(10))) struct SubscriptionTests {
    /// Collects events until one reaches `sequence`.
    static func collect(_ messages: ProcessMessages<Account>, through sequence: UInt64) async throws -> [JournaledEvent<
        Account
    >] {
        var events: [JournaledEvent<Account>] = []
        for try await event in messages {
            events.append(event)
            if event.sequence >= sequence { break }
        }
        return events
    }

    /// The events must be the journal's messages (or a snapshot standing for a prefix), each
    /// sequence number once, in order, from `from` through the last.
    static func check(
        _ events: [JournaledEvent<Account>], from: UInt64, against journal: [UInt64: Account.Message],
        fold: (UInt64) -> Account.State
    ) {
        var next = from
        for event in events {
            switch event {
            case .message(let sequence, let message):
                #expect(sequence == next, "expected \(next), got \(sequence)")
                #expect(
                    journal[sequence] == nil || journal[sequence] == message,
                    "sequence \(sequence) differs from the journal")
                next = sequence + 1
            case .snapshot(let sequence, let state):
                #expect(sequence >= next, "a snapshot through \(sequence) after \(next - 1) was delivered")
                #expect(state == fold(sequence), "the snapshot's state is not the fold through \(sequence)")
                next = sequence + 1
            }
        }
    }

    @Test func catchesUpFromTheJournalThenFollowsLiveWithNoGapOrDuplicate() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(ChildSpec(id: "a", process: Account(), options: fastOptions()))
            for i in 0..<500 { try await account.send(.deposit(i)) }
            async let events = Self.collect(account.messages(from: 1, bufferLimit: 64), through: 1300)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in 0..<8 {
                    group.addTask { for i in 0..<100 { try await account.send(.deposit(sender * 1000 + i)) } }
                }
                try await group.waitForAll()
            }
            let received = try await events
            let journal = Dictionary(
                uniqueKeysWithValues: try Account.journal(at: account.journalPath).map { ($0.sequence, $0.message) })
            #expect(received.count == 1300)
            Self.check(received, from: 1, against: journal, fold: { _ in Account.State() })
            // From the middle: starts exactly there.
            let middle = try await Self.collect(account.messages(from: 700), through: 1300)
            #expect(middle.first?.sequence == 700)
            #expect(middle.count == 601)
        }
    }

    /// A live subscriber across a crash (the restart replays; nothing comes twice), a snapshot
    /// (the journal rewritten under it) and more messages.
    @Test func followsAcrossACrashASnapshotAndARestart() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "b", process: Account(), options: fastOptions(.synced)))
            async let events = Self.collect(account.messages(), through: 300)
            for i in 0..<100 { try await account.send(.deposit(i)) }
            await account.simulateCrash()
            for i in 100..<200 { try await account.send(.deposit(i)) }
            try await account.snapshot()
            await account.simulateCrash()
            for i in 200..<300 { try await account.send(.deposit(i)) }
            let received = try await events
            #expect(received.count == 300)
            for (index, event) in received.enumerated() {
                guard case .message(let sequence, .deposit(let amount)) = event else {
                    Issue.record("event \(index) is \(event)")
                    continue
                }
                #expect(sequence == UInt64(index + 1))
                #expect(amount == index)
            }
        }
    }

    /// Concurrent senders and crashes in the middle of their sends: messages journaled but not
    /// acknowledged before a crash are replayed by the restart and delivered then. What the
    /// subscriber gets is exactly the journal, in order.
    @Test func concurrentSendsAndCrashesDeliverExactlyTheJournal() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(
            directory: directory.path, intensity: RestartIntensity(maxRestarts: 100, within: .seconds(60)),
            logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "f", process: Account(), options: fastOptions(.synced)))
            let subscription = account.messages(bufferLimit: 16)
            var iterator = subscription.makeAsyncIterator()
            try await account.send(.deposit(0))
            #expect(try await iterator.next()?.sequence == 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in 0..<4 {
                    group.addTask {
                        for i in 0..<100 { _ = try? await account.send(.deposit(sender * 1000 + i)) }
                    }
                }
                group.addTask {
                    for _ in 0..<10 {
                        try await Task.sleep(for: .milliseconds(3))
                        await account.simulateCrash()
                    }
                }
                try await group.waitForAll()
            }
            let last = try await account.sendWithSequence(.deposit(-0)) { _ in () }.sequence
            var received: [UInt64: Account.Message] = [1: .deposit(0)]
            var order: [UInt64] = [1]
            while let event = try await iterator.next() {
                guard case .message(let sequence, let message) = event else {
                    Issue.record("unexpected \(event)")
                    break
                }
                order.append(sequence)
                received[sequence] = message
                if sequence >= last { break }
            }
            let journal = try Account.journal(at: account.journalPath)
            #expect(order == journal.map(\.sequence), "every sequence once, in order")
            #expect(received.count == journal.count)
            for (sequence, message) in journal where received[sequence] != message {
                Issue.record(
                    "sequence \(sequence): the journal holds \(message), the subscription gave \(String(describing: received[sequence]))"
                )
            }
        }
    }

    /// A consumer slower than the senders, with a buffer of 4 and snapshots every 50 messages:
    /// memory stays bounded (it reads from the journal what it missed), and it still gets every
    /// message once, in order, or a snapshot standing for the ones a snapshot folded away.
    @Test func aSlowConsumerReadsWhatItMissedFromTheJournal() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.snapshots = .every(messages: 50)
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(ChildSpec(id: "c", process: Account(), options: options))
            async let events: [JournaledEvent<Account>] = {
                var events: [JournaledEvent<Account>] = []
                for try await event in account.messages(bufferLimit: 4) {
                    events.append(event)
                    if events.count % 16 == 0 { try await Task.sleep(for: .milliseconds(2)) }
                    if event.sequence >= 1000 { break }
                }
                return events
            }()
            for _ in 0..<1000 { try await account.send(.deposit(1)) }
            let received = try await events
            #expect(received.last?.sequence == 1000)
            Self.check(received, from: 1, against: [:], fold: { Account.State(balance: Int($0), operations: Int($0)) })
        }
    }

    /// In a new program, a subscription from 1 to a journal whose start was folded into a
    /// snapshot begins with that snapshot.
    @Test func startsWithTheSnapshotWhenItsMessagesWereFolded() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        let first = Supervisor(directory: directory.path, logger: quietLogger)
        try await first.run {
            let account = try await first.start(ChildSpec(id: "d", process: Account(), options: options))
            for _ in 0..<10 { try await account.send(.deposit(2)) }
            try await account.snapshot()
            for _ in 0..<5 { try await account.send(.deposit(1)) }
        }
        let second = Supervisor(directory: directory.path, logger: quietLogger)
        try await second.run {
            let account = try await second.start(ChildSpec(id: "d", process: Account(), options: options))
            let events = try await Self.collect(account.messages(), through: 15)
            guard case .snapshot(10, let state)? = events.first else {
                Issue.record("first event: \(String(describing: events.first))")
                return
            }
            #expect(state == Account.State(balance: 20, operations: 10))
            #expect(events.dropFirst().map(\.sequence) == Array(11...15))
        }
    }

    /// A normal stop ends the subscription, and one made after the stop ends at once.
    @Test func aNormalStopEndsTheSubscription() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "e", process: Account(), restart: .transient, options: fastOptions()))
            try await account.send(.deposit(1))
            var iterator = account.messages().makeAsyncIterator()
            #expect(try await iterator.next()?.sequence == 1)
            try await account.send(.deposit(2))
            #expect(try await iterator.next()?.sequence == 2)
            try await account.stop()
            #expect(try await iterator.next()?.sequence == nil)
            var late = account.messages().makeAsyncIterator()
            #expect(try await late.next()?.sequence == nil)
        }
    }
}
