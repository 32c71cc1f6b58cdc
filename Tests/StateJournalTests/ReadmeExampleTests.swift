import Foundation
import Logging
import StateJournal
import StateJournalTesting
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

    /// The README's "Fewer bytes on disk": a process journaled at `.high` restarts with its state.
    @Test func compressionLevelExample() async throws {
        let directory = TemporaryDirectory()
        let logger = quietLogger
        for round in 0..<2 {
            let supervisor = Supervisor(directory: directory.path, logger: logger)
            try await supervisor.run {
                var options = ProcessOptions(retention: .persistent)
                options.journal.compressionLevel = .high  // LZ4HC; .fast is the default
                let cart = try await supervisor.child(id: "cart-8") {
                    ChildSpec(id: $0, process: Room(), options: options)
                }
                if round == 0 {
                    for index in 0..<100 { try await cart.send("item \(index) added to the cart") }
                }
                #expect(try await cart.state == (0..<100).map { "item \($0) added to the cart" })
            }
        }
    }

    /// StateJournalEncoding's catalog example.
    @Test func encodingCatalogExample() throws {
        let bytes = try CompactEncoder().encode(["apple": 2])
        let value = try CompactDecoder().decode([String: Int].self, from: bytes)
        #expect(value == ["apple": 2])
    }

    /// docs/GUIDE.md, "Stores": a supervisor over a store.
    @Test func guideStoreExample() async throws {
        let temporary = TemporaryDirectory()
        let directory = temporary.path
        let logger = quietLogger
        let supervisor = Supervisor(store: FileJournalStore(directory: directory), logger: logger)
        try await supervisor.run {
            let room = try await supervisor.child(id: "room-42") { ChildSpec(id: $0, process: Room()) }
            try await room.send("ana joined")
        }
    }

    /// docs/GUIDE.md, "Stores", and the test kit's documentation: the conformance suite.
    @Test(arguments: [JournalStoreConformance.Check.roundTrip, .ownership])
    func conforms(_ check: JournalStoreConformance.Check) async throws {
        let directory = TemporaryJournalDirectory()
        let suite = JournalStoreConformance(makeStore: { FileJournalStore(directory: directory.path) })
        try await suite.run(check)
    }

    /// FileJournalStore's documentation example.
    @Test func fileStoreExample() async throws {
        let directory = TemporaryDirectory()
        let logger = quietLogger
        let store = FileJournalStore(directory: directory.path + "/carts")
        let journal = try await store.open("cart-42", options: JournalOptions(durability: .synced), logger: logger)
        _ = try await journal.submit(contentsOf: [[1, 2, 3]]).value()
        try await journal.close(discard: true)
    }

    @Test func docCOverviewExample() async throws {
        let directory = TemporaryDirectory()
        let logger = quietLogger
        let supervisor = Supervisor(directory: directory.path, logger: logger)
        let members = try await supervisor.run {
            let room = try await supervisor.child(id: "room-42") {
                ChildSpec(id: $0, process: ChatRoom(), options: ProcessOptions(durability: .written))
            }
            try await room.send(.join("ana"))  // returns once journaled
            return try await room.state.members
        }
        #expect(members == ["ana"])
    }

    struct Cart: JournaledProcess {
        struct State: Codable, Sendable { var items: [String: Int] = [:] }
        enum Message: Codable, Sendable {
            case add(String, Int)
            case remove(String)
        }
        enum Refusal: Error { case notInCart(String) }

        var initialState: State { State() }

        func validate(_ message: Message, against state: State) throws(Refusal) {
            if case .remove(let item) = message, state.items[item] == nil { throw .notInCart(item) }
        }

        func apply(_ message: Message, to state: inout State) {
            switch message {
            case .add(let item, let count): state.items[item, default: 0] += count
            case .remove(let item): state.items[item] = nil
            }
        }
    }

    @Test func refusingReplyingFollowingExample() async throws {
        let directory = TemporaryDirectory()
        let logger = quietLogger
        let supervisor = Supervisor(directory: directory.path, logger: logger)
        var refused: String?
        var followed: [UInt64] = []
        try await supervisor.run {
            _ = try await supervisor.recoverChildren { ChildSpec(id: $0, process: Cart()) }  // carts a crash left
            let cart = try await supervisor.child(id: "cart-7") { ChildSpec(id: $0, process: Cart()) }
            let apples = try await cart.send(.add("apple", 2)) { $0.items["apple"] ?? 0 }  // the state right after it
            do {
                try await cart.send(.remove("pear"))
            } catch Cart.Refusal.notInCart(let item) {
                print("no \(item) in the cart; nothing journaled, no crash")
                refused = item
            }
            for try await case .message(let sequence, let message) in cart.messages(from: 1) {  // journal, then live
                print(sequence, message, apples)
                followed.append(sequence)
                if sequence == 1 { break }
            }
            #expect(apples == 2)
        }
        #expect(refused == "pear")
        #expect(followed == [1])
    }
}
