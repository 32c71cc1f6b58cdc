import Foundation
import Logging
public import StateJournal
import StateJournalSystem

/// A kill -9 harness for Swift Testing exit tests: the child half runs your
/// process in a child OS process, sends messages and kills itself with
/// SIGKILL at a random instant; the parent half restarts the process from
/// its journal and checks G1 — the state is the fold of a prefix of the
/// messages sent that holds every acknowledged one.
///
/// ```swift
/// @Test func roomSurvivesKill9() async throws {
///     let directory = TemporaryJournalDirectory()
///     let messages = (0..<500).map { ChatRoom.Message.post("m\($0)") }
///     await #expect(processExitsWith: .signal(SIGKILL)) { [path = directory.path] in
///         try await KillNine.child(ChildSpec(id: "room", process: ChatRoom()), messages: messages, directory: path, seed: 1)
///     }
///     try await KillNine.verify(ChildSpec(id: "room", process: ChatRoom()), messages: messages, directory: directory.path)
/// }
/// ```
public enum KillNine {
    static let acknowledgements = "kill-nine-acks"

    /// The child half: sends `messages` in order and kills this OS process
    /// with SIGKILL after a random number of them (from `seed`), recording
    /// every acknowledged index. Never returns.
    public static func child<P: JournaledProcess>(
        _ spec: ChildSpec<P>, messages: [P.Message], directory: String, seed: UInt64
    ) async throws -> Never {
        var generator = SplitMix64(seed: seed)
        let killAt = messages.isEmpty ? 0 : Int(generator.next() % UInt64(messages.count))
        let supervisor = Supervisor(
            directory: directory, logger: Logger(label: "statejournal.kill-nine") { _ in SwiftLogNoOpLogHandler() })
        // Supervised, so a message that `apply` refuses is followed by a restart, not a stall.
        try await supervisor.run {
            let process = try await supervisor.start(spec)
            let acks = try Syscall.openForOutput(directory + "/" + acknowledgements, [.writeOnly, .create, .append])
            for (index, message) in messages.enumerated() {
                if index == killAt { Syscall.killThisProcess() }
                if (try? await process.send(message)) != nil {
                    try Array("\(index)\n".utf8).withUnsafeBytes { raw in
                        try Result { () throws(SystemCallError) in try Syscall.writeAll(acks, raw) }.get()
                    }
                }
            }
            Syscall.killThisProcess()
        }
        fatalError("unreachable: SIGKILL")
    }

    /// The parent half: restarts the process from its journal and checks that
    /// its state is the fold of the first n messages for some n that covers
    /// every acknowledged message (nothing lost, nothing invented, nothing
    /// reordered). Throws ``ReplayDivergence`` otherwise.
    public static func verify<P: JournaledProcess>(
        _ spec: ChildSpec<P>, messages: [P.Message], directory: String
    ) async throws where P.State: Equatable {
        let text = String(
            decoding: FileManager.default.contents(atPath: directory + "/" + acknowledgements) ?? Data(), as: UTF8.self)
        let acknowledged = text.split(separator: "\n").compactMap { Int($0) }.max() ?? -1
        let supervisor = Supervisor(
            directory: directory, logger: Logger(label: "statejournal.kill-nine") { _ in SwiftLogNoOpLogHandler() })
        let replayed = try await supervisor.run {
            try await supervisor.start(spec).state
        }
        var state = spec.process.initialState
        var candidates: [P.State] = []
        for (index, message) in messages.enumerated() {
            try? spec.process.apply(message, to: &state)
            if index >= acknowledged { candidates.append(state) }
        }
        if acknowledged < 0 { candidates.insert(spec.process.initialState, at: 0) }
        if candidates.contains(replayed) { return }
        var expected = ""
        var actual = ""
        dump(candidates.first ?? state, to: &expected)
        dump(replayed, to: &actual)
        throw ReplayDivergence(
            sequence: UInt64(acknowledged + 1), messageIndex: acknowledged, live: expected, replayed: actual)
    }
}
