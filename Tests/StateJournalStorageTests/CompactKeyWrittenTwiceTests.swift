import Foundation
import StateJournalEncoding
import Testing

/// A type may write one key twice to one object (a subclass and its superclass sharing a key
/// through `super.encode(to:)`, an `encode(to:)` that corrects a field). Foundation's encoders keep
/// the last value; the compact encoder wrote both entries and its decoder read the first, so a
/// journaled message replayed as another value than the one applied. Checked against
/// Foundation's JSON round trip, and against the bytes of a type that writes each key once.
@Suite struct CompactKeyWrittenTwiceTests {
    /// Writes `a` first as 1, then as its value; `b` in between.
    struct Corrected: Codable, Equatable {
        var a: Int
        var b: String
        enum Keys: String, CodingKey { case a, b }
        init(a: Int, b: String) {
            self.a = a
            self.b = b
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            a = try container.decode(Int.self, forKey: .a)
            b = try container.decode(String.self, forKey: .b)
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .a)
            try container.encode(b, forKey: .b)
            try container.encode(a, forKey: .a)
        }
    }

    /// The bytes `Corrected` should give: each key once, in the order of the last writes.
    struct Once: Codable {
        var b: String
        var a: Int
    }

    class Base: Codable {
        var id: String
        var name: String
        init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// Shares the key "id" with its superclass, through the same container.
    final class Derived: Base, Equatable {
        var count: Int
        enum Keys: String, CodingKey { case id, count }
        init(id: String, name: String, count: Int) {
            self.count = count
            super.init(id: id, name: name)
        }
        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            count = try container.decode(Int.self, forKey: .count)
            try super.init(from: decoder)
            id = try container.decode(String.self, forKey: .id)
        }
        override func encode(to encoder: any Encoder) throws {
            try super.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("derived-" + id, forKey: .id)
            try container.encode(count, forKey: .count)
        }
        static func == (a: Derived, b: Derived) -> Bool { a.id == b.id && a.name == b.name && a.count == b.count }
    }

    /// Writes a nested object, then a string, then an array for one key; long keys that share
    /// their first bytes; the last write of each key wins.
    struct Shapes: Codable, Equatable {
        var tags: [Int]
        var longKeyAlpha: Int
        var longKeyBeta: Int
        enum Keys: String, CodingKey { case tags, longKeyAlpha, longKeyBeta }
        init(tags: [Int], alpha: Int, beta: Int) {
            self.tags = tags
            self.longKeyAlpha = alpha
            self.longKeyBeta = beta
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            tags = try container.decode([Int].self, forKey: .tags)
            longKeyAlpha = try container.decode(Int.self, forKey: .longKeyAlpha)
            longKeyBeta = try container.decode(Int.self, forKey: .longKeyBeta)
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .tags)
            try nested.encode(5, forKey: .longKeyBeta)
            try container.encode(-1, forKey: .longKeyAlpha)
            try container.encode(longKeyBeta, forKey: .longKeyBeta)
            try container.encode("not yet", forKey: .tags)
            try container.encode(tags, forKey: .tags)
            try container.encode(longKeyAlpha, forKey: .longKeyAlpha)
        }
    }

    static func foundationRoundTrip<T: Codable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }

    @Test func theLastValueWrittenForAKeyIsTheOneDecoded() throws {
        let value = Corrected(a: 7, b: "x")
        let bytes = try CompactEncoder().encode(value)
        #expect(try CompactDecoder().decode(Corrected.self, from: bytes) == value)
        #expect(try Self.foundationRoundTrip(value) == value)
        #expect(bytes == (try CompactEncoder().encode(Once(b: "x", a: 7))))
    }

    @Test func aSubclassSharingItsSuperclassKeyDecodesAsFoundationDoes() throws {
        let value = Derived(id: "7", name: "pump", count: 3)
        let compact = try CompactDecoder().decode(Derived.self, from: CompactEncoder().encode(value))
        let foundation = try Self.foundationRoundTrip(value)
        #expect(compact == foundation)
        #expect(compact.id == "derived-7")
    }

    @Test func nestedValuesAndLongKeysWrittenTwiceKeepTheirLastValue() throws {
        let value = Shapes(tags: [1, 2, 3], alpha: 10, beta: 20)
        let bytes = try CompactEncoder().encode(value)
        #expect(try CompactDecoder().decode(Shapes.self, from: bytes) == value)
        #expect(try Self.foundationRoundTrip(value) == value)
        // Each key once: the object is as long as one written plainly in the same order.
        struct Plain: Codable {
            var longKeyBeta: Int
            var tags: [Int]
            var longKeyAlpha: Int
        }
        #expect(bytes == (try CompactEncoder().encode(Plain(longKeyBeta: 20, tags: [1, 2, 3], longKeyAlpha: 10))))
        try bytes.withUnsafeBytes { try CompactDecoder.validate($0) }
    }

    @Test func keysWrittenTwiceInsideArraysAndDictionariesToo() throws {
        let values = [Corrected(a: 1, b: ""), Corrected(a: -5, b: "é")]
        #expect(try CompactDecoder().decode([Corrected].self, from: CompactEncoder().encode(values)) == values)
        let map = ["k": Corrected(a: 300, b: "y")]
        #expect(try CompactDecoder().decode([String: Corrected].self, from: CompactEncoder().encode(map)) == map)
    }
}
