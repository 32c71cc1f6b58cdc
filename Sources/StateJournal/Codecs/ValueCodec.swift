import StateJournalEncoding

/// Turns messages or states into bytes and back. The default for `Codable`
/// types is ``CompactCodec``; plug in your own for a hand-written format.
public protocol ValueCodec<Value>: Sendable {
    associatedtype Value
    func encode(_ value: Value) throws -> [UInt8]
    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value
}

/// Codecs whose bytes are compact-encoded values.
protocol CompactEncodingCodec {}
