import Foundation
public import Logging
public import StateJournal
import StateJournalEncoding
import StateJournalStorage

/// Concurrent histories checked against a sequential model (Jepsen-style): many senders drive
/// real processes under a real supervisor — messages that `apply` accepts or refuses depending
/// on the state, crashes, stops, cancellations and timeouts — every outcome is recorded, and the
/// history is then checked against what one sequential process would have done.
///
/// The checks: the journal holds exactly the acknowledged messages, each once, at the sequence
/// number its sender was given, in an order consistent with each sender's order; no refused,
/// cancelled or timed-out message is journaled; folding the journal with the model accepts
/// every message (each was applied to the state the journal's prefix rebuilds); the live state,
/// and the state after a final restart, equal the model's fold.
public enum HistoryCheck {
    /// What one history does.
    public struct Configuration: Sendable {
        /// Concurrent senders.
        public var senders: Int
        /// Operations each sender makes.
        public var operationsPerSender: Int
        /// Supervised children the senders pick from.
        public var children: Int
        /// The supervisor's strategy.
        public var strategy: SupervisionStrategy
        /// Percent of operations that crash a child.
        public var crashPercent: Int
        /// Percent of operations that stop a child.
        public var stopPercent: Int
        /// Percent of sends cancelled while they wait.
        public var cancelPercent: Int
        /// Percent of sends with a timeout too short to wait out a restart.
        public var timeoutPercent: Int

        /// A configuration; the percentages default to a mix that exercises every path.
        public init(
            senders: Int, operationsPerSender: Int = 20, children: Int = 3, strategy: SupervisionStrategy = .oneForOne,
            crashPercent: Int = 5, stopPercent: Int = 1, cancelPercent: Int = 8, timeoutPercent: Int = 8
        ) {
            self.senders = senders
            self.operationsPerSender = operationsPerSender
            self.children = children
            self.strategy = strategy
            self.crashPercent = crashPercent
            self.stopPercent = stopPercent
            self.cancelPercent = cancelPercent
            self.timeoutPercent = timeoutPercent
        }

        /// A configuration drawn from `seed`: 1–64 senders, one of the three strategies.
        public static func random(seed: UInt64) -> Configuration {
            var generator = SplitMix64(seed: seed ^ 0xC0FF_EE00)
            let strategies: [SupervisionStrategy] = [.oneForOne, .oneForAll, .restForOne]
            return Configuration(
                senders: 1 + Int(generator.next() % 64), operationsPerSender: 5 + Int(generator.next() % 25),
                children: 1 + Int(generator.next() % 4), strategy: strategies[Int(generator.next() % 3)])
        }
    }

    /// What one history did, and what was wrong with it.
    public struct Report: Sendable, CustomStringConvertible {
        /// The seed that replays this history.
        public var seed: UInt64
        /// Operations made.
        public var operations = 0
        /// Sends acknowledged.
        public var acknowledged = 0
        /// Sends refused by a crash of `apply` (poison messages).
        public var refused = 0
        /// Refused by `validate` (no crash).
        public var declined = 0
        /// Sends cancelled while they waited.
        public var cancelled = 0
        /// Sends that timed out while they waited.
        public var timedOut = 0
        /// Sends that found their child stopped.
        public var stopped = 0
        /// Crashes made.
        public var crashes = 0
        /// Stops made.
        public var stops = 0
        /// Each broken rule, with the child, the message and the sequence number.
        public var violations: [String] = []

        /// An empty report of the history of `seed`.
        public init(seed: UInt64) { self.seed = seed }

        public var description: String {
            "seed \(seed): \(operations) operations, \(acknowledged) acknowledged, \(declined) declined, \(refused) refused, \(cancelled) cancelled, "
                + "\(timedOut) timed out, \(stopped) answered stopped, \(crashes) crashes, \(stops) stops, \(violations.count) violations"
                + (violations.isEmpty ? "" : ":\n  " + violations.prefix(20).joined(separator: "\n  "))
        }
    }

    /// The process of every history: its state is the list of message ids applied, in order.
    public struct Ledger: JournaledProcess {
        /// What a sender sends.
        public enum Message: Codable, Sendable, Hashable {
            /// Always accepted.
            case append(Int)
            /// Always refused: the process crashes and restarts without it.
            case poison(Int)
            /// Accepted only when the state holds an even number of ids, else refused by
            /// `validate` (no crash): a message validated against the wrong state (a reset one)
            /// is accepted where the model refuses it, or the reverse.
            case ifEven(Int)

            var id: Int {
                switch self {
                case .append(let id), .poison(let id), .ifEven(let id): id
                }
            }
        }

        struct Refused: Error {}

        /// `validate`'s refusal of an `ifEven` on an odd state.
        public struct Odd: Error, Equatable {}

        /// The ledger.
        public init() {}
        /// No ids.
        public var initialState: [Int] { [] }

        /// Refuses an `ifEven` on a state with an odd number of ids.
        public func validate(_ message: Message, against state: [Int]) throws(Odd) {
            if case .ifEven = message, state.count % 2 != 0 { throw Odd() }
        }

        /// Appends the id; throws on a poison message.
        public func apply(_ message: Message, to state: inout [Int]) throws {
            switch message {
            case .append(let id), .ifEven(let id): state.append(id)
            case .poison: throw Refused()
            }
        }
    }

    enum Outcome: Sendable {
        case acknowledged(UInt64)
        /// Acknowledged, with the reply: the state right after the message.
        case replied(UInt64, [Int])
        /// Refused by `validate`: the process goes on.
        case declined
        /// `apply` threw: the process crashed.
        case refused
        case cancelled
        case timedOut
        case stopped
        case failed(String)
    }

    struct Sent: Sendable {
        var sender: Int
        var child: Int
        var message: Ledger.Message
        var outcome: Outcome
    }

    /// Runs one history from `seed` in a temporary directory and checks it.
    public static func run(seed: UInt64, configuration: Configuration? = nil, logger: Logger? = nil) async throws
        -> Report
    {
        let configuration = configuration ?? .random(seed: seed)
        let logger = logger ?? Logger(label: "statejournal.history") { _ in SwiftLogNoOpLogHandler() }
        let directory = TemporaryJournalDirectory("history")
        let supervisor = Supervisor(
            directory: directory.path, strategy: configuration.strategy,
            intensity: RestartIntensity(maxRestarts: 1_000_000, within: .seconds(3600)),
            backoff: Backoff(initial: .microseconds(50), maximum: .milliseconds(1)), logger: logger)
        var options = ProcessOptions(retention: .persistent)
        options.journal.idleTimeout = nil
        // The supervisor runs (restarts children) while the history runs, and stops normally after.
        return try await supervisor.run {
            var handles: [ProcessHandle<Ledger>] = []
            for index in 0..<configuration.children {
                handles.append(
                    try await supervisor.start(ChildSpec(id: "ledger-\(index)", process: Ledger(), options: options)))
            }
            let children = handles
            var report = Report(seed: seed)

            // The senders, each with its own generator; every operation's outcome is recorded once.
            let results = await withTaskGroup(of: (sent: [Sent], crashes: Int, stops: Int).self) { group in
                for sender in 0..<configuration.senders {
                    group.addTask {
                        var generator = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(sender))
                        var sent: [Sent] = []
                        var crashes = 0
                        var stops = 0
                        for operation in 0..<configuration.operationsPerSender {
                            let child = Int(generator.next() % UInt64(children.count))
                            let handle = children[child]
                            let roll = Int(generator.next() % 100)
                            if roll < configuration.crashPercent {
                                await handle.simulateCrash()
                                crashes += 1
                                continue
                            }
                            if roll < configuration.crashPercent + configuration.stopPercent {
                                // A normal stop of a permanent child: it is started again from its (persistent) journal.
                                try? await handle.stop()
                                stops += 1
                                continue
                            }
                            let id = sender * 1_000_000 + operation
                            let kind = generator.next() % 100
                            let message: Ledger.Message =
                                kind < 70 ? .append(id) : kind < 85 ? .poison(id) : .ifEven(id)
                            let style = Int(generator.next() % 100)
                            let outcome: Outcome
                            if style < configuration.cancelPercent {
                                outcome = await withTaskGroup(of: Outcome.self) { inner in
                                    inner.addTask { await classify { try await handle.send(message) } }
                                    inner.cancelAll()
                                    return await inner.next()!
                                }
                            } else if style < configuration.cancelPercent + configuration.timeoutPercent {
                                outcome = await classify { try await handle.send(message, timeout: .microseconds(200)) }
                            } else if style < configuration.cancelPercent + configuration.timeoutPercent + 30 {
                                outcome = await classifyReply { try await handle.sendWithSequence(message) { $0 } }
                            } else {
                                outcome = await classify { try await handle.send(message) }
                            }
                            sent.append(Sent(sender: sender, child: child, message: message, outcome: outcome))
                            if case .stopped = outcome {
                                // Stopped normally: its supervisor starts it again. Wait for that rather than
                                // spend the sender's next operations on a child that is not there yet.
                                _ = try? await runningState(handle)
                            }
                        }
                        return (sent, crashes, stops)
                    }
                }
                return await group.reduce(into: [(sent: [Sent], crashes: Int, stops: Int)]()) { $0.append($1) }
            }
            // Every sender has its answer. A last message to each child, with nothing else going on,
            // must be acknowledged: a runtime that answers everything with an error fails here.
            var last: [Sent] = []
            for (index, handle) in children.enumerated() {
                let message = Ledger.Message.append(-1 - index)
                // A stop of the history may still be on its way through the supervisor (two stops
                // in a row are two restarts): a send answered `stopped` meanwhile was not applied;
                // send again once the child runs. A runtime that never runs it again fails on the
                // caller's time limit.
                var outcome = Outcome.stopped
                while case .stopped = outcome {
                    _ = try? await runningState(handle)
                    outcome = await classify { try await handle.send(message) }
                }
                if case .acknowledged = outcome {
                } else {
                    report.violations.append(
                        "ledger-\(index): a last message sent after the history was answered \(outcome), not acknowledged"
                    )
                }
                last.append(Sent(sender: configuration.senders, child: index, message: message, outcome: outcome))
            }
            let sent = results.flatMap(\.sent) + last
            report.crashes = results.reduce(0) { $0 + $1.crashes }
            report.stops = results.reduce(0) { $0 + $1.stops }
            report.operations = sent.count + report.crashes + report.stops
            for item in sent {
                switch item.outcome {
                case .acknowledged, .replied: report.acknowledged += 1
                case .declined: report.declined += 1
                case .refused: report.refused += 1
                case .cancelled: report.cancelled += 1
                case .timedOut: report.timedOut += 1
                case .stopped: report.stopped += 1
                case .failed(let text):
                    report.violations.append(
                        "sender \(item.sender), \(item.message) to ledger-\(item.child): unexpected outcome \(text)")
                }
            }

            for (index, handle) in children.enumerated() {
                report.violations += await check(child: index, handle: handle, sent: sent.filter { $0.child == index })
            }
            return report
        }
    }

    /// The checks of one child, for a history given as the acknowledged (sequence, message) pairs
    /// of one sender (the checker's own tests).
    package static func checkForTesting(handle: ProcessHandle<Ledger>, acknowledged: [(UInt64, Ledger.Message)]) async
        -> [String]
    {
        await check(
            child: 0, handle: handle,
            sent: acknowledged.map { Sent(sender: 0, child: 0, message: $0.1, outcome: .acknowledged($0.0)) })
    }

    /// The state once the process runs. A permanent child stopped by the history's last operation
    /// answers `stopped` until its supervisor has started it again: wait for that (no deadline;
    /// a child never started again is caught by the caller's time limit).
    static func runningState(_ handle: ProcessHandle<Ledger>) async throws -> [Int] {
        while true {
            do {
                return try await handle.state
            } catch let error as ProcessError where error.code == .stopped {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    static func classifyReply(_ send: () async throws -> (sequence: UInt64, reply: [Int])) async -> Outcome {
        do {
            let (sequence, reply) = try await send()
            return .replied(sequence, reply)
        } catch {
            return outcome(of: error)
        }
    }

    static func classify(_ send: () async throws -> UInt64) async -> Outcome {
        do {
            return .acknowledged(try await send())
        } catch {
            return outcome(of: error)
        }
    }

    static func outcome(of error: any Error) -> Outcome {
        do {
            throw error
        } catch is Ledger.Odd {
            return .declined
        } catch is CancellationError {
            return .cancelled
        } catch let error as ProcessError {
            switch error.code {
            case .rejected: return .refused
            case .timedOut: return .timedOut
            case .stopped: return .stopped
            default: return .failed("\(error)")
            }
        } catch {
            return .failed("\(error)")
        }
    }

    /// The checks of one child's history against the model.
    static func check(child: Int, handle: ProcessHandle<Ledger>, sent: [Sent]) async -> [String] {
        let name = "ledger-\(child)"
        var violations: [String] = []
        let live: [Int]
        do { live = try await runningState(handle) } catch {
            return ["\(name): not running at the end: \(error)"]
        }
        // The journal, as a reader sees it.
        var journal: [(sequence: UInt64, message: Ledger.Message)] = []
        do {
            let reader = try JournalReader(path: handle.journalPath)
            while let frame = try reader.nextFrame() {
                for message in frame.messages {
                    journal.append(
                        (message.sequence, try CompactDecoder().decode(Ledger.Message.self, from: message.bytes)))
                }
            }
        } catch {
            return ["\(name): the journal cannot be read: \(error)"]
        }
        let bySequence = Dictionary(journal.map { ($0.sequence, $0.message) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<Int>()
        for entry in journal where !seen.insert(entry.message.id).inserted {
            violations.append("\(name): message \(entry.message) journaled twice (again at sequence \(entry.sequence))")
        }
        // The model: one process validating and applying the journal in order accepts every
        // message; its state after each sequence is what a reply to that message must say.
        var model: [Int] = []
        var folds: [UInt64: [Int]] = [:]
        for entry in journal {
            do {
                try Ledger().validate(entry.message, against: model)
                try Ledger().apply(entry.message, to: &model)
            } catch {
                violations.append(
                    "\(name): \(entry.message) at sequence \(entry.sequence) is refused by the model on the state its journal prefix rebuilds"
                )
            }
            folds[entry.sequence] = model
        }
        var acknowledgedIDs = Set<Int>()
        var lastBySender: [Int: UInt64] = [:]
        for item in sent {
            if case .replied(let sequence, let reply) = item.outcome, folds[sequence] != reply {
                violations.append(
                    "\(name): the reply to \(item.message) (sequence \(sequence)) is not the state right after it")
            }
            switch item.outcome {
            case .acknowledged(let sequence), .replied(let sequence, _):
                acknowledgedIDs.insert(item.message.id)
                if bySequence[sequence] != item.message {
                    violations.append(
                        "\(name): \(item.message) acknowledged as sequence \(sequence), the journal holds \(bySequence[sequence].map { "\($0)" } ?? "nothing") there"
                    )
                }
                if let previous = lastBySender[item.sender], previous >= sequence {
                    violations.append(
                        "\(name): sender \(item.sender)'s \(item.message) is sequence \(sequence), after its earlier message at \(previous)"
                    )
                }
                lastBySender[item.sender] = sequence
            case .declined, .refused, .cancelled, .timedOut, .stopped:
                if seen.contains(item.message.id) {
                    violations.append("\(name): \(item.message) was answered \(item.outcome) but is in the journal")
                }
            case .failed:
                break
            }
        }
        for entry in journal where !acknowledgedIDs.contains(entry.message.id) {
            violations.append(
                "\(name): \(entry.message) at sequence \(entry.sequence) is journaled but its sender was not told it was acknowledged"
            )
        }
        if live != model { violations.append("\(name): the live state differs from the model's fold of the journal") }
        // A last restart rebuilds the same state.
        await handle.simulateCrash()
        do {
            let replayed = try await runningState(handle)
            if replayed != model {
                violations.append("\(name): the state after a final restart differs from the model's fold")
            }
        } catch {
            violations.append("\(name): the final restart failed: \(error)")
        }
        return violations
    }
}
