/// Reads values of the first compact encoding, whose objects (tag `0x09`) wrote
/// each key's length as a bare LEB128 byte and ended with `0x0A`, so a key of
/// exactly 10 bytes could not be told from the end of its object.
///
/// Such a value is read by trying both readings wherever an object entry
/// starts with `0x0A` (the end of the object, or a 10-byte key) and keeping
/// the readings that consume the whole value. One complete reading: the value
/// is rewritten in the current encoding and decoded from there. None: the
/// value is malformed. Two or more: the value is ambiguous and is refused with
/// an error naming the byte offset where the readings part (the runtime adds
/// the sequence number); nothing is guessed.
public enum CompactLegacy {
    /// The value in `bytes` (one complete value, first or current encoding)
    /// rewritten in the current encoding.
    public static func upgrade(_ bytes: UnsafeRawBufferPointer) throws(CompactFormatError) -> [UInt8] {
        var parser = LegacyParser(bytes: bytes)
        return try parser.run()
    }

    /// At most this many readings are followed at once; a value that needs
    /// more is refused as ambiguous.
    static let maxReadings = 64
}

/// One partial reading of a first-encoding value.
private struct Reading {
    /// Where the reading continues.
    var position = 0
    /// The open containers, innermost last: true for an object.
    var open: [Bool] = []
    /// A key was read and its value comes next.
    var needsValue = false
    /// The top-level value is complete.
    var done = false
    /// The value rewritten in the current encoding so far.
    var output: [UInt8] = []
    /// Where this reading took the other branch of a `0x0A` (for the error message).
    var forkedAt: Int?
    /// Two readings reached the same place: what follows is read twice.
    var merged = false

    func samePlace(as other: Reading) -> Bool {
        position == other.position && needsValue == other.needsValue && done == other.done && open == other.open
    }
}

private struct LegacyParser {
    let bytes: UnsafeRawBufferPointer
    var furthest = CompactFormatError(offset: 0, reason: "no complete value")

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func run() throws(CompactFormatError) -> [UInt8] {
        var live = [Reading()]
        var complete: [Reading] = []
        live[0].output.reserveCapacity(bytes.count + 16)
        while !live.isEmpty {
            // Advance the reading that is furthest behind, so readings that meet are merged.
            var index = 0
            for i in live.indices.dropFirst() where live[i].position < live[index].position { index = i }
            let reading = live.remove(at: index)
            for next in step(reading) {
                if next.done {
                    if next.position == bytes.count {
                        complete.append(next)
                    } else {
                        fail(next.position, "\(bytes.count - next.position) bytes after the value")
                    }
                } else if let same = live.firstIndex(where: { $0.samePlace(as: next) }) {
                    live[same].merged = true
                    live[same].forkedAt = live[same].forkedAt ?? next.forkedAt
                } else {
                    live.append(next)
                }
            }
            if live.count > CompactLegacy.maxReadings {
                throw CompactFormatError(offset: live[0].position, reason: "a first-encoding value with more than \(CompactLegacy.maxReadings) possible readings")
            }
        }
        guard let first = complete.first else { throw furthest }
        if complete.count > 1 || first.merged {
            let at = complete.compactMap(\.forkedAt).min() ?? first.forkedAt ?? 0
            throw CompactFormatError(
                offset: at,
                reason: "ambiguous first-encoding object: the byte 0x0A at \(at) reads both as the end of the object and as the length of a 10-byte key, and both readings are complete values")
        }
        return first.output
    }

    mutating func fail(_ offset: Int, _ reason: String) {
        if offset >= furthest.offset { furthest = CompactFormatError(offset: offset, reason: reason) }
    }

    /// The readings that follow `reading` after one token.
    mutating func step(_ reading: Reading) -> [Reading] {
        var r = reading
        guard r.position < bytes.count else {
            fail(r.position, "unexpected end")
            return []
        }
        let byte = bytes[r.position]
        if r.needsValue || r.open.isEmpty {
            return value(r, tag: byte).map { [$0] } ?? []
        }
        if r.open.last == false {
            // In an array: an element, or the end.
            if byte == CompactTag.end {
                r.output.append(CompactTag.end)
                r.position += 1
                close(&r)
                return [r]
            }
            return value(r, tag: byte).map { [$0] } ?? []
        }
        // In an object: an entry, or the end; 0x0A may be either.
        var results: [Reading] = []
        if byte == CompactTag.end {
            var ended = r
            ended.output.append(CompactTag.objectEnd)
            ended.position += 1
            close(&ended)
            results.append(ended)
        }
        var cursor = CompactCursor(bytes, position: r.position)
        do {
            let range = try cursor.utf8Run()
            var entry = r
            if byte == CompactTag.end { entry.forkedAt = r.position }
            appendVarint(UInt64(range.count) + 1, to: &entry.output)
            entry.output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
            entry.position = cursor.position
            entry.needsValue = true
            results.append(entry)
        } catch {
            fail(error.offset, error.reason)
        }
        return results
    }

    /// Reads the value whose tag is at `r.position`.
    mutating func value(_ reading: Reading, tag: UInt8) -> Reading? {
        var r = reading
        r.needsValue = false
        switch tag {
        case CompactTag.arrayStart, CompactTag.legacyObjectStart:
            guard r.open.count < CompactTag.maxDepth else {
                fail(r.position, "nesting deeper than \(CompactTag.maxDepth)")
                return nil
            }
            r.open.append(tag == CompactTag.legacyObjectStart)
            r.output.append(tag == CompactTag.legacyObjectStart ? CompactTag.objectStart : CompactTag.arrayStart)
            r.position += 1
            return r
        case CompactTag.objectStart:
            fail(r.position, "a current-encoding object inside a first-encoding value")
            return nil
        default:
            var cursor = CompactCursor(bytes, position: r.position)
            do {
                try cursor.skipValue()
            } catch {
                fail(error.offset, error.reason)
                return nil
            }
            r.output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[r.position..<cursor.position]))
            r.position = cursor.position
            if r.open.isEmpty { r.done = true }
            return r
        }
    }

    func close(_ r: inout Reading) {
        r.open.removeLast()
        if r.open.isEmpty { r.done = true }
    }

    func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}
