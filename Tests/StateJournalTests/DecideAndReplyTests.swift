import Foundation
import StateJournal
import StateJournalEncoding
import StateJournalStorage
import Testing

/// An account: deposits always accepted, a withdrawal refused (not crashed) when it would
/// overdraw. `apply` throws only on a bug (a negative amount).
struct Account: JournaledProcess {
    struct State: Codable, Sendable, Equatable {
        var balance = 0
        var operations = 0
    }

    enum Message: Codable, Sendable, Equatable {
        case deposit(Int)
        case withdraw(Int)
    }

    enum Refusal: Error, Equatable {
        case insufficientFunds(balance: Int, asked: Int)
    }

    var initialState: State { State() }

    func validate(_ message: Message, against state: State) throws(Refusal) {
        if case .withdraw(let amount) = message, amount > state.balance {
            throw .insufficientFunds(balance: state.balance, asked: amount)
        }
    }

    func apply(_ message: Message, to state: inout State) throws {
        switch message {
        case .deposit(let amount):
            guard amount >= 0 else { throw Rejected() }
            state.balance += amount
        case .withdraw(let amount):
            state.balance -= amount
        }
        state.operations += 1
    }

    /// The journal of `path`, decoded, in order.
    static func journal(at path: String) throws -> [(sequence: UInt64, message: Message)] {
        let reader = try JournalReader(path: path)
        var messages: [(UInt64, Message)] = []
        while let frame = try reader.nextFrame() {
            for message in frame.messages {
                messages.append((message.sequence, try CompactDecoder().decode(Message.self, from: message.bytes)))
            }
        }
        return messages
    }
}

@Suite(.timeLimit(.minutes(10))) struct DecideAndReplyTests {
    /// 16 senders deposit and withdraw at once. Withdrawals that would overdraw are refused
    /// with the process's own error: nothing journaled for them, no crash, no restart — even
    /// with a restart intensity that a handful of crashes would exceed.
    @Test func refusalsUnderConcurrentSendersAreNotJournaledAndCrashNothing() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(
            directory: directory.path, intensity: RestartIntensity(maxRestarts: 1, within: .seconds(60)),
            logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "account", process: Account(), options: fastOptions()))
            let outcomes = try await withThrowingTaskGroup(of: (accepted: [Account.Message], refused: Int).self) {
                group in
                for sender in 0..<16 {
                    group.addTask {
                        var accepted: [Account.Message] = []
                        var refused = 0
                        for i in 0..<40 {
                            let message: Account.Message = (sender + i) % 3 == 0 ? .deposit(5) : .withdraw(4)
                            do {
                                try await account.send(message)
                                accepted.append(message)
                            } catch let refusal as Account.Refusal {
                                guard case .insufficientFunds(let balance, let asked) = refusal else { continue }
                                #expect(asked > balance)
                                refused += 1
                            }
                        }
                        return (accepted, refused)
                    }
                }
                return try await group.reduce(into: (accepted: [Account.Message](), refused: 0)) {
                    $0.accepted += $1.accepted
                    $0.refused += $1.refused
                }
            }
            #expect(
                outcomes.refused > 20, "the history must refuse many withdrawals to test anything (\(outcomes.refused))"
            )
            let journal = try Account.journal(at: account.journalPath)
            #expect(journal.count == outcomes.accepted.count, "exactly the accepted messages are journaled")
            #expect(
                journal.map(\.message).sorted { "\($0)" < "\($1)" } == outcomes.accepted.sorted { "\($0)" < "\($1)" })
            // The journal's order never overdraws: every journaled withdrawal was valid where it stands.
            var model = Account.State()
            for (sequence, message) in journal {
                #expect(
                    (try? Account().validate(message, against: model)) != nil,
                    "sequence \(sequence) overdraws in the journal's order")
                try Account().apply(message, to: &model)
            }
            #expect(try await account.state == model)
            #expect(await account.lastReplay?.messages == 0, "no restart replayed anything")
        }
    }

    /// A reply is the state right after its own message, with no other message in between:
    /// each reply equals the fold of the journal up to the message's sequence.
    @Test func aReplyIsTheStateRightAfterItsMessage() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let account = try await supervisor.start(
                ChildSpec(id: "replies", process: Account(), options: fastOptions(.synced)))
            let replies = try await withThrowingTaskGroup(of: [(UInt64, Account.State)].self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        var replies: [(UInt64, Account.State)] = []
                        for i in 0..<30 {
                            let (sequence, state) = try await account.sendWithSequence(.deposit(sender * 100 + i)) {
                                $0
                            }
                            replies.append((sequence, state))
                        }
                        return replies
                    }
                }
                return try await group.reduce(into: [(UInt64, Account.State)]()) { $0 += $1 }
            }
            let journal = try Account.journal(at: account.journalPath)
            var folds: [UInt64: Account.State] = [:]
            var model = Account.State()
            for (sequence, message) in journal {
                try Account().apply(message, to: &model)
                folds[sequence] = model
            }
            #expect(replies.count == 240)
            for (sequence, state) in replies {
                #expect(folds[sequence] == state, "the reply to sequence \(sequence) is not the state right after it")
            }
            // The plain form answers with the value only.
            let balance = try await account.send(.deposit(1)) { $0.balance }
            #expect(balance == model.balance + 1)
        }
    }

    /// "A snapshot every 200 messages" counts from the journal, not from the process's start:
    /// in a new program (the last one stopped without grace, as a crash), after a replay of
    /// 130 messages, the next snapshot comes 70 messages later.
    @Test func theSnapshotPolicyCountsFromTheJournal() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.snapshots = .every(messages: 200)
        /// One program: starts the account, checks what it replayed, sends `count` deposits, and
        /// ends without grace (every journal kept).
        func program(sending count: Int) async throws -> (replayed: Int, balance: Int) {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            var outcome = (replayed: -1, balance: -1)
            await #expect(throws: CancellationError.self) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await supervisor.run() }
                    let account = try await supervisor.start(
                        ChildSpec(id: "snapshots", process: Account(), options: options))
                    outcome = (await account.lastReplay?.messages ?? -1, try await account.state.balance)
                    for _ in 0..<count { try await account.send(.deposit(1)) }
                    group.cancelAll()
                    try await group.waitForAll()
                }
            }
            return outcome
        }
        #expect(try await program(sending: 330) == (0, 0))
        #expect(try await program(sending: 190) == (130, 330))
        let (replayed, balance) = try await program(sending: 0)
        #expect(balance == 520)
        #expect(
            replayed < 200, "the policy started counting from zero in the new program: \(replayed) messages replayed")
    }
}
