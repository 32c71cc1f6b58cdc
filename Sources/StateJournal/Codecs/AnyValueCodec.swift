import StateJournalEncoding

/// A codec behind two closures: how specs and processes hold any codec
/// without a constrained existential.
public struct AnyValueCodec<Value>: ValueCodec {
    private let encodeValue: @Sendable (Value) throws -> [UInt8]
    private let decodeValue: @Sendable (UnsafeRawBufferPointer) throws -> Value
    /// The codec writes the compact encoding (recorded in the journal's header for the CLI).
    public let isCompactEncoding: Bool

    /// Wraps `codec`.
    public init<C: ValueCodec>(_ codec: C) where C.Value == Value {
        encodeValue = { try codec.encode($0) }
        decodeValue = { try codec.decode($0) }
        isCompactEncoding = codec is any CompactEncodingCodec
    }

    /// Encodes `value` with the wrapped codec.
    public func encode(_ value: Value) throws -> [UInt8] { try encodeValue(value) }
    /// Decodes a value from `bytes` with the wrapped codec.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value { try decodeValue(bytes) }

    /// The wrapped codec's decoding, taken once by a loop over many messages (calling it needs
    /// no copy of the codec, which in unspecialized generic code looks its type up each time).
    var decoder: @Sendable (UnsafeRawBufferPointer) throws -> Value { decodeValue }
}
