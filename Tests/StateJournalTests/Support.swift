import Foundation
import Logging
import StateJournal
import StateJournalTesting
import Synchronization
import Testing

let quietLogger = Logger(label: "statejournal.runtime.tests") { _ in SwiftLogNoOpLogHandler() }

/// A directory for one test (the test kit's), removed when released.
typealias TemporaryDirectory = TemporaryJournalDirectory

extension TemporaryJournalDirectory {
    /// The journal files in the directory, sorted.
    var journals: [String] { files.filter { $0.hasSuffix(".journal") } }
    /// Every entry of the directory, sorted.
    var entries: [String] { files }
}

struct Rejected: Error, Equatable {}

/// A chat room: members, and the posts in order.
struct ChatRoom: JournaledProcess {
    struct State: Codable, Sendable, Equatable {
        var members: [String] = []
        var posts: [String] = []
    }

    enum Message: Codable, Sendable, Equatable {
        case join(String)
        case leave(String)
        case post(String)
        /// Rejected by apply: a poison message.
        case poison
    }

    var initialState: State { State() }

    func apply(_ message: Message, to state: inout State) throws {
        switch message {
        case .join(let user): if !state.members.contains(user) { state.members.append(user) }
        case .leave(let user): state.members.removeAll { $0 == user }
        case .post(let text): state.posts.append(text)
        case .poison: throw Rejected()
        }
    }

    /// The fold of messages, as replay must rebuild it.
    static func fold(_ messages: [Message]) -> State {
        var state = State()
        for message in messages { try? ChatRoom().apply(message, to: &state) }
        return state
    }
}

/// A counter whose apply can be told to reject values (a "new version" of the code).
struct Counter: JournaledProcess {
    var rejecting: Int? = nil
    var initialState: Int { 0 }
    func apply(_ message: Int, to state: inout Int) throws {
        if message == rejecting { throw Rejected() }
        state += message
    }
}

/// A process whose apply is not deterministic (reads the clock).
struct ClockReader: JournaledProcess {
    var initialState: [Double] { [] }
    func apply(_ message: Int, to state: inout [Double]) throws {
        state.append(Date().timeIntervalSince1970 + Double(message))
    }
}

extension Supervisor {
    /// Reads the supervisor's events until `predicate` holds for those seen so far, and returns them.
    ///
    /// No clock is involved: a test that never sees its event is stopped by its suite's time limit,
    /// so a slow machine (or ThreadSanitizer) makes a test slower, never wrong.
    nonisolated func collect(until predicate: @escaping @Sendable ([SupervisorEvent]) -> Bool) async
        -> [SupervisorEvent]
    {
        var seen: [SupervisorEvent] = []
        for await event in events {
            seen.append(event)
            if predicate(seen) { break }
        }
        return seen
    }
}

extension SupervisorEvent {
    var restartedID: String? { if case .restarted(let id) = self { id } else { nil } }
    var crashedID: String? { if case .crashed(let id, _) = self { id } else { nil } }
    var restartDelay: Duration? { if case .restarting(_, _, let delay) = self { delay } else { nil } }
    var escalation: SupervisorError? { if case .escalated(let error) = self { error } else { nil } }
}

func fastOptions(_ durability: Durability = .written) -> ProcessOptions {
    var options = ProcessOptions(durability: durability)
    options.journal.idleTimeout = nil
    return options
}
