import Foundation
import StateJournal
import StateJournalMacros
import StateJournalStorage
import StateJournalTesting
import Synchronization

/// One state-changing message: a realistic JSON-like event of 100–250 bytes.
struct Event: Codable, Sendable, Equatable {
    var type: String
    var room: String
    var user: String
    /// The message's index within its process (0, 1, 2, …): read-back checks use it.
    var id: Int64
    var ts: Int64
    var text: String
}

/// A process's state, rebuilt by every system from the same events.
struct RoomState: Codable, Sendable, Equatable {
    var messages = 0
    var textBytes = 0
    var lastID: Int64 = -1
    var byType: [String: Int] = [:]
    /// FNV-1a over the ids in order: a replay in another order gives another digest.
    var digest: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func apply(_ event: Event) {
        messages += 1
        textBytes += event.text.utf8.count
        lastID = event.id
        byType[event.type, default: 0] += 1
        var id = UInt64(bitPattern: event.id)
        for _ in 0..<8 {
            digest = (digest ^ (id & 0xFF)) &* 0x100_0000_01B3
            id >>= 8
        }
    }
}

/// The journaled process every StateJournal workload runs.
struct EventLog: JournaledProcess {
    var initialState: RoomState { RoomState() }
    func apply(_ message: Event, to state: inout RoomState) throws {
        FirstMessage.mark()
        state.apply(message)
    }
}

/// When replay handed over its first message (time to first message, for every system alike).
/// Armed before a restart; `mark` costs one relaxed load once the first message is in.
enum FirstMessage {
    private static let armed = Atomic<Bool>(false)
    private static let lock = NSLock()
    nonisolated(unsafe) private static var at: ContinuousClock.Instant?

    static func arm() {
        lock.lock()
        at = nil
        lock.unlock()
        armed.store(true, ordering: .releasing)
    }

    static func mark() {
        guard armed.load(ordering: .relaxed) else { return }
        lock.lock()
        if armed.load(ordering: .relaxed) {
            armed.store(false, ordering: .relaxed)
            at = .now
        }
        lock.unlock()
    }

    static func take() -> ContinuousClock.Instant? {
        armed.store(false, ordering: .relaxed)
        lock.lock()
        defer { lock.unlock() }
        return at
    }
}

/// The events every workload sends, from a fixed seed. Message `i` of process `p`
/// is `Corpus.event(process: p, index: i)`: the same bytes for every system.
enum Corpus {
    static let seed: UInt64 = 0x5EED_2026
    static let size = 16_384
    static let templates: [Event] = {
        var generator = SplitMix64(seed: seed)
        let types = [
            "message.posted", "member.joined", "member.left", "typing.started", "reaction.added", "message.edited",
        ]
        let words = [
            "hello", "world", "state", "journal", "replay", "crash", "again", "swift", "actor", "batch", "ok", "thanks",
            "see", "you", "soon", "deploy", "merge", "review", "lunch", "meeting", "tomorrow", "shipped", "great",
            "why",
        ]
        return (0..<size).map { i in
            let type = types[Int(generator.next() % UInt64(types.count))]
            let wordCount = 1 + Int(generator.next() % 22)
            let text = (0..<wordCount).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(
                separator: " ")
            return Event(
                type: type, room: "room-\(generator.next() % 300)", user: "user-\(generator.next() % 10_000)",
                id: 0, ts: 1_763_700_000_000 + Int64(i) * 41, text: text)
        }
    }()

    static func event(process: Int, index: Int) -> Event {
        var event = templates[(process &* 7919 &+ index) % size]
        event.id = Int64(index)
        return event
    }

    /// The state process `p` has after messages `0..<count`.
    static func expectedState(process: Int, count: Int) -> RoomState {
        var state = RoomState()
        for i in 0..<count { state.apply(event(process: process, index: i)) }
        return state
    }
}

/// How a peer stores an event: Foundation JSON (its natural encoding) or StateJournal's compact encoding.
enum Encoding: String, Sendable, CaseIterable, Codable {
    case json
    case compact

    private static let jsonEncoder = JSONEncoder()
    private static let jsonDecoder = JSONDecoder()

    func encode(_ event: Event) throws -> [UInt8] {
        switch self {
        case .json: Array(try Self.jsonEncoder.encode(event))
        case .compact: try CompactEncoder().encode(event)
        }
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Event {
        switch self {
        case .json: try Self.jsonDecoder.decode(Event.self, from: Data(bytes))
        case .compact: try CompactDecoder().decode(Event.self, from: bytes)
        }
    }
}

/// A hand-written binary codec for `Event` (what a user can plug in with `ChildSpec(messageCodec:)`):
/// measures the runtime's replay when decoding is not the bound.
struct EventBinaryCodec: ValueCodec {
    struct Malformed: Error {}

    func encode(_ event: Event) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(
            32 + event.type.utf8.count + event.room.utf8.count + event.user.utf8.count + event.text.utf8.count)
        func put(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func put(_ string: String) {
            let utf8 = string.utf8
            guard utf8.count < 0x1_0000 else { return }
            bytes.append(UInt8(utf8.count & 0xFF))
            bytes.append(UInt8(utf8.count >> 8))
            bytes += utf8
        }
        put(event.id)
        put(event.ts)
        put(event.type)
        put(event.room)
        put(event.user)
        put(event.text)
        return bytes
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Event {
        var offset = 0
        func int() throws -> Int64 {
            guard offset + 8 <= bytes.count else { throw Malformed() }
            defer { offset += 8 }
            return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
        }
        func string() throws -> String {
            guard offset + 2 <= bytes.count else { throw Malformed() }
            let count = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            offset += 2
            guard offset + count <= bytes.count else { throw Malformed() }
            defer { offset += count }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]), as: UTF8.self)
        }
        let id = try int()
        let ts = try int()
        return Event(type: try string(), room: try string(), user: try string(), id: id, ts: ts, text: try string())
    }
}

/// Foundation's JSON as StateJournal's message codec (`ChildSpec(messageCodec:)`): the runtime
/// measured with the same encoding as the JSON peers, so that the storage is compared alone.
struct JSONEventCodec: ValueCodec {
    func encode(_ event: Event) throws -> [UInt8] { try Encoding.json.encode(event) }
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Event { try Encoding.json.decode(bytes) }
}

/// `Event` with `@CompactCodable`: the same fields, the same bytes as `Event`'s `Codable`
/// conformance, written and read without `Encoder`/`Decoder`.
@CompactCodable
struct MacroEvent: Codable, Sendable, Equatable {
    var type: String
    var room: String
    var user: String
    var id: Int64
    var ts: Int64
    var text: String
}

/// The compact codec over `MacroEvent`: what a user gets by adding `@CompactCodable` to `Event`
/// (the runtime's `CompactCodec` finds the conformance once and uses it).
struct MacroEventCodec: ValueCodec {
    let codec = CompactCodec<MacroEvent>()

    func encode(_ event: Event) throws -> [UInt8] {
        try codec.encode(
            MacroEvent(
                type: event.type, room: event.room, user: event.user, id: event.id, ts: event.ts, text: event.text))
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Event {
        let event = try codec.decode(bytes)
        return Event(type: event.type, room: event.room, user: event.user, id: event.id, ts: event.ts, text: event.text)
    }
}
