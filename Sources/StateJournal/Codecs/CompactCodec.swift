import StateJournalEncoding

/// The compact, deterministic, self-describing encoding of `Codable` values
/// (see docs/FORMAT.md, "Message encoding"). The CLI prints such messages as
/// JSON without knowing their Swift type.
public struct CompactCodec<Value: Codable>: ValueCodec, CompactEncodingCodec {
    /// The codec; it has no settings.
    public init() {}
    /// Encodes `value` in the compact encoding.
    public func encode(_ value: Value) throws -> [UInt8] { try CompactEncoder().encode(value) }
    /// Decodes a value from its compact encoding; throws on bytes that are not one complete value of the type.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        try CompactDecoder().decode(Value.self, from: bytes)
    }
}
