/// Collections whose iteration order is not part of their value: a `Set` or a
/// `Dictionary` iterates in an order that depends on its history and on the
/// hash seed of the OS process. The compact encoding writes them in one
/// canonical order, so the same value gives the same bytes in any process:
///
/// - a `Set`: its elements' encodings sorted bytewise (as unsigned bytes, a
///   shorter prefix first);
/// - a `Dictionary` whose key is `String`, `Int` or `CodingKeyRepresentable`
///   (an object, as Swift's `Codable` writes it): entries sorted by the key's
///   UTF-8 bytes;
/// - any other `Dictionary` (an array of key, value, key, value…): pairs
///   sorted by the key's encoding.
protocol CompactCanonicalEncodable {
    func encodeCanonical(into encoding: CompactEncoding) throws
}

/// Sorts encodings bytewise.
@inline(__always)
private func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

extension CompactEncoding {
    /// The bytes of one value on its own.
    func encodedAlone<T: Encodable>(_ value: T) throws -> [UInt8] {
        let alone = CompactEncoding(bytes: [])
        try alone.encodeValue(value)
        return alone.bytes
    }
}

extension Set: CompactCanonicalEncodable where Element: Encodable {
    func encodeCanonical(into encoding: CompactEncoding) throws {
        let elements = try map { try encoding.encodedAlone($0) }.sorted(by: precedes)
        let id = encoding.openContainer(CompactTag.arrayStart)
        for element in elements {
            try encoding.prepare(id)
            encoding.append(encoded: element)
        }
        try encoding.prepare(id)
        encoding.closeInnermost()
    }
}

extension Dictionary: CompactCanonicalEncodable where Key: Encodable, Value: Encodable {
    func encodeCanonical(into encoding: CompactEncoding) throws {
        // The same shapes as the standard library's `Dictionary.encode(to:)`, in a canonical order.
        let keyNames: [(name: String, key: Key)]?
        if Key.self == String.self {
            keyNames = keys.map { (unsafeBitCast($0, to: String.self), $0) }
        } else if Key.self == Int.self {
            keyNames = keys.map { (String(unsafeBitCast($0, to: Int.self)), $0) }
        } else if Key.self is any CodingKeyRepresentable.Type {
            keyNames = keys.map { (($0 as! any CodingKeyRepresentable).codingKey.stringValue, $0) }
        } else {
            keyNames = nil
        }
        if let keyNames {
            let sorted = keyNames.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            let id = encoding.openContainer(CompactTag.objectStart)
            for (name, key) in sorted {
                try encoding.prepare(id)
                encoding.writeKey(name)
                try encoding.encodeValue(self[key]!)
            }
            try encoding.prepare(id)
            encoding.closeInnermost()
        } else {
            let pairs = try map { (try encoding.encodedAlone($0.key), $0.value) }.sorted { precedes($0.0, $1.0) }
            let id = encoding.openContainer(CompactTag.arrayStart)
            for (key, value) in pairs {
                try encoding.prepare(id)
                encoding.append(encoded: key)
                try encoding.encodeValue(value)
            }
            try encoding.prepare(id)
            encoding.closeInnermost()
        }
    }
}
