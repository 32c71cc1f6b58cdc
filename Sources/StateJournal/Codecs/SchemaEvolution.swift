import StateJournalEncoding

/// How a process reads messages and states journaled by earlier versions of its types.
///
/// Each value a versioned process journals carries the version of its shape; a value written by
/// an older version is upcast, one version at a time, on its self-describing compact form
/// (``CompactValue``) before it is decoded into the current types. So a field or an enum case
/// can be renamed, a field added with a default, a value reshaped, and every old journal (and
/// snapshot) still replays.
///
/// ```swift
/// // Version 1 had `case addItem(name: String, qty: Int)`; version 2 has `add(name:quantity:)`.
/// let schema = SchemaEvolution(version: 2) { value, kind, from in
///     guard kind == .message, from == 1, case .object(var message) = value,
///           case .object(var fields)? = message.removeValue(forKey: "addItem") else { return }
///     fields["quantity"] = fields.removeValue(forKey: "qty")
///     message["add"] = .object(fields)
///     value = .object(message)
/// }
/// let spec = ChildSpec(id: "cart-7", process: Cart()).evolving(schema)
/// ```
///
/// **On disk.** Values of version 1 are written as they always were, so a process that adopts
/// versioning keeps its journals as they are, and journals written before it are version 1.
/// From version 2 on, a value is written as the compact object
/// `{"$schema": N, "$value": value}` (the CLI shows it so). A value whose version is newer
/// than the process's fails its replay with ``ProcessError/Code/replayFailed``: a rollback
/// cannot read what a later version wrote.
///
/// Versioning needs the compact encoding (``CompactCodec``), for messages and for the state.
public struct SchemaEvolution: Sendable {
    /// What a value is.
    public enum ValueKind: Sendable, Hashable {
        case message
        case state
    }

    /// The version of the shapes this code writes (1 or more).
    public var version: Int
    /// Turns a value of shape `from` into the shape of `from + 1`, in place. Called for each
    /// version between the value's and ``version``. Throwing fails the replay.
    public var upcast: @Sendable (_ value: inout CompactValue, _ kind: ValueKind, _ from: Int) throws -> Void

    /// A schema at `version` whose `upcast` turns a value of one version into the next.
    public init(
        version: Int,
        upcast: @escaping @Sendable (_ value: inout CompactValue, _ kind: ValueKind, _ from: Int) throws -> Void
    ) {
        precondition(version >= 1, "schema versions start at 1")
        self.version = version
        self.upcast = upcast
    }
}

/// A compact codec that records the version of the shape it writes and upcasts older ones.
struct VersionedCodec<Value>: ValueCodec, CompactEncodingCodec {
    let inner: AnyValueCodec<Value>
    let schema: SchemaEvolution
    let kind: SchemaEvolution.ValueKind
    /// The bytes before the value in `{"$schema": version, "$value": value}` for this version,
    /// computed once (encode and decode run on every send and every replayed message).
    private let prefix: [UInt8]

    static var schemaKey: String { "$schema" }
    static var valueKey: String { "$value" }
    /// How every wrapped value starts: the object tag and the `$schema` key.
    static var wrapperStart: [UInt8] {
        [CompactTag.objectStart, UInt8(schemaKey.utf8.count + 1)] + Array(schemaKey.utf8)
    }

    init(inner: AnyValueCodec<Value>, schema: SchemaEvolution, kind: SchemaEvolution.ValueKind) {
        self.inner = inner
        self.schema = schema
        self.kind = kind
        var prefix = Self.wrapperStart
        prefix += CompactValue.unsigned(UInt64(schema.version)).encoded
        prefix.append(UInt8(Self.valueKey.utf8.count + 1))
        prefix += Array(Self.valueKey.utf8)
        self.prefix = prefix
    }

    func encode(_ value: Value) throws -> [UInt8] {
        let bytes = try inner.encode(value)
        guard schema.version > 1 else { return bytes }
        var wrapped = prefix
        wrapped.reserveCapacity(prefix.count + bytes.count + 1)
        wrapped += bytes
        wrapped.append(CompactTag.objectEnd)
        return wrapped
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        let wrapped = bytes.starts(with: Self.wrapperStart)
        if schema.version > 1, wrapped, bytes.count > prefix.count, bytes.starts(with: prefix),
            bytes.last == CompactTag.objectEnd
        {
            // This version, as written here: the value's bytes are inside the wrapper.
            return try inner.decode(UnsafeRawBufferPointer(rebasing: bytes[prefix.count..<(bytes.count - 1)]))
        }
        if schema.version == 1, !wrapped { return try inner.decode(bytes) }
        var value = try CompactValue(decoding: bytes)
        var version = 1
        if case .object(let entries) = value, entries.count == 2,
            case .unsigned(let written)? = entries[Self.schemaKey],
            let inside = entries[Self.valueKey]
        {
            version = Int(clamping: written)
            value = inside
        }
        guard version <= schema.version else {
            throw SchemaError(
                message:
                    "the value was written by version \(version) of its type; this process reads up to version \(schema.version)"
            )
        }
        if version == schema.version { return try value.encoded.withUnsafeBytes { try inner.decode($0) } }
        for from in version..<schema.version { try schema.upcast(&value, kind, from) }
        return try value.encoded.withUnsafeBytes { try inner.decode($0) }
    }
}

extension ChildSpec {
    /// This child, reading values journaled by older versions of its types through `schema`
    /// (see ``SchemaEvolution``). Needs the compact encoding for messages and the state.
    public func evolving(_ schema: SchemaEvolution) -> ChildSpec {
        var spec = self
        spec.schema = schema
        return spec
    }
}
