import StateJournalEncoding

/// A message as readable JSON when it can be decoded, else hex.
enum MessageText {
    /// JSON for the message: its compact encoding rendered, JSON text kept
    /// as it is, other UTF-8 text as a JSON string; nil when none applies.
    static func json(_ bytes: UnsafeRawBufferPointer) -> String? {
        // JSON text first: its first byte is never a compact object or array tag.
        if let first = bytes.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
            JSONCheck.isJSON(bytes), let text = String(validating: bytes, as: UTF8.self)
        {
            return text
        }
        if let rendered = try? CompactJSON.render(bytes) { return rendered }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\t" }) {
            return Format.quote(text)
        }
        return nil
    }

    /// Why ``json(_:)`` found no readable form: what the bytes are not, and for bytes that
    /// start like a compact value, where and why that reading failed.
    static func whyHex(_ bytes: UnsafeRawBufferPointer) -> String {
        guard let first = bytes.first else { return "empty" }
        var compact = "not a compact value"
        do throws(CompactFormatError) { _ = try CompactJSON.render(bytes) } catch {
            // Tags 0x00-0x0B and small integers start compact values; anything else is not one at all.
            if first <= CompactTag.objectStart || first >= CompactTag.smallUnsigned {
                compact = "not a well-formed compact value (\(error))"
            }
        }
        if String(validating: bytes, as: UTF8.self) == nil { return "\(compact), not UTF-8 text" }
        return "\(compact); UTF-8 text with control characters"
    }
}
