import Foundation
import Logging
import StateJournal
@_spi(JournalStores) import StateJournalStorage
import StateJournalSystem
import Testing

/// A process takes the sends that queued while it was busy as one batch in one turn (one
/// `submit`, one frame). These tests build such a batch on purpose (sends held, then one
/// turn) and check it against a sequential model: the order, the replies, the sequence
/// numbers, the journal, the subscribers, and that one bad message touches only its sender.
@Suite(.timeLimit(.minutes(5))) struct TurnBatchTests {
    /// What one sender got.
    enum Answer: Equatable {
        case acknowledged(sequence: UInt64, balance: Int)
        case refused(Account.Refusal)
        case rejected
    }

    /// Queues `messages` one after the other while turns are held (each sender queued before
    /// the next starts), runs one turn for all of them, and returns each sender's answer.
    func sendAsOneBatch(_ messages: [Account.Message], to account: ProcessHandle<Account>) async throws -> [Answer] {
        await account.holdTurns()
        return try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
            for (index, message) in messages.enumerated() {
                group.addTask {
                    do {
                        let (sequence, balance) = try await account.sendWithSequence(message) { $0.balance }
                        return (index, .acknowledged(sequence: sequence, balance: balance))
                    } catch let refusal as Account.Refusal {
                        return (index, .refused(refusal))
                    } catch let error as ProcessError where error.code == .rejected {
                        return (index, .rejected)
                    }
                }
                while account.queuedSends < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
            await account.runHeldTurn()
            var answers = [Answer?](repeating: nil, count: messages.count)
            for try await (index, answer) in group { answers[index] = answer }
            return answers.map { $0! }
        }
    }

    /// Frames of the journal at `path` that hold messages.
    func messageFrames(at path: String) throws -> Int {
        let reader = try JournalReader(path: path)
        var frames = 0
        while let frame = try reader.nextFrame() {
            if !frame.messages.isEmpty { frames += 1 }
        }
        return frames
    }

    /// Ten deposits with an overdrawing withdrawal in the middle, queued as one batch: the nine
    /// accepted messages get sequence numbers 1…9 in the order they queued, each reply is the
    /// balance right after its own message, the journal holds them in that order in one frame,
    /// a subscriber sees them acknowledged in that order, and the refused sender alone gets
    /// its refusal.
    @Test func aBatchIsJournaledAndAcknowledgedInOrderAndARefusalTouchesOnlyItsSender() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "batch", process: Account(), options: fastOptions()))
            let messages: [Account.Message] = [
                .deposit(10), .deposit(20), .withdraw(5), .deposit(1), .withdraw(1000), .deposit(2),
                .withdraw(3), .deposit(4), .deposit(5), .deposit(6),
            ]
            async let subscriber = {
                var seen: [(UInt64, Account.Message)] = []
                for try await event in account.messages(from: 1) {
                    guard case .message(let sequence, let message) = event else { continue }
                    seen.append((sequence, message))
                    if seen.count == 9 { break }
                }
                return seen
            }()
            let answers = try await sendAsOneBatch(messages, to: account)

            // The sequential model: the same messages, one at a time, in the order they queued.
            var model = Account.State()
            var expected: [Answer] = []
            var accepted: [Account.Message] = []
            for message in messages {
                do throws(Account.Refusal) {
                    try Account().validate(message, against: model)
                } catch {
                    expected.append(.refused(error))
                    continue
                }
                try Account().apply(message, to: &model)
                accepted.append(message)
                expected.append(.acknowledged(sequence: UInt64(accepted.count), balance: model.balance))
            }
            #expect(answers == expected)
            #expect(answers[4] == .refused(.insufficientFunds(balance: 26, asked: 1000)))

            let journal = try Account.journal(at: account.journalPath)
            #expect(journal.map(\.sequence) == Array(1...9))
            #expect(journal.map(\.message) == accepted)
            #expect(try messageFrames(at: account.journalPath) == 1, "the batch was handed to the journal as one")
            let seen = try await subscriber
            #expect(seen.map(\.0) == Array(1...9))
            #expect(seen.map(\.1) == accepted)
            #expect(try await account.state == model)
            // The process went on: no crash, no restart.
            #expect(await account.lastReplay?.messages == 0)
            #expect(try await account.send(.deposit(1)) == 10)
        }
    }

    /// The sender that takes a turn has its message applied first and answered apart from the
    /// sends queued behind it; with a snapshot due every three messages the turn hands its batch
    /// to the journal in three submits (three tickets). Each of the seven senders gets its own
    /// sequence number and the balance right after its own message, at `.written` and
    /// `.synced`, and the journal holds the seven messages in that order.
    @Test(arguments: [Durability.written, .synced])
    func theTurnsOwnMessageAndTheQueuedOnesAreAnsweredEachWithItsOwn(durability: Durability) async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            var options = fastOptions(durability)
            options.snapshots = .every(messages: 3)
            let account = try await supervisor.start(ChildSpec(id: "own", process: Account(), options: options))
            await account.holdTurns()
            let queued = [2, 4, 8, 16, 32, 64]
            let answers = try await withThrowingTaskGroup(of: (Int, UInt64, Int).self) { group in
                for (index, amount) in queued.enumerated() {
                    group.addTask {
                        let (sequence, balance) = try await account.sendWithSequence(.deposit(amount)) {
                            $0.balance
                        }
                        return (amount, sequence, balance)
                    }
                    while account.queuedSends < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
                }
                let own = try await account.runHeldTurn(sending: .deposit(1)) { $0.balance }
                var answers = [(Int, UInt64, Int)]()
                for try await answer in group { answers.append(answer) }
                return [(1, own.sequence, own.reply)] + answers.sorted { $0.1 < $1.1 }
            }
            // The sequential model: the own message, then the queued ones in the order they queued.
            var balance = 0
            var expected: [(Int, UInt64, Int)] = []
            for (index, amount) in ([1] + queued).enumerated() {
                balance += amount
                expected.append((amount, UInt64(index + 1), balance))
            }
            #expect(answers.map(\.0) == expected.map(\.0))
            #expect(answers.map(\.1) == expected.map(\.1))
            #expect(answers.map(\.2) == expected.map(\.2))
            let journal = try Account.journal(at: account.journalPath)
            // What the snapshots left of the journal: the last messages, in order.
            let tail = Array(expected.suffix(journal.count))
            #expect(journal.map(\.sequence) == tail.map(\.1))
            #expect(journal.map(\.message) == tail.map { Account.Message.deposit($0.0) })
            #expect(try await account.state.balance == 127)
            #expect(await account.lastReplay?.messages == 0)
            try await account.crashAndRestartInPlace()
            #expect(try await account.state.balance == 127, "the snapshot and the journal replay to the same state")
        }
    }

    /// A message whose `apply` throws in the middle of a batch crashes the process and fails
    /// its own sender only: the messages before it are journaled and acknowledged, the ones
    /// after it wait for the restart and are applied to the replayed state, and nothing of the
    /// bad message is journaled.
    @Test func aRejectionInTheMiddleOfABatchFailsOnlyItsSender() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "poison", process: Account(), options: fastOptions()))
            let before: [Account.Message] = [.deposit(1), .deposit(2), .deposit(3), .deposit(4)]
            let after: [Account.Message] = [.deposit(100), .deposit(200), .deposit(300)]
            let answers = try await sendAsOneBatch(before + [.deposit(-1)] + after, to: account)

            #expect(
                Array(answers.prefix(4)) == [
                    .acknowledged(sequence: 1, balance: 1), .acknowledged(sequence: 2, balance: 3),
                    .acknowledged(sequence: 3, balance: 6), .acknowledged(sequence: 4, balance: 10),
                ])
            #expect(answers[4] == .rejected)
            // After the restart, on the replayed state (balance 10), in whatever order they came.
            var afterSequences: [UInt64] = []
            for answer in answers.suffix(3) {
                guard case .acknowledged(let sequence, let balance) = answer else {
                    Issue.record("a sender after the bad message was not acknowledged: \(answer)")
                    continue
                }
                #expect(balance > 10, "applied to a state without the messages before the crash")
                afterSequences.append(sequence)
            }
            #expect(afterSequences.sorted() == [5, 6, 7])

            let journal = try Account.journal(at: account.journalPath)
            #expect(journal.map(\.sequence) == Array(1...7))
            #expect(Array(journal.map(\.message).prefix(4)) == before)
            #expect(Set(journal.map(\.message).suffix(3).map { "\($0)" }) == Set(after.map { "\($0)" }))
            #expect(try await account.state.balance == 610)
            #expect(await account.lastReplay?.messages == 4, "the restart replayed the four messages before the crash")
        }
    }

    /// A send cancelled while it waits for a turn is taken out of the queue at once, before any
    /// turn runs, and throws `CancellationError`: its message is neither applied nor journaled,
    /// and the sends queued around it keep their order and get consecutive sequence numbers.
    @Test func aSendCancelledWhileQueuedIsNeverApplied() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "cancelled", process: Account(), options: fastOptions()))
            await account.holdTurns()
            var senders: [Task<UInt64, any Error>] = []
            for amount in [1, 10, 100] {
                senders.append(Task { try await account.send(.deposit(amount)) })
                while account.queuedSends < senders.count { try await Task.sleep(for: .milliseconds(1)) }
            }
            senders[1].cancel()
            // Taken out now, not when a turn comes (the turns are held).
            for _ in 0..<10_000 where account.queuedSends != 2 { try await Task.sleep(for: .milliseconds(1)) }
            #expect(account.queuedSends == 2, "the cancelled send still waits for a turn")
            await account.runHeldTurn()

            await #expect(throws: CancellationError.self) { try await senders[1].value }
            #expect(try await senders[0].value == 1)
            #expect(try await senders[2].value == 2)
            let journal = try Account.journal(at: account.journalPath)
            #expect(journal.map(\.message) == [.deposit(1), .deposit(100)])
            #expect(try await account.state.balance == 101)
        }
    }

    /// Cancellations racing the turns, under load: 600 senders, one message each, every third
    /// one cancelled while the sends go on (some then wait in the queue, some are in a turn,
    /// some are done, some have not started). Each send ends either acknowledged or with
    /// `CancellationError`, nothing else; the acknowledged ones hold the sequence numbers 1…n
    /// with no gap; the journal holds exactly them in that order; the state is their sum. A
    /// cancelled send is never applied, and an applied one is never lost.
    @Test func cancellationsRacingTurnsLoseAndDuplicateNothing() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "racing", process: Account(), options: fastOptions()))
            var senders: [(amount: Int, task: Task<UInt64, any Error>)] = []
            for amount in 1...600 {
                senders.append((amount, Task { try await account.send(.deposit(amount)) }))
            }
            for (amount, task) in senders where amount % 3 == 0 {
                task.cancel()
                if amount % 30 == 0 { await Task.yield() }
            }
            var acknowledged: [UInt64: Int] = [:]
            for (amount, task) in senders {
                do {
                    let sequence = try await task.value
                    #expect(acknowledged[sequence] == nil, "sequence \(sequence) acknowledged twice")
                    acknowledged[sequence] = amount
                } catch is CancellationError {
                    #expect(amount % 3 == 0, "a send that was not cancelled ended with CancellationError")
                } catch {
                    Issue.record("send of \(amount) ended with \(error)")
                }
            }
            #expect(acknowledged.count >= 400, "a send that was not cancelled was not acknowledged")
            #expect(acknowledged.keys.sorted() == Array(1...UInt64(acknowledged.count)))
            let inOrder = acknowledged.keys.sorted().map { acknowledged[$0]! }
            let journal = try Account.journal(at: account.journalPath)
            #expect(journal.map(\.sequence) == Array(1...UInt64(inOrder.count)))
            #expect(journal.map(\.message) == inOrder.map { Account.Message.deposit($0) })
            #expect(try await account.state.balance == inOrder.reduce(0, +))
        }
    }

    /// A message too large for the journal, in the middle of a batch, fails alone (as it would
    /// on its own: journal failed, process crashed), not the whole batch's submit.
    @Test func aMessageTooLargeInTheMiddleOfABatchFailsOnlyItsSender() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(ChildSpec(id: "large", process: ChatRoom(), options: fastOptions()))
            let huge = String(repeating: "x", count: JournalFormat.maxMessageSize + 1)
            await room.holdTurns()
            let answers = try await withThrowingTaskGroup(of: (Int, Result<UInt64, ProcessError>).self) { group in
                for (index, message) in [ChatRoom.Message.post("a"), .post(huge), .post("b")].enumerated() {
                    group.addTask {
                        do { return (index, .success(try await room.send(message))) } catch let error as ProcessError {
                            return (index, .failure(error))
                        }
                    }
                    while room.queuedSends < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
                }
                await room.runHeldTurn()
                var answers = [Result<UInt64, ProcessError>?](repeating: nil, count: 3)
                for try await (index, answer) in group { answers[index] = answer }
                return answers.map { $0! }
            }
            #expect(try answers[0].get() == 1)
            guard case .failure(let error) = answers[1] else {
                Issue.record("the large message was acknowledged")
                return
            }
            #expect(error.code == .journalFailed)
            #expect((error.cause as? JournalError)?.code == .messageTooLarge)
            #expect(try answers[2].get() == 2, "the message after it is applied after the restart")
            #expect(try await room.state.posts == ["a", "b"])
        }
    }

    /// Once a turn has taken queued sends, a sender that finds the turn free first lets the
    /// senders resumed with it queue (`.written` and `.synced`): at every durability, the
    /// senders that come after such a turn, alone and then eight at once, get sequence numbers
    /// that follow each other with no gap or repeat, each sender's in the order it sent, each
    /// reply the balance right after its own message in that order (the sequential model), and
    /// the journal holds every acknowledged message at its number.
    @Test(arguments: ["buffered", "written", "synced"])
    func sendsAfterABatchFollowTheSequentialModel(durability name: String) async throws {
        let durability: Durability =
            switch name {
            case "buffered": .buffered(within: .milliseconds(5))
            case "synced": .synced
            default: .written
            }
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "after-batch", process: Account(), options: fastOptions(durability)))
            let batch = try await sendAsOneBatch([.deposit(1), .deposit(1), .deposit(1), .deposit(1)], to: account)
            #expect(batch.last == .acknowledged(sequence: 4, balance: 4))
            // Alone, right after the batch: the turn is free, and the last turn had company.
            let lone = try await account.sendWithSequence(.deposit(1)) { $0.balance }
            #expect(lone.sequence == 5 && lone.reply == 5)

            struct Sent: Sendable {
                var sender: Int
                var amount: Int
                var sequence: UInt64
                var balance: Int
            }
            let sent = try await withThrowingTaskGroup(of: [Sent].self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        var mine: [Sent] = []
                        for index in 0..<40 {
                            let amount = sender * 100 + index + 1
                            let (sequence, balance) = try await account.sendWithSequence(.deposit(amount)) {
                                $0.balance
                            }
                            mine.append(Sent(sender: sender, amount: amount, sequence: sequence, balance: balance))
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: [Sent]()) { $0 += $1 }
            }
            #expect(sent.count == 320)
            for sender in 0..<8 {
                let mine = sent.filter { $0.sender == sender }.map(\.sequence)
                #expect(mine == mine.sorted() && Set(mine).count == mine.count, "sender \(sender) in its own order")
            }
            let ordered = sent.sorted { $0.sequence < $1.sequence }
            #expect(ordered.map(\.sequence) == Array(6...325))
            var model = Account.State(balance: 5, operations: 5)
            for message in ordered {
                try Account().apply(.deposit(message.amount), to: &model)
                #expect(message.balance == model.balance, "the reply to sequence \(message.sequence)")
            }
            #expect(try await account.state.balance == model.balance)
            if case .buffered = durability { return }
            // Acknowledged at .written or .synced: in the journal, at its number.
            let journal = try Account.journal(at: account.journalPath)
            #expect(journal.map(\.sequence) == Array(1...325))
            #expect(Array(journal.suffix(320).map(\.message)) == ordered.map { .deposit($0.amount) })
        }
    }
}

/// A subscriber that goes live after a message was applied and before it was acknowledged still
/// gets it, though no later message comes (the acknowledgement, not a next message, sends it
/// back to the journal for what it missed).
@Suite(.timeLimit(.minutes(5))) struct AcknowledgementWindowTests {
    /// The file store, with a gate that holds every acknowledgement while it is closed.
    final class GatedStore: ForwardingStore, @unchecked Sendable {
        private let held = LockedValue(
            (closed: false, tickets: [(AppendTicket, Result<ClosedRange<UInt64>, JournalError>)]()))

        func close() { held.withLock { $0.closed = true } }

        func open() {
            let released = held.withLock { held in
                held.closed = false
                defer { held.tickets = [] }
                return held.tickets
            }
            for (ticket, result) in released { ticket.complete(result) }
        }

        /// Completes `ticket` with `result` now, or when the gate opens.
        func pass(_ ticket: AppendTicket, _ result: Result<ClosedRange<UInt64>, JournalError>) {
            let now = held.withLock { held in
                if held.closed { held.tickets.append((ticket, result)) }
                return !held.closed
            }
            if now { ticket.complete(result) }
        }

        override func wrap(_ journal: any OwnedJournal) -> any OwnedJournal { Gated(inner: journal, store: self) }
    }

    final class Gated: ForwardingJournal, @unchecked Sendable {
        let store: GatedStore
        init(inner: any OwnedJournal, store: GatedStore) {
            self.store = store
            super.init(inner: inner)
        }

        override func submit(contentsOf messages: [[UInt8]]) -> AppendTicket {
            let ticket = AppendTicket()
            let store = self.store
            inner.submit(contentsOf: messages).whenComplete { store.pass(ticket, $0) }
            return ticket
        }
    }

    @Test func aSubscriberBetweenApplyAndAcknowledgementGetsTheMessage() async throws {
        let directory = TemporaryDirectory()
        let store = GatedStore(directory: directory.path)
        let supervisor = Supervisor(store: store, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "window", process: Account(), options: fastOptions()))
            try await withThrowingTaskGroup(of: Void.self) { group in
                store.close()
                group.addTask {
                    let sequence = try await account.send(.deposit(7))
                    #expect(sequence == 1)
                }
                // Applied (the state shows it), not acknowledged (the gate holds it).
                while try await account.read({ $0.balance }) != 7 { try await Task.sleep(for: .milliseconds(1)) }
                group.addTask {
                    for try await event in account.messages(from: 1) {
                        #expect(event.sequence == 1)
                        if case .message(_, let message) = event { #expect(message == .deposit(7)) }
                        return
                    }
                    Issue.record("the subscription ended without the message")
                }
                // The subscriber is live (it found nothing more to read) before the acknowledgement.
                while account.waitingSubscriptions == 0 { try await Task.sleep(for: .milliseconds(1)) }
                store.open()
                try await group.waitForAll()
            }
        }
    }
}
