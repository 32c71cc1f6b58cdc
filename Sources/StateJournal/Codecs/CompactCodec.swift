import StateJournalEncoding

/// The compact, deterministic, self-describing encoding of `Codable` values
/// (see docs/FORMAT.md, "Message encoding"). The CLI prints such messages as
/// JSON without knowing their Swift type.
///
/// A `Value` that conforms to `CompactCodable` (add `@CompactCodable` from the
/// `StateJournalMacros` product) is encoded and decoded by its own conformance,
/// several times faster, in the same bytes.
public struct CompactCodec<Value: Codable>: ValueCodec, CompactEncodingCodec {
    /// `Value`'s own conformance, looked up once.
    private let conformance: (any CompactCodable.Type)?

    /// The codec; it has no settings.
    public init() {
        conformance = Value.self as? any CompactCodable.Type
    }
    /// Encodes `value` in the compact encoding.
    public func encode(_ value: Value) throws -> [UInt8] {
        if let conformance { return try CompactEncoder().encode(value, conformance: conformance) }
        return try CompactEncoder().encode(value)
    }
    /// Decodes a value from its compact encoding; throws on bytes that are not one complete value of the type.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        if let conformance { return try CompactDecoder().decode(Value.self, from: bytes, conformance: conformance) }
        return try CompactDecoder().decodeThroughCodable(Value.self, from: bytes)
    }
}
