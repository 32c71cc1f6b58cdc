import Foundation
import StateJournal
import Testing

/// Keys of every length 0–300 bytes, as property names, enum case names and dictionary keys,
/// through a real journaled process, its snapshots, its state digests and a restart.
@Suite(.timeLimit(.minutes(10))) struct KeyLengthReplayTests {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A message whose property name, or enum case name, is chosen at run time, coded exactly as
    /// Swift synthesizes a struct (`{"name": value}`) or an enum case (`{"name": {"_0": value}}`).
    enum Message: Codable, Sendable, Equatable {
        case property(name: String, value: Int)
        case enumCase(name: String, value: Int)
        case dictionary([String: Int])

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .property(let name, let value):
                var container = encoder.container(keyedBy: Key.self)
                try container.encode("p", forKey: Key("kind"))
                try container.encode(value, forKey: Key(name))
            case .enumCase(let name, let value):
                var container = encoder.container(keyedBy: Key.self)
                var nested = container.nestedContainer(keyedBy: Key.self, forKey: Key(name))
                try nested.encode(value, forKey: Key("_0"))
            case .dictionary(let dictionary):
                var container = encoder.unkeyedContainer()
                try container.encode(dictionary)
            }
        }

        init(from decoder: any Decoder) throws {
            if var unkeyed = try? decoder.unkeyedContainer() {
                self = .dictionary(try unkeyed.decode([String: Int].self))
                return
            }
            let container = try decoder.container(keyedBy: Key.self)
            let keys = container.allKeys.map(\.stringValue)
            if keys.count == 2, keys.contains("kind"), let name = keys.first(where: { $0 != "kind" }) {
                self = .property(name: name, value: try container.decode(Int.self, forKey: Key(name)))
            } else if keys.count == 1, let name = keys.first {
                let nested = try container.nestedContainer(keyedBy: Key.self, forKey: Key(name))
                self = .enumCase(name: name, value: try nested.decode(Int.self, forKey: Key("_0")))
            } else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "unexpected keys \(keys)"))
            }
        }
    }

    /// Sums per key; the state's own keys have every length too.
    struct Tally: JournaledProcess {
        var initialState: [String: Int] { [:] }
        func apply(_ message: Message, to state: inout [String: Int]) throws {
            switch message {
            case .property(let name, let value): state["p" + name, default: 0] += value
            case .enumCase(let name, let value): state["c" + name, default: 0] += value
            case .dictionary(let dictionary): for (key, value) in dictionary { state["d" + key, default: 0] += value }
            }
        }
    }

    static func keys(length: Int) -> [String] {
        let ascii = String((0..<length).map { Character(Unicode.Scalar(UInt8(97 + $0 % 26))) })
        // Two-byte scalars, and one ASCII letter for odd lengths: the same byte length, other bytes.
        let tail: String = length % 2 == 1 ? "z" : ""
        let multiByte: String = String(repeating: "é", count: length / 2) + tail
        return length == 0 ? [ascii] : [ascii, multiByte]
    }

    @Test func everyKeyLengthReplaysThroughAProcessAndARestart() async throws {
        let directory = TemporaryDirectory()
        var messages: [Message] = []
        for length in 0...300 {
            for key in Self.keys(length: length) {
                #expect(key.utf8.count == length)
                messages.append(.property(name: key, value: length + 1))
                messages.append(.enumCase(name: key, value: 2 * length + 1))
                messages.append(.dictionary([key: 3, "k": 1]))
            }
        }
        let options = ProcessOptions(
            retention: .persistent, snapshots: .every(messages: 500), determinismCheckInterval: 7)
        let expected = try messages.reduce(into: [String: Int]()) { try Tally().apply($1, to: &$0) }

        let first = Supervisor(directory: directory.path, logger: quietLogger)
        try await first.run {
            let tally = try await first.child(id: "tally") { ChildSpec(id: $0, process: Tally(), options: options) }
            for message in messages { try await tally.send(message) }
            #expect(try await tally.state == expected)
        }

        let second = Supervisor(directory: directory.path, logger: quietLogger)
        try await second.run {
            let reopened = try await second.child(id: "tally") { ChildSpec(id: $0, process: Tally(), options: options) }
            #expect(try await reopened.state == expected)
            let report = try #require(await reopened.lastReplay)
            #expect(report.snapshotSequence != nil)
            #expect(report.messages > 0 && report.digestsChecked > 0, "\(report)")
        }
    }
}
