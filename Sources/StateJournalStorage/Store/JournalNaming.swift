import Foundation

/// Journal file names from process ids: any id (slashes, dots, spaces,
/// emoji, thousands of bytes) gives a safe, unique file name.
public enum JournalNaming {
    /// The file name of the journal of `id`: the id in Unicode normalization
    /// form C (ids that are equal as Swift strings, such as `"\u{E9}"` and
    /// `"e\u{301}"`, name one file), bytes outside `[A-Za-z0-9_-]`
    /// percent-encoded; ids whose name would exceed 200 bytes keep a 150-byte
    /// prefix and a 64-bit hash of the whole id.
    public static func fileName(for id: String) -> String {
        encodedName(id.precomposedStringWithCanonicalMapping)
    }

    /// The name earlier versions gave `id` (its bytes as spelled, not normalized), when it
    /// differs from ``fileName(for:)``: a journal found under it is renamed on start.
    static func legacyFileName(for id: String) -> String? {
        let legacy = encodedName(id)
        return legacy == fileName(for: id) ? nil : legacy
    }

    private static func encodedName(_ id: String) -> String {
        var name = ""
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                name.unicodeScalars.append("%")
                name.unicodeScalars.append(digits[Int(byte >> 4)])
                name.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        if name.isEmpty { name = "%" }
        if name.utf8.count > 200 {
            let hex = String(FNV1a.hash(id.utf8), radix: 16)
            name = String(name.utf8.prefix(150))! + "~" + String(repeating: "0", count: 16 - hex.count) + hex
        }
        return name + ".journal"
    }

    /// The id written in the journal's header: the id itself, or for ids
    /// longer than the format allows, the journal's (hashed) file name.
    static func headerProcessID(for id: String) -> String {
        if id.utf8.count <= JournalFormat.maxProcessIDLength { return id }
        return String(fileName(for: id).dropLast(".journal".count))
    }

    /// The id a journal file name stands for, when it can be recovered (not for hashed names).
    public static func id(fromFileName fileName: String) -> String? {
        guard fileName.hasSuffix(".journal") else { return nil }
        let name = fileName.dropLast(".journal".count)
        if name.contains("~") { return nil }
        if name == "%" { return "" }
        var bytes: [UInt8] = []
        var iterator = name.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
