import Logging
import StateJournal
import StateJournalMacros
import StateJournalTesting
import Testing

/// The example of `@CompactCodable` in the README and in the macro's doc comment.
@CompactCodable
enum CartMessage: Codable, Sendable, Equatable {
    case add(sku: String, quantity: Int)
    case remove(sku: String)
    case checkout
}

/// The same message without the macro: what an older build of the program journaled.
enum PlainCartMessage: Codable, Sendable, Equatable {
    case add(sku: String, quantity: Int)
    case remove(sku: String)
    case checkout
}

/// The protocol's doc comment example.
@CompactCodable
struct Posted: Codable {
    var room: String
    var text: String
    var at: Int64
}

@CompactCodable
struct CartState: Codable, Sendable, Equatable {
    var lines: [String: Int] = [:]
    var checkedOut = false
}

struct Cart: JournaledProcess {
    var initialState: CartState { CartState() }
    func apply(_ message: CartMessage, to state: inout CartState) throws {
        switch message {
        case .add(let sku, let quantity): state.lines[sku, default: 0] += quantity
        case .remove(let sku): state.lines[sku] = nil
        case .checkout: state.checkedOut = true
        }
    }
}

struct PlainCart: JournaledProcess {
    var initialState: CartState { CartState() }
    func apply(_ message: PlainCartMessage, to state: inout CartState) throws {
        switch message {
        case .add(let sku, let quantity): state.lines[sku, default: 0] += quantity
        case .remove(let sku): state.lines[sku] = nil
        case .checkout: state.checkedOut = true
        }
    }
}

/// Journals written with `@CompactCodable` messages and states are the journals `Codable` writes:
/// each build replays the other's, snapshots included.
@Suite(.timeLimit(.minutes(5))) struct JournaledCompactCodableTests {
    let logger = Logger(label: "statejournal.macros.tests") { _ in SwiftLogNoOpLogHandler() }

    func messages(_ count: Int) -> [CartMessage] {
        (0..<count).map { i in
            switch i % 7 {
            case 0: .remove(sku: "sku-\(i % 5)")
            case 6: .checkout
            default: .add(sku: "sku-\(i % 5)", quantity: i % 4 + 1)
            }
        }
    }

    @Test func eachBuildReplaysTheOthersJournal() async throws {
        let directory = TemporaryJournalDirectory()
        let options = ProcessOptions(retention: .persistent, snapshots: .every(messages: 40))
        let sent = messages(100)
        let expected = try sent.reduce(into: CartState()) { try Cart().apply($1, to: &$0) }
        let first = Supervisor(directory: directory.path, logger: logger)
        try await first.run {
            let cart = try await first.child(id: "cart") { ChildSpec(id: $0, process: Cart(), options: options) }
            for message in sent { try await cart.send(message) }
            #expect(try await cart.state == expected)
        }
        // The Codable-only build reads the journal and its snapshot, then adds to it.
        let more = messages(130).suffix(30)
        let second = Supervisor(directory: directory.path, logger: logger)
        try await second.run {
            let cart = try await second.child(id: "cart") {
                ChildSpec(id: $0, process: PlainCart(), options: options)
            }
            #expect(try await cart.state == expected)
            for message in more {
                let bytes = try CompactEncoder().encode(message)
                try await cart.send(try CompactDecoder().decode(PlainCartMessage.self, from: bytes))
            }
        }
        let all = sent + more
        let final = try all.reduce(into: CartState()) { try Cart().apply($1, to: &$0) }
        let third = Supervisor(directory: directory.path, logger: logger)
        try await third.run {
            let cart = try await third.child(id: "cart") { ChildSpec(id: $0, process: Cart(), options: options) }
            #expect(try await cart.state == final)
            let report = try #require(await cart.lastReplay)
            #expect(report.messages > 0, "\(report)")
        }
    }

    @Test func docExampleWritesTheBytesOfCodable() throws {
        try checkAgainstCodable(Posted(room: "room-1", text: "hi", at: 42))
        for message in messages(7) { try checkAgainstCodable(message) }
        try checkAgainstCodable(CartState(lines: ["a": 1, "b": 2], checkedOut: true))
    }
}

extension Posted: Equatable {}
