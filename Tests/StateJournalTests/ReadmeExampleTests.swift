import Foundation
import Logging
import StateJournal
import Testing

/// The README's ten-line example and the DocC overview's, as written there, run.
@Suite struct ReadmeExampleTests {
    struct Room: JournaledProcess {  // State and Message are Codable
        var initialState: [String] { [] }
        func apply(_ message: String, to state: inout [String]) throws { state.append(message) }
    }

    @Test func tenLineExample() async throws {
        let directory = TemporaryDirectory()
        let logger = quietLogger
        let supervisor = Supervisor(directory: directory.path, logger: logger)
        try await supervisor.run {
            let room = try await supervisor.child(id: "room-42") { ChildSpec(id: $0, process: Room()) }
            try await room.send("ana joined")
            #expect(try await room.state == ["ana joined"])
        }
    }

    @Test func docCOverviewExample() async throws {
        let directory = TemporaryDirectory()
        let logger = quietLogger
        let supervisor = Supervisor(directory: directory.path, logger: logger)
        let members = try await supervisor.run {
            let room = try await supervisor.child(id: "room-42") {
                ChildSpec(id: $0, process: ChatRoom(), options: ProcessOptions(durability: .written))
            }
            try await room.send(.join("ana"))    // returns once journaled
            return try await room.state.members
        }
        #expect(members == ["ana"])
    }
}
