import Foundation
import PropertyBased
import StateJournalEncoding
import StateJournalStorage
import Testing

/// The compact encoding checked against oracles that share none of its code: Foundation's JSON
/// round trip, the value itself, and re-encoding (canonical bytes).
@Suite(.shrinking) struct CompactOracleTests {
    /// Every check for one value; returns a description of what failed, nil when all hold.
    static func check<T: Codable & Equatable>(_ value: T) -> String? {
        let bytes: [UInt8]
        do { bytes = try CompactEncoder().encode(value) } catch { return "encode threw \(error)" }
        let decoded: T
        do { decoded = try CompactDecoder().decode(T.self, from: bytes) } catch {
            return "decode threw \(error)\n  bytes: \(hex(bytes))"
        }
        if decoded != value {
            return "decoded value differs\n  value:   \(value)\n  decoded: \(decoded)\n  bytes: \(hex(bytes))"
        }
        let again: [UInt8]
        do { again = try CompactEncoder().encode(decoded) } catch { return "re-encode threw \(error)" }
        if again != bytes {
            return "re-encoding the decoded value gives other bytes\n  first:  \(hex(bytes))\n  second: \(hex(again))"
        }
        // The tree upcasting works on: parsed, re-encoded (keys sorted), decoded: the same value.
        do {
            let tree = try CompactValue(decoding: bytes)
            let fromTree = try CompactDecoder().decode(T.self, from: tree.encoded)
            if fromTree != value {
                return "through CompactValue the value differs\n  value: \(value)\n  tree:  \(fromTree)"
            }
            if try CompactValue(decoding: tree.encoded).encoded != tree.encoded {
                return "CompactValue does not round-trip its own encoding"
            }
        } catch {
            return "through CompactValue: \(error)\n  bytes: \(hex(bytes))"
        }
        do {
            let oracle = try FoundationOracle.roundTrip(value)
            if oracle != decoded {
                return "Foundation's JSON round trip differs\n  foundation: \(oracle)\n  compact:    \(decoded)"
            }
        } catch {
            return "Foundation's JSON round trip threw \(error) for \(value)"
        }
        do {
            let json = try CompactJSON.render(bytes)
            _ = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        } catch {
            return "the JSON rendering is not JSON: \(error)"
        }
        return nil
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Values of random shape from the type universe: thousands per run, shrunk on failure.
    @Test func randomValuesRoundTripExactlyAndAgreeWithFoundation() async {
        await propertyCheck(count: 4000, input: Gen.uint64().array(of: 0...400)) { tape in
            var t = Tape(tape)
            let value = Node.build(&t)
            if let failure = Self.check(value) { Issue.record("\(failure)") }
        }
    }

    /// Keys of every length 0–300 (ASCII and multi-byte) as property names, enum case names and
    /// dictionary keys, each with values on both sides so a misread end tag cannot go unseen.
    @Test(arguments: 0...300)
    func everyKeyLengthRoundTrips(length: Int) {
        let ascii = String((0..<length).map { Character(Unicode.Scalar(UInt8(97 + $0 % 26))) })
        let tail: String = length % 2 == 1 ? "a" : ""
        let multiByte: String = String(repeating: "é", count: length / 2) + tail
        #expect(ascii.utf8.count == length && multiByte.utf8.count == length)
        for key in [ascii, multiByte] {
            let values: [Node] = [
                .record(Record([("a", .int(1)), (key, .string("v")), ("z", .list([.int(2)]))])),
                .dynamicCase(DynamicCase(name: key, values: [.int(7), .string(key)])),
                .map(
                    Dictionary(
                        [("", .int(0)), (key, .map([key: .int(10)])), ("\u{0}", .bool(true))],
                        uniquingKeysWith: { _, b in b })),
                .list([.map([key: .int(1)]), .dynamicCase(DynamicCase(name: key, values: [])), .int(3)]),
                .stringSet([key, "x"]),
            ]
            for value in values {
                if let failure = Self.check(value) { Issue.record("key of \(length) bytes: \(failure)") }
            }
        }
    }

    /// The report's shapes: a case `setAddress`, a field `totalCents`, a dictionary keyed by "0123456789".
    @Test func theReportedTenByteKeysRoundTrip() throws {
        struct Cart: Codable, Equatable {
            var totalCents: Int
            var counts: [String: Int]
        }
        enum Message: Codable, Equatable {
            case setAddress(String)
            case cart(Cart)
        }
        for message in [
            Message.setAddress("1 Infinite Loop"), .cart(Cart(totalCents: 1250, counts: ["0123456789": 2, "a": 1])),
        ] {
            let bytes = try CompactEncoder().encode(message)
            #expect(try CompactDecoder().decode(Message.self, from: bytes) == message)
        }
    }

    /// Sets and dictionaries iterate in an order that depends on their history (and, across OS
    /// processes, on the per-process hash seed); their bytes must not.
    @Test func setsAndDictionariesEncodeTheSameBytesWhateverTheirHistory() throws {
        for size in [2, 5, 40, 300] {
            let keys = (0..<size).map { $0 * 7919 }
            var forward = Set<Int>()
            for key in keys { forward.insert(key) }
            var backward = Set<Int>(minimumCapacity: 4096)
            for key in keys.reversed() { backward.insert(key) }
            #expect(forward == backward)
            #expect(try CompactEncoder().encode(forward) == CompactEncoder().encode(backward), "Set<Int> of \(size)")

            let strings = keys.map { "s\($0)" }
            #expect(
                try CompactEncoder().encode(Set(strings)) == CompactEncoder().encode(Set(strings.reversed()).union([])),
                "Set<String> of \(size)")

            var intMap: [Int: String] = [:]
            for key in keys { intMap[key] = "v\(key)" }
            var intMapBig = [Int: String](minimumCapacity: 4096)
            for key in keys.reversed() { intMapBig[key] = "v\(key)" }
            #expect(
                try CompactEncoder().encode(intMap) == CompactEncoder().encode(intMapBig), "[Int: String] of \(size)")

            var pointMap: [Point: Int] = [:]
            for key in keys {
                pointMap[Point(x: Int16(truncatingIfNeeded: key), y: UInt8(truncatingIfNeeded: key))] = key
            }
            var pointMapBig = [Point: Int](minimumCapacity: 4096)
            for key in keys.reversed() {
                pointMapBig[Point(x: Int16(truncatingIfNeeded: key), y: UInt8(truncatingIfNeeded: key))] = key
            }
            #expect(
                try CompactEncoder().encode(pointMap) == CompactEncoder().encode(pointMapBig), "[Point: Int] of \(size)"
            )

            let nested: Set<Set<Int>> = [Set(keys), Set(keys.prefix(1)), []]
            var nestedBig = Set<Set<Int>>(minimumCapacity: 512)
            for element in [[], Set(keys.prefix(1)), backward] { nestedBig.insert(element) }
            #expect(
                try CompactEncoder().encode(nested) == CompactEncoder().encode(nestedBig), "Set<Set<Int>> of \(size)")
        }
    }

    /// Floats: -0.0 keeps its sign; every NaN is written as the one canonical quiet NaN.
    @Test func floatsHaveOneEncodingEach() throws {
        let negativeZero = try CompactDecoder().decode(Double.self, from: CompactEncoder().encode(-0.0 as Double))
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        let negativeZeroFloat = try CompactDecoder().decode(Float.self, from: CompactEncoder().encode(-0.0 as Float))
        #expect(negativeZeroFloat == 0 && negativeZeroFloat.sign == .minus)
        let nans: [Double] = [
            .nan, -.nan, .signalingNaN, Double(bitPattern: 0x7FF0_0000_0000_0001),
            Double(bitPattern: 0xFFFF_FFFF_FFFF_FFFF),
        ]
        let encoded = try Set(nans.map { try CompactEncoder().encode($0) })
        #expect(encoded.count == 1)
        #expect(try CompactDecoder().decode(Double.self, from: encoded.first!).isNaN)
        let floatNaNs: [Float] = [
            .nan, -.nan, .signalingNaN, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF),
        ]
        #expect(try Set(floatNaNs.map { try CompactEncoder().encode($0) }).count == 1)
        // A set holding NaN and both zeros still encodes the same whatever the order of insertion.
        #expect(
            try CompactEncoder().encode([0.0, -0.0, 1.0] as [Double])
                != CompactEncoder().encode([0.0, 0.0, 1.0] as [Double]))
    }
}
