import Foundation
import Logging
import StateJournal
import Synchronization
import Testing

let quietLogger = Logger(label: "statejournal.runtime.tests") { _ in SwiftLogNoOpLogHandler() }

final class TemporaryDirectory: Sendable {
    let path: String
    init(_ function: String = #function) {
        let name = function.filter { $0.isLetter || $0.isNumber }.prefix(40)
        path = "\(FileManager.default.temporaryDirectory.path)/sjr-\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var journals: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".journal") }.sorted() }
    var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
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
    /// Collects the events seen so far (non-blocking: takes what is buffered within `timeout`).
    nonisolated func collect(until predicate: @escaping @Sendable ([SupervisorEvent]) -> Bool, timeout: Duration = .seconds(10)) async -> [SupervisorEvent] {
        let box = EventBox()
        let reader = Task {
            for await event in events {
                box.append(event)
                if predicate(box.all) { return }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while !predicate(box.all) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        reader.cancel()
        return box.all
    }
}

final class EventBox: @unchecked Sendable {
    // Safe: `events` is only touched with `lock` held (an NSLock, which ThreadSanitizer understands).
    private let lock = NSLock()
    private var events: [SupervisorEvent] = []
    func append(_ event: SupervisorEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }
    var all: [SupervisorEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
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
