import StateJournalEncoding
// libFuzzer target: round trips of the compact encoding, structure-aware.
// Built by tools/fuzz/build.sh roundtrip; run by tools/fuzz/run.sh (see README, "Fuzzing").
//
// Any input: `CompactDecoder.validate` and `CompactJSON.render` agree on whether it is one
// well-formed value, and a tree (which reads all of it) decodes only from such a value. Whenever
// it decodes, as a generic tree of whatever shape it holds and as a
// typed value with sets and dictionaries, it is encoded again and decoded again: the two values
// must be equal, and encoding the second must give the same bytes (one encoding per value).
import StateJournalStorage

/// Any compact value, read through `Codable` only: kinds, order of keys, and exact bits of floats.
indirect enum Tree: Codable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(UInt64)
    case string(String)
    case array([Tree])
    case object([Entry])

    struct Entry: Equatable {
        var key: String
        var value: Tree
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var elements: [Tree] = []
            while !array.isAtEnd { elements.append(try array.decode(Tree.self)) }
            self = .array(elements)
        } else if let object = try? decoder.container(keyedBy: Key.self) {
            // A key found twice (bytes no encoder writes now): a decoding reads its first entry
            // only, so the second is neither read nor round-tripped; not a tree.
            var seen = Set<String>()
            self = .object(
                try object.allKeys.map {
                    guard seen.insert($0.stringValue).inserted else {
                        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "a key twice"))
                    }
                    return Entry(key: $0.stringValue, value: try object.decode(Tree.self, forKey: $0))
                })
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let value = try? single.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? single.decode(String.self) {
                self = .string(value)
            } else if let value = try? single.decode(Int64.self) {
                self = .int(value)
            } else if let value = try? single.decode(UInt64.self) {
                self = .uint(value)
            } else {
                let value = try single.decode(Double.self)
                self = .double(value.isNaN ? Double.nan.bitPattern : value.bitPattern)
            }
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .int(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .uint(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .double(let bits):
            var single = encoder.singleValueContainer()
            try single.encode(Double(bitPattern: bits))
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for element in elements { try array.encode(element) }
        case .object(let entries):
            var object = encoder.container(keyedBy: Key.self)
            for entry in entries { try object.encode(entry.value, forKey: Key(entry.key)) }
        }
    }
}

/// Typed values with the collections whose bytes must be canonical.
indirect enum Typed: Codable, Hashable {
    case int(Int)
    case small(Int8)
    case wide(UInt64)
    case text(String)
    case flag(Bool)
    case maybe(Typed?)
    case list([Typed])
    case set(Set<Typed>)
    case map([String: Typed])
    case intMap([Int: Typed])
    case pairMap([Pair: Typed])
    case labelled(first: Int, second: String?)

    struct Pair: Codable, Hashable {
        var a: Int16
        var b: String
    }
}

func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer) {
    guard let first = try? CompactDecoder().decode(T.self, from: bytes) else { return }
    let encoded: [UInt8]
    do { encoded = try CompactEncoder().encode(first) } catch {
        preconditionFailure("a decoded \(T.self) does not encode: \(error)")
    }
    let second: T
    do { second = try CompactDecoder().decode(T.self, from: encoded) } catch {
        preconditionFailure("re-encoded \(T.self) does not decode: \(error)")
    }
    precondition(second == first, "\(T.self) changed in a round trip: \(first) became \(second)")
    precondition((try? CompactEncoder().encode(second)) == encoded, "\(T.self) has two encodings")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompactRoundTrip(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var valid = true
    do throws(CompactFormatError) { try CompactDecoder.validate(bytes) } catch { valid = false }
    let rendered = try? CompactJSON.render(bytes)
    precondition(valid == (rendered != nil), "validate and render disagree")
    // A tree reads every key and value it holds: it decodes only from one well-formed value (the
    // decoder checks after decoding what an object's reads did not check; a key that is not UTF-8
    // is an error, not a key left out).
    if (try? CompactDecoder().decode(Tree.self, from: bytes)) != nil {
        precondition(valid, "a value decoded from bytes that validate refuses")
    }
    roundTrip(Tree.self, bytes)
    roundTrip(Typed.self, bytes)
    return 0
}
