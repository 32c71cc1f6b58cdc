@_spi(Bytes) import StateJournalSystem

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

/// Byte runs of one scratch buffer, each tagged with the index of what it encodes,
/// sorted bytewise (unsigned bytes, a shorter prefix first).
private func sortBytewise(_ runs: inout [(range: Range<Int>, index: Int)], in base: UnsafeRawBufferPointer) {
    do {
        runs.sort { a, b in
            let common = min(a.range.count, b.range.count)
            if common > 0 {
                let order = compareBytes(
                    base.baseAddress! + a.range.lowerBound, base.baseAddress! + b.range.lowerBound, count: common)
                if order != 0 { return order < 0 }
            }
            return a.range.count < b.range.count
        }
    }
}

extension Set: CompactCanonicalEncodable where Element: Encodable {
    func encodeCanonical(into encoding: CompactEncoding) throws {
        // Every element encoded once into one scratch buffer, then copied in sorted order.
        let scratch = CompactEncoding()
        var runs: [(range: Range<Int>, index: Int)] = []
        runs.reserveCapacity(count)
        for element in self {
            let start = scratch.count
            try scratch.encodeValue(element)
            runs.append((start..<scratch.count, 0))
        }
        let encoded = scratch.output
        sortBytewise(&runs, in: encoded)
        let id = encoding.openContainer(CompactTag.arrayStart)
        for run in runs {
            try encoding.prepare(id)
            encoding.append(contentsOf: UnsafeRawBufferPointer(rebasing: encoded[run.range]))
        }
        try encoding.prepare(id)
        encoding.closeInnermost()
    }
}

extension Dictionary: CompactCanonicalEncodable where Key: Encodable, Value: Encodable {
    func encodeCanonical(into encoding: CompactEncoding) throws {
        // The same shapes as the standard library's `Dictionary.encode(to:)`, in a canonical order:
        // each key's bytes (its name, or its encoding) go to one scratch buffer, then are sorted.
        let entries = Array(self)
        var scratch: [UInt8] = []
        var runs: [(range: Range<Int>, index: Int)] = []
        runs.reserveCapacity(entries.count)
        let keyed: Bool
        if Key.self == String.self {
            keyed = true
            for (index, entry) in entries.enumerated() {
                let start = scratch.count
                scratch.append(contentsOf: unsafeBitCast(entry.key, to: String.self).utf8)
                runs.append((start..<scratch.count, index))
            }
        } else if Key.self == Int.self {
            keyed = true
            for (index, entry) in entries.enumerated() {
                let start = scratch.count
                scratch.append(contentsOf: String(unsafeBitCast(entry.key, to: Int.self)).utf8)
                runs.append((start..<scratch.count, index))
            }
        } else if Key.self is any CodingKeyRepresentable.Type {
            keyed = true
            for (index, entry) in entries.enumerated() {
                let start = scratch.count
                scratch.append(contentsOf: (entry.key as! any CodingKeyRepresentable).codingKey.stringValue.utf8)
                runs.append((start..<scratch.count, index))
            }
        } else {
            keyed = false
            let keys = CompactEncoding()
            for (index, entry) in entries.enumerated() {
                let start = keys.count
                try keys.encodeValue(entry.key)
                runs.append((start..<keys.count, index))
            }
            scratch = Array(keys.output)
        }
        scratch.withUnsafeBytes { sortBytewise(&runs, in: $0) }
        let id = encoding.openContainer(keyed ? CompactTag.objectStart : CompactTag.arrayStart)
        for run in runs {
            try encoding.prepare(id)
            if keyed { encoding.writeVarint(UInt64(run.range.count) + 1) }
            scratch[run.range].withUnsafeBytes { encoding.append(contentsOf: $0) }
            try encoding.encodeValue(entries[run.index].value)
        }
        try encoding.prepare(id)
        encoding.closeInnermost()
    }
}
