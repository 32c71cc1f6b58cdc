import StateJournalEncoding

/// The compact, deterministic, self-describing encoding of `Codable` values
/// (see docs/FORMAT.md, "Message encoding"). The CLI prints such messages as
/// JSON without knowing their Swift type.
public struct CompactCodec<Value: Codable>: ValueCodec, CompactEncodingCodec {
    public init() {}
    public func encode(_ value: Value) throws -> [UInt8] { try CompactEncoder().encode(value) }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        try CompactDecoder().decode(Value.self, from: bytes)
    }
}
