import StateJournalEncoding
import Testing

/// `CompactEncoder` keeps one encoding per thread between values. Nothing of one value may
/// reach the next: not after a value that threw half-way, not from a nested `encode` inside
/// an `encode(to:)`, not across threads. The oracle is the value itself, decoded, and the bytes a fresh encode gives.
@Suite struct CompactEncoderReuseTests {
    struct Failing: Encodable {
        struct Refused: Error {}
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("half-written", forKey: .a)
            var nested = container.nestedUnkeyedContainer(forKey: .b)
            try nested.encode(1)
            throw Refused()
        }
        enum CodingKeys: CodingKey { case a, b }
    }

    struct Item: Codable, Equatable {
        var name: String
        var tags: Set<String>
        var counts: [String: Int]
        var inner: [Item]
    }

    /// Encodes the compact bytes of its payload as a field (a nested `CompactEncoder` call).
    struct Envelope: Codable, Equatable {
        var item: Item
        var embedded: [UInt8]
        init(item: Item) throws {
            self.item = item
            embedded = try CompactEncoder().encode(item)
        }
        enum CodingKeys: CodingKey { case item, embedded, again }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(item, forKey: .item)
            try container.encode(embedded, forKey: .embedded)
            // Encoded while the outer encoding is in use on this thread.
            try container.encode(try CompactEncoder().encode(item), forKey: .again)
        }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            item = try container.decode(Item.self, forKey: .item)
            embedded = try container.decode([UInt8].self, forKey: .embedded)
            #expect(try container.decode([UInt8].self, forKey: .again) == embedded)
        }
    }

    static let item = Item(
        name: "cart", tags: ["a", "b", "c"], counts: ["x": 1, "y": 2],
        inner: [Item(name: "nested", tags: [], counts: [:], inner: [])])

    @Test func aValueThatThrewLeavesNothingForTheNext() throws {
        let fresh = try CompactEncoder().encode(Self.item)
        for _ in 0..<3 {
            #expect(throws: Failing.Refused.self) { try CompactEncoder().encode(Failing()) }
            var buffer: [UInt8] = [0xAA]
            #expect(throws: Failing.Refused.self) { try CompactEncoder().encode(Failing(), into: &buffer) }
            #expect(buffer == [0xAA], "a failed encode(into:) appends nothing")
            let bytes = try CompactEncoder().encode(Self.item)
            #expect(bytes == fresh)
            let decoded = try CompactDecoder().decode(Item.self, from: bytes)
            #expect(decoded == Self.item)
        }
    }

    @Test func aNestedEncodeGetsItsOwnBuffer() throws {
        let envelope = try Envelope(item: Self.item)
        let bytes = try CompactEncoder().encode(envelope)
        let decoded = try CompactDecoder().decode(Envelope.self, from: bytes)
        #expect(decoded == envelope)
        #expect(decoded.item == Self.item)
        #expect(try CompactDecoder().decode(Item.self, from: decoded.embedded) == Self.item)
        // And the outer value's bytes are what a thread that never nested would write.
        #expect(try CompactEncoder().encode(envelope) == bytes)
    }

    @Test func largeValuesAndManyThreadsKeepTheirOwnBytes() async throws {
        let big = Item(
            name: String(repeating: "x", count: 200_000), tags: [], counts: [:], inner: [Self.item])
        let expectedBig = try CompactEncoder().encode(big)
        let expectedSmall = try CompactEncoder().encode(Self.item)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for round in 0..<200 {
                        let useBig = (task + round) % 5 == 0
                        let bytes = try CompactEncoder().encode(useBig ? big : Self.item)
                        guard bytes == (useBig ? expectedBig : expectedSmall) else {
                            Issue.record("task \(task), round \(round): other bytes")
                            return
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try CompactDecoder().decode(Item.self, from: expectedBig) == big)
    }
}
