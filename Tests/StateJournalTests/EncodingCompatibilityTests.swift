import Foundation
import StateJournal
import StateJournalEncoding
import StateJournalStorage
import Testing

/// Journals written by the first compact encoding (object tag 0x09, `fixtures/encoding-v1/`)
/// replay unchanged after the encoding changed.
@Suite(.timeLimit(.minutes(10))) struct EncodingCompatibilityTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/encoding-v1").path

    /// The messages of a fixture journal, in order.
    static func messages(_ name: String) throws -> [JournalMessage] {
        let reader = try JournalReader(path: "\(fixtures)/\(name)")
        var messages: [JournalMessage] = []
        while let frame = try reader.nextFrame() { messages += frame.messages }
        return messages
    }

    /// Copies a fixture into a fresh directory, where a process can open (and so change) it.
    static func copy(_ name: String, into directory: TemporaryDirectory) throws {
        try FileManager.default.copyItem(atPath: "\(fixtures)/\(name)", toPath: "\(directory.path)/\(name)")
    }

    static func fold<P: JournaledProcess>(_ process: P, _ messages: [P.Message]) throws -> P.State {
        var state = process.initialState
        for message in messages { try process.apply(message, to: &state) }
        return state
    }

    @Test func everyMessageOfTheFirstEncodingDecodesAsWritten() throws {
        let stored = try Self.messages("cart-7.journal")
        #expect(stored.map(\.sequence) == Array(1...UInt64(EncodingV1Fixture.Cart.messages.count)))
        for (message, expected) in zip(stored, EncodingV1Fixture.Cart.messages) {
            let decoded = try CompactDecoder().decode(EncodingV1Fixture.Cart.Message.self, from: message.bytes)
            #expect(decoded == expected, "sequence \(message.sequence)")
        }
    }

    /// Replay through the runtime, with the determinism check on: the journal's state digests
    /// (type 0x81) were computed over the first encoding and must not raise `nondeterministic`.
    @Test func aCartJournalOfTheFirstEncodingReplays() async throws {
        let directory = TemporaryDirectory()
        try Self.copy("cart-7.journal", into: directory)
        let options = ProcessOptions(retention: .persistent, determinismCheckInterval: 4)
        let more: [EncodingV1Fixture.Cart.Message] = [.tags(["x", "y", "z"]), .note(9, "n"), .rate(2), .adjust(1)]
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let cart = try await supervisor.child(id: EncodingV1Fixture.Cart.processID) {
                ChildSpec(id: $0, process: EncodingV1Fixture.Cart(), options: options)
            }
            let expected = try Self.fold(EncodingV1Fixture.Cart(), EncodingV1Fixture.Cart.messages)
            #expect(try await cart.state == expected)
            let report = try #require(await cart.lastReplay)
            #expect(report.messages == EncodingV1Fixture.Cart.messages.count)
            #expect(
                report.digestsSkipped == EncodingV1Fixture.Cart.messages.count / 4 && report.digestsChecked == 0,
                "\(report)")
            // It keeps working: new messages (and a canonical digest after the 4th), then a restart
            // in this OS process replays both encodings.
            for message in more { try await cart.send(message) }
        }
        let again = Supervisor(directory: directory.path, logger: quietLogger)
        try await again.run {
            let reopened = try await again.child(id: EncodingV1Fixture.Cart.processID) {
                ChildSpec(id: $0, process: EncodingV1Fixture.Cart(), options: options)
            }
            #expect(
                try await reopened.state == Self.fold(EncodingV1Fixture.Cart(), EncodingV1Fixture.Cart.messages + more))
            // The digest written after the new message is canonical, and checked.
            #expect(try #require(await reopened.lastReplay).digestsChecked == 1)
        }
    }

    /// The report's journal: every message was acknowledged by the first encoding, and a 10-byte
    /// key's length collided with its end-of-object tag. Each such message has exactly one complete
    /// reading, so it is decoded; the process replays to the acknowledged state.
    @Test func aJournalWithTenByteKeysOfTheFirstEncodingReplays() async throws {
        let stored = try Self.messages("checkout-1.journal")
        for (message, expected) in zip(stored, EncodingV1Fixture.Checkout.messages) {
            let decoded = try CompactDecoder().decode(EncodingV1Fixture.Checkout.Message.self, from: message.bytes)
            #expect(decoded == expected, "sequence \(message.sequence)")
        }
        let directory = TemporaryDirectory()
        try Self.copy("checkout-1.journal", into: directory)
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let checkout = try await supervisor.child(id: EncodingV1Fixture.Checkout.processID) {
                ChildSpec(
                    id: $0, process: EncodingV1Fixture.Checkout(), options: ProcessOptions(retention: .persistent))
            }
            #expect(
                try await checkout.state == Self.fold(EncodingV1Fixture.Checkout(), EncodingV1Fixture.Checkout.messages)
            )
        }
    }

    struct Nested: JournaledProcess {
        var initialState: [String: [String: Int]] { [:] }
        func apply(_ message: [String: [String: Int]], to state: inout [String: [String: Int]]) throws {
            state.merge(message) { $1 }
        }
    }

    /// A first-encoding message with two complete readings stops replay with an error naming its
    /// sequence number; the journal is left as it was.
    @Test func anAmbiguousFirstEncodingMessageStopsReplayAtItsSequence() async throws {
        let directory = TemporaryDirectory()
        let path = "\(directory.path)/nested.journal"
        let writer = try await JournalWriter.open(path: path, processID: "nested", logger: quietLogger)
        _ = try await writer.append(try CompactEncoder().encode(["x": ["y": 1]] as [String: [String: Int]]))
        // {"a": {"\u{6}abcdef\u{8}\u{1}\u{2}": 1}} or {"a": {}, "abcdef": [false, true, 1]}, as the first encoding wrote them.
        _ = try await writer.append([
            0x09, 0x01, 0x61, 0x09, 0x0A, 0x06, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x08, 0x01, 0x02, 0x81, 0x0A, 0x0A,
        ])
        try await writer.close(discard: false)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        let failure = try await supervisor.run {
            await #expect(throws: SupervisorError.self) {
                _ = try await supervisor.child(id: "nested") {
                    ChildSpec(id: $0, process: Nested(), restart: .temporary)
                }
            }
        }
        let error = try #require(failure?.cause as? ProcessError)
        #expect(error.code == .replayFailed && error.sequence == 2, "\(error)")
        #expect("\(error)".contains("ambiguous first-encoding object"), "\(error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    /// A process with the default codec marks its journal's header: its messages are compact values.
    @Test func theRuntimeMarksJournalsOfCompactMessages() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let compact = try await supervisor.child(id: "compact") {
                ChildSpec(id: $0, process: Counter(), options: ProcessOptions(retention: .persistent))
            }
            try await compact.send(1)
            let custom = try await supervisor.child(id: "custom") {
                ChildSpec(
                    id: $0, process: Counter(), options: ProcessOptions(retention: .persistent),
                    messageCodec: DecimalCodec())
            }
            try await custom.send(2)
        }
        #expect(try JournalReader(path: "\(directory.path)/compact.journal").header.messagesAreCompact)
        #expect(try !JournalReader(path: "\(directory.path)/custom.journal").header.messagesAreCompact)
    }

    /// A hand-written codec: decimal text.
    struct DecimalCodec: ValueCodec {
        func encode(_ value: Int) throws -> [UInt8] { Array(String(value).utf8) }
        func decode(_ bytes: UnsafeRawBufferPointer) throws -> Int { Int(String(decoding: bytes, as: UTF8.self))! }
    }
}
