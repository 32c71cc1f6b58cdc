@_spi(Bytes) import StateJournalSystem

/// Renders compact-encoded values as JSON, without knowing their Swift type
/// (for the CLI and for logs).
package enum CompactJSON {
    /// The JSON text of the compact value in `bytes`. Non-finite doubles
    /// become the strings "NaN", "Infinity", "-Infinity".
    /// A value of the first encoding (objects tagged `0x09`) is read through ``CompactLegacy``.
    package static func render(_ bytes: UnsafeRawBufferPointer) throws(CompactFormatError) -> String {
        var cursor = CompactCursor(bytes)
        var out = ""
        do {
            try render(&cursor, into: &out, depth: 0)
        } catch  where error.isLegacyObject {
            let upgraded = try CompactLegacy.upgrade(bytes)
            var result: Result<String, CompactFormatError> = .success("")
            upgraded.withUnsafeBytes { raw in
                do throws(CompactFormatError) {
                    var cursor = CompactCursor(raw)
                    var out = ""
                    try render(&cursor, into: &out, depth: 0)
                    result = .success(out)
                } catch { result = .failure(error) }
            }
            return try result.get()
        }
        if !cursor.atEnd { throw cursor.fail("\(bytes.count - cursor.position) bytes after the value") }
        return out
    }

    package static func render(_ bytes: [UInt8]) throws(CompactFormatError) -> String {
        var result: Result<String, CompactFormatError> = .success("")
        bytes.withUnsafeBytes { raw in
            do throws(CompactFormatError) { result = .success(try render(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    private static func render(_ cursor: inout CompactCursor, into out: inout String, depth: Int)
        throws(CompactFormatError)
    {
        guard depth <= CompactTag.maxDepth else { throw cursor.fail("nesting deeper than \(CompactTag.maxDepth)") }
        let tag = try cursor.byte()
        if tag >= CompactTag.smallUnsigned {
            out += String(tag & 0x7F)
            return
        }
        switch tag {
        case CompactTag.null: out += "null"
        case CompactTag.false: out += "false"
        case CompactTag.true: out += "true"
        case CompactTag.unsigned: out += String(try cursor.varint())
        case CompactTag.signed:
            let raw = try cursor.varint()
            out += String(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        case CompactTag.double: number(Double(bitPattern: try cursor.fixed(UInt64.self)), into: &out)
        case CompactTag.float: number(Double(Float(bitPattern: try cursor.fixed(UInt32.self))), into: &out)
        case CompactTag.string:
            let at = cursor.position
            let range = try cursor.utf8Run()
            guard let string = String(validUTF8: UnsafeRawBufferPointer(rebasing: cursor.bytes[range]))
            else {
                throw CompactFormatError(offset: at, reason: "string is not valid UTF-8")
            }
            quote(string, into: &out)
        case CompactTag.arrayStart:
            out += "["
            var first = true
            while try cursor.peek() != CompactTag.end {
                if !first { out += "," }
                first = false
                try render(&cursor, into: &out, depth: depth + 1)
            }
            cursor.position += 1
            out += "]"
        case CompactTag.objectStart:
            out += "{"
            var first = true
            while true {
                let at = cursor.position
                guard let range = try cursor.objectKey() else { break }
                if !first { out += "," }
                first = false
                guard let key = String(validUTF8: UnsafeRawBufferPointer(rebasing: cursor.bytes[range]))
                else {
                    throw CompactFormatError(offset: at, reason: "key is not valid UTF-8")
                }
                quote(key, into: &out)
                out += ":"
                try render(&cursor, into: &out, depth: depth + 1)
            }
            out += "}"
        case CompactTag.legacyObjectStart:
            cursor.position -= 1
            var error = cursor.fail("an object of the first encoding (tag 0x09)")
            error.isLegacyObject = true
            throw error
        default:
            cursor.position -= 1
            throw cursor.fail("unknown tag \(hex(tag))")
        }
    }

    private static func number(_ value: Double, into out: inout String) {
        if value.isNaN {
            out += "\"NaN\""
        } else if value.isInfinite {
            out += value < 0 ? "\"-Infinity\"" : "\"Infinity\""
        } else if value == value.rounded(), abs(value) < 1e15 {
            out += String(Int64(value))
            if value == 0 && value.sign == .minus { out = String(out.dropLast()) + "-0" }
        } else {
            out += "\(value)"
        }
    }

    /// Appends `string` as a JSON string literal.
    package static func quote(_ string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let digits = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
