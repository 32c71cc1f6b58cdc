import Foundation
import StateJournal
import StateJournalEncoding
import StateJournalStorage
import StateJournalTesting
import Testing

/// Version 2 of the cart whose version 1 wrote `fixtures/v1/cart-schema-v1.journal`: the case
/// `addItem(name:qty:)` became `add(name:quantity:)`, `removeItem` became `remove`, and the
/// state's `items` became `lines`.
struct CartV2: JournaledProcess {
    struct State: Codable, Sendable, Equatable {
        var lines: [String: Int] = [:]
        var checkedOut = false
    }

    enum Message: Codable, Sendable, Equatable {
        case add(name: String, quantity: Int)
        case remove(name: String)
        case checkout
    }

    var initialState: State { State() }

    func apply(_ message: Message, to state: inout State) {
        switch message {
        case .add(let name, let quantity): state.lines[name, default: 0] += quantity
        case .remove(let name): state.lines[name] = nil
        case .checkout: state.checkedOut = true
        }
    }

    /// Version 1 → 2, on the compact values.
    static let schema = SchemaEvolution(version: 2) { value, kind, from in
        guard from == 1, case .object(var object) = value else { return }
        switch kind {
        case .message:
            if case .object(var fields)? = object.removeValue(forKey: "addItem") {
                fields["quantity"] = fields.removeValue(forKey: "qty")
                object["add"] = .object(fields)
            }
            if let fields = object.removeValue(forKey: "removeItem") { object["remove"] = fields }
        case .state:
            object["lines"] = object.removeValue(forKey: "items")
        }
        value = .object(object)
    }

    static func spec(_ id: String = "cart-schema", options: ProcessOptions = fastOptions()) -> ChildSpec<CartV2> {
        ChildSpec(id: id, process: CartV2(), options: options).evolving(schema)
    }
}

@Suite(.timeLimit(.minutes(5))) struct SchemaEvolutionTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("fixtures/v1/cart-schema-v1.journal").path

    /// The journal version 1 committed (snapshot and messages) replays through the upcast into
    /// version 2's types, to the state version 1 had.
    @Test func aVersionOneJournalReplaysIntoVersionTwo() async throws {
        let state = try await JournalFixtureReplay.state(ofJournal: Self.fixture, as: CartV2.spec())
        #expect(state == CartV2.State(lines: ["apple": 2, "fig": 3], checkedOut: false))
    }

    /// Without the upcast the same journal does not replay: the fixture really is version 1.
    @Test func withoutTheUpcastTheOldJournalDoesNotReplay() async throws {
        await #expect(throws: (any Error).self) {
            _ = try await JournalFixtureReplay.state(
                ofJournal: Self.fixture, as: ChildSpec(id: "cart-schema", process: CartV2(), options: fastOptions()))
        }
    }

    /// Version 2 writes its own values with their version; a restart reads them back (the
    /// fast path) after the upcast ones, and a process of version 1 (a rollback) refuses them.
    @Test func newValuesCarryTheirVersionAndARollbackRefusesThem() async throws {
        let directory = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: directory.path + "/cart-schema.journal")
        try FileManager.default.copyItem(
            atPath: Self.fixture + ".snapshot", toPath: directory.path + "/cart-schema.journal.snapshot")
        var options = fastOptions()
        options.retention = .persistent
        options.snapshots = .every(messages: 3)
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let cart = try await supervisor.start(CartV2.spec(options: options))
            try await cart.send(.add(name: "kiwi", quantity: 4))
            try await cart.send(.remove(name: "apple"))
            await cart.simulateCrash()
            #expect(try await cart.state == CartV2.State(lines: ["fig": 3, "kiwi": 4]))
            try await cart.send(.checkout)
            try await cart.snapshot()
        }
        let again = Supervisor(directory: directory.path, logger: quietLogger)
        try await again.run {
            let cart = try await again.start(CartV2.spec(options: options))
            #expect(try await cart.state == CartV2.State(lines: ["fig": 3, "kiwi": 4], checkedOut: true))
            try await cart.send(.add(name: "plum", quantity: 1))
        }
        // The journal holds version-2 values as {"$schema": 2, "$value": …}.
        let reader = try JournalReader(path: directory.path + "/cart-schema.journal")
        var rendered: [String] = []
        while let frame = try reader.nextFrame() {
            for m in frame.messages { rendered.append(try CompactJSON.render(m.bytes)) }
        }
        #expect(!rendered.isEmpty && rendered.allSatisfy { $0.hasPrefix(#"{"$schema":2,"$value":"#) }, "\(rendered)")
        // A rollback to version 1 of the types cannot read version 2's values.
        struct CartV1: JournaledProcess {
            var initialState: [String: Int] { [:] }
            func apply(_ message: [String: [String: Int]], to state: inout [String: Int]) {}
        }
        let rollback = Supervisor(directory: directory.path, logger: quietLogger)
        try await rollback.run {
            var v1Options = options
            v1Options.snapshots = .never
            await #expect(throws: SupervisorError.self) {
                _ = try await rollback.start(
                    ChildSpec(id: "cart-schema", process: CartV1(), options: v1Options).evolving(
                        SchemaEvolution(version: 1) { _, _, _ in }))
            }
        }
    }
}
