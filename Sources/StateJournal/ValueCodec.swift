/// Turns messages or states into bytes and back. The default for `Codable`
/// types is ``CompactCodec``; plug in your own for a hand-written format.
public protocol ValueCodec<Value>: Sendable {
    associatedtype Value
    func encode(_ value: Value) throws -> [UInt8]
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value
}

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

/// A codec behind two closures: how specs and processes hold any codec
/// without a constrained existential.
public struct AnyValueCodec<Value>: ValueCodec {
    private let encodeValue: @Sendable (Value) throws -> [UInt8]
    private let decodeValue: @Sendable (UnsafeRawBufferPointer) throws -> Value
    /// The codec writes the compact encoding (recorded in the journal's header for the CLI).
    public let isCompactEncoding: Bool

    public init<C: ValueCodec>(_ codec: C) where C.Value == Value {
        encodeValue = { try codec.encode($0) }
        decodeValue = { try codec.decode($0) }
        isCompactEncoding = codec is any CompactEncodingCodec
    }

    public func encode(_ value: Value) throws -> [UInt8] { try encodeValue(value) }
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value { try decodeValue(bytes) }
}

/// Codecs whose bytes are compact-encoded values.
protocol CompactEncodingCodec {}
