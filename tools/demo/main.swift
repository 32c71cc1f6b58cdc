// The StateJournal demo: chat rooms that survive kill -9, a poison message,
// and a normal stop that leaves nothing behind.
//
//     swift run statejournal-demo
//
// The parent process narrates; the chat rooms run in a child OS process
// (this same program, started with `serve DIR`), which the parent kills.
import Foundation
import Logging
import StateJournal

#if canImport(Glibc)
    import Glibc
#endif

struct ChatRoom: JournaledProcess {
    struct State: Codable, Sendable, Equatable {
        var members: [String] = []
        var messages: [String] = []
    }

    enum Message: Codable, Sendable {
        case join(String)
        case say(user: String, text: String)
        /// A message the room's code cannot handle: `apply` throws.
        case corrupted
    }

    struct Unreadable: Error, CustomStringConvertible {
        var description: String { "this message cannot be applied" }
    }

    var initialState: State { State() }

    func apply(_ message: Message, to state: inout State) throws {
        switch message {
        case .join(let user):
            if !state.members.contains(user) { state.members.append(user) }
        case .say(let user, let text):
            state.messages.append("\(user): \(text)")
        case .corrupted:
            throw Unreadable()
        }
    }
}

let rooms = ["lobby", "random", "swift"]
let users = ["ana", "bo", "chen", "dara"]
let quiet = Logger(label: "demo") { _ in SwiftLogNoOpLogHandler() }

func spec(_ id: String) -> ChildSpec<ChatRoom> {
    ChildSpec(id: id, process: ChatRoom(), options: ProcessOptions(durability: .written))
}

/// The child: runs the rooms and prints one line per acknowledged message.
func serve(directory: String) async throws {
    let supervisor = Supervisor(directory: directory, logger: quiet)
    try await supervisor.run {
        var handles: [ProcessHandle<ChatRoom>] = []
        for room in rooms { handles.append(try await supervisor.start(spec(room))) }
        for (index, room) in handles.enumerated() {
            for user in users { try await room.send(.join(user)) }
            print("joined \(rooms[index])")
        }
        var n = 0
        while true {
            n += 1
            let index = n % handles.count
            let text = "message \(n)"
            let sequence = try await handles[index].send(.say(user: users[n % users.count], text: text))
            // Printed only after the journal acknowledged it.
            print("ack \(rooms[index]) \(sequence) \(users[n % users.count]): \(text)")
            fflush(nil)
        }
    }
}

func say(_ text: String) {
    print(text)
    fflush(nil)
}

func narrate() async throws {
    let directory = FileManager.default.temporaryDirectory.path + "/statejournal-demo-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }

    say("StateJournal demo")
    say("=================\n")
    say("1. A server process runs three chat rooms (\(rooms.joined(separator: ", "))), each an actor whose")
    say("   every message is journaled before it is acknowledged. Journals live in \(directory).\n")

    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["serve", directory]
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()

    var acknowledged: [String: [String]] = [:]
    var buffer = Data()
    let target = 300 + Int.random(in: 0..<200)
    var count = 0
    reading: while true {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        buffer.append(chunk)
        while let newline = buffer.firstIndex(of: 0x0A) {
            let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
            buffer.removeSubrange(buffer.startIndex...newline)
            let parts = line.split(separator: " ", maxSplits: 3)
            guard parts.first == "ack", parts.count == 4 else { continue }
            acknowledged[String(parts[1]), default: []].append(String(parts[3]))
            count += 1
            if count == target { break reading }
        }
    }
    kill(child.processIdentifier, SIGKILL)
    child.waitUntilExit()
    say("2. The server acknowledged \(count) chat messages, then was killed with kill -9 mid-stream")
    say("   (terminate handlers never ran; whatever was only in memory is gone).\n")

    say("3. A new server starts the same rooms. Each replays its journal before it accepts messages:")
    let supervisor = Supervisor(directory: directory, logger: quiet)
    let everyAckBack = try await supervisor.run {
        var everyAckBack = true
        var handles: [String: ProcessHandle<ChatRoom>] = [:]
        for room in rooms {
            let handle = try await supervisor.start(spec(room))
            handles[room] = handle
            let state = try await handle.state
            let acks = acknowledged[room] ?? []
            let back = state.messages.starts(with: acks)
            everyAckBack = everyAckBack && back
            let replayed = await handle.lastReplay?.messages ?? 0
            say(
                "   \(room.padding(toLength: 7, withPad: " ", startingAt: 0)) replayed \(replayed) messages: \(state.members.count) members, \(state.messages.count) chat lines"
                    + " (\(acks.count) were acknowledged\(state.messages.count > acks.count ? ", \(state.messages.count - acks.count) more were written but not yet acknowledged" : ""))"
            )
        }
        say(
            everyAckBack
                ? "   Every acknowledged message is back, in order, once.\n"
                : "   MISSING MESSAGES: an acknowledged message was lost.\n")

        say("4. Someone sends the lobby a message its code cannot apply:")
        let lobby = handles["lobby"]!
        let before = try await lobby.state.messages.count
        do {
            try await lobby.send(.corrupted)
        } catch let error as ProcessError {
            say("   the sender gets an error: \(error.code) (\(error.cause.map { "\($0)" } ?? ""))")
        }
        try await lobby.send(.say(user: "ana", text: "is anyone still here?"))
        let after = try await lobby.state
        say("   the lobby crashed, was restarted from its journal without the bad message,")
        say(
            "   and carries on: \(after.messages.count) chat lines (\(before) before, +1 new), last: \"\(after.messages.last ?? "")\"\n"
        )

        say("5. The server stops normally (graceful shutdown).")
        return everyAckBack
    }
    let left = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
        $0.hasSuffix(".journal")
    }
    say("   Journals left on disk: \(left.isEmpty ? "none" : left.joined(separator: ", ")). The state was transient:")
    say("   kept across crashes, gone after a clean stop.")
    if !everyAckBack || !left.isEmpty { exit(1) }
}

if CommandLine.arguments.count == 3 && CommandLine.arguments[1] == "serve" {
    try await serve(directory: CommandLine.arguments[2])
} else {
    try await narrate()
}
