@_spi(Bytes) import StateJournalSystem

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
package enum CompactLegacy {
    /// The value in `bytes` (one complete value, first or current encoding)
    /// rewritten in the current encoding.
    package static func upgrade(_ bytes: UnsafeRawBufferPointer) throws(CompactFormatError) -> [UInt8] {
        var parser = LegacyParser(bytes: bytes)
        return try parser.run()
    }

    /// At most this many readings are followed at once; a value that needs
    /// more is refused as ambiguous.
    static let maxReadings = 64
}

/// One partial reading of a first-encoding value: where it is and the choices it made, not
/// its output (readings are copied when they part; the output is written once, at the end).
private struct Reading {
    /// Where the reading continues.
    var position = 0
    /// The open containers, innermost last: true for an object.
    var open: [Bool] = []
    /// A key was read and its value comes next.
    var needsValue = false
    /// The top-level value is complete.
    var done = false
    /// The offsets where this reading took a `0x0A` at the start of an object entry as the
    /// length of a 10-byte key rather than the end of the object.
    var tenByteKeys: [Int] = []
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
        while !live.isEmpty {
            // Advance the reading that is furthest behind, so readings that meet are merged.
            var index = 0
            for i in live.indices.dropFirst() where live[i].position < live[index].position { index = i }
            var reading = live.remove(at: index)
            let other = step(&reading)
            for next in [reading, other].compactMap({ $0 }) where next.position >= 0 {
                if next.done {
                    if next.position == bytes.count {
                        complete.append(next)
                    } else {
                        fail(next.position, "\(bytes.count - next.position) bytes after the value")
                    }
                } else if let same = live.firstIndex(where: { $0.samePlace(as: next) }) {
                    live[same].merged = true
                    if live[same].tenByteKeys.isEmpty { live[same].tenByteKeys = next.tenByteKeys }
                } else {
                    live.append(next)
                }
            }
            if live.count > CompactLegacy.maxReadings {
                throw CompactFormatError(
                    offset: live[0].position,
                    reason: "a first-encoding value with more than \(CompactLegacy.maxReadings) possible readings")
            }
        }
        guard let first = complete.first else { throw furthest }
        if complete.count > 1 || first.merged {
            let at = complete.compactMap(\.tenByteKeys.first).min() ?? 0
            throw CompactFormatError(
                offset: at,
                reason:
                    "ambiguous first-encoding object: the byte 0x0A at \(at) reads both as the end of the object and as the length of a 10-byte key, and both readings are complete values"
            )
        }
        return translate(tenByteKeys: Set(first.tenByteKeys))
    }

    mutating func fail(_ offset: Int, _ reason: String) {
        if offset >= furthest.offset { furthest = CompactFormatError(offset: offset, reason: reason) }
    }

    /// Advances `r` by one token. Returns a second reading when the token reads two ways.
    /// A reading that cannot go on gets position -1.
    mutating func step(_ r: inout Reading) -> Reading? {
        guard r.position < bytes.count else {
            fail(r.position, "unexpected end")
            r.position = -1
            return nil
        }
        let byte = bytes[r.position]
        if r.needsValue || r.open.isEmpty {
            value(&r, tag: byte)
            return nil
        }
        if r.open.last == false {
            // In an array: an element, or the end.
            if byte == CompactTag.end {
                r.position += 1
                close(&r)
            } else {
                value(&r, tag: byte)
            }
            return nil
        }
        // In an object: an entry, or the end; 0x0A may be either.
        var cursor = CompactCursor(bytes, position: r.position)
        var key: Range<Int>?
        do { key = try cursor.utf8Run() } catch { fail(error.offset, error.reason) }
        if byte == CompactTag.end {
            var entry: Reading?
            if key != nil {
                entry = r
                entry!.tenByteKeys.append(r.position)
                entry!.position = cursor.position
                entry!.needsValue = true
            }
            r.position += 1
            close(&r)
            return entry
        }
        if key != nil {
            r.position = cursor.position
            r.needsValue = true
        } else {
            r.position = -1
        }
        return nil
    }

    /// Reads the value whose tag is at `r.position`.
    mutating func value(_ r: inout Reading, tag: UInt8) {
        r.needsValue = false
        switch tag {
        case CompactTag.arrayStart, CompactTag.legacyObjectStart:
            guard r.open.count < CompactTag.maxDepth else {
                fail(r.position, "nesting deeper than \(CompactTag.maxDepth)")
                r.position = -1
                return
            }
            r.open.append(tag == CompactTag.legacyObjectStart)
            r.position += 1
        case CompactTag.objectStart:
            fail(r.position, "a current-encoding object inside a first-encoding value")
            r.position = -1
        default:
            var cursor = CompactCursor(bytes, position: r.position)
            do {
                try cursor.skipValue()
            } catch {
                fail(error.offset, error.reason)
                r.position = -1
                return
            }
            r.position = cursor.position
            if r.open.isEmpty { r.done = true }
        }
    }

    func close(_ r: inout Reading) {
        r.open.removeLast()
        if r.open.isEmpty { r.done = true }
    }

    /// The value in the current encoding, given where its 10-byte keys are (one pass; the
    /// structure was checked by the reading that chose them).
    func translate(tenByteKeys: Set<Int>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 16)
        var open: [Bool] = []
        var needsValue = false
        var position = 0
        repeat {
            let byte = bytes[position]
            if needsValue || open.isEmpty || open.last == false {
                if !needsValue, open.last == false, byte == CompactTag.end {
                    output.append(CompactTag.end)
                    position += 1
                    open.removeLast()
                    continue
                }
                needsValue = false
                switch byte {
                case CompactTag.arrayStart, CompactTag.legacyObjectStart:
                    open.append(byte == CompactTag.legacyObjectStart)
                    output.append(byte == CompactTag.legacyObjectStart ? CompactTag.objectStart : CompactTag.arrayStart)
                    position += 1
                default:
                    var cursor = CompactCursor(bytes, position: position)
                    try! cursor.skipValue()
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<cursor.position]))
                    position = cursor.position
                }
            } else if byte == CompactTag.end && !tenByteKeys.contains(position) {
                output.append(CompactTag.objectEnd)
                position += 1
                open.removeLast()
            } else {
                var cursor = CompactCursor(bytes, position: position)
                let key = try! cursor.utf8Run()
                output.appendVarint(UInt64(key.count) + 1)
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[key]))
                position = cursor.position
                needsValue = true
            }
        } while !open.isEmpty
        return output
    }
}
