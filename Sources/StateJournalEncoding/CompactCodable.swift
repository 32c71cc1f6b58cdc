import Synchronization

/// A `Codable` type that also writes and reads its compact encoding directly, without going
/// through `Encoder` and `Decoder`: the same bytes, several times faster.
///
/// Write the conformance with the `@CompactCodable` macro (product `StateJournalMacros`), which
/// generates both requirements from the stored properties or enum cases, in the layout the
/// synthesized `Codable` conformance gives:
///
/// ```swift
/// import StateJournalMacros
///
/// @CompactCodable
/// struct Posted: Codable {
///     var room: String
///     var text: String
///     var at: Int64
/// }
/// ```
///
/// ``CompactEncoder``, ``CompactDecoder`` and the runtime's `CompactCodec` use the conformance
/// wherever the value's type is known to conform: the top-level value, and the properties of a
/// conforming type whose types conform. The bytes are those of the `Codable` conformance, so a
/// journal written with one is read with the other, and adding or removing the macro changes
/// nothing on disk.
///
/// `init(from:)` reads the layout its `encode(to:)` writes, strictly: keys in that order, no
/// unknown key. A value in any other layout the `Codable` conformance accepts (keys in another
/// order, unknown keys from an older version of the type) makes it throw, and ``CompactDecoder``
/// then decodes the value through `Codable` instead: the outcome, value or error, is the one
/// `Codable` gives.
///
/// The conformance's metatype is `Sendable` (`SendableMetatype`): a codec looks it up once and
/// uses it from any task.
public protocol CompactCodable: Codable, SendableMetatype {
    /// Writes the value: exactly the bytes ``CompactEncoder`` writes for its `Codable` conformance.
    func encode(to writer: inout CompactWriter) throws
    /// Reads a value that `encode(to:)` wrote; throws on any other layout.
    init(from reader: inout CompactReader) throws
}

extension CompactCodable {
    /// Encodes the value at `pointer` (a `Self`): lets a generic caller holding only the
    /// conformance's metatype encode its value without boxing it in an existential.
    static func encodeCompact(at pointer: UnsafeRawPointer, to writer: inout CompactWriter) throws {
        try pointer.assumingMemoryBound(to: Self.self).pointee.encode(to: &writer)
    }

    /// Decodes a value into the uninitialized memory at `pointer` (a `Self`); leaves it
    /// uninitialized when it throws.
    static func decodeCompact(into pointer: UnsafeMutableRawPointer, from reader: inout CompactReader) throws {
        pointer.assumingMemoryBound(to: Self.self).initialize(to: try Self(from: &reader))
    }
}

/// The types last found not to conform to ``CompactCodable``, for ``CompactDecoder``: a failed
/// conformance lookup costs about a tenth of decoding a small struct, on every value. Racing
/// updates are harmless: a type missing from the slots is looked up again.
enum NotCompactCodable {
    private static let slot0 = Atomic<UInt>(0)
    private static let slot1 = Atomic<UInt>(0)
    private static let slot2 = Atomic<UInt>(0)
    private static let slot3 = Atomic<UInt>(0)
    private static let next = Atomic<UInt>(0)

    /// `T`'s conformance, or nil; remembers the types that have none.
    @inline(__always)
    static func conformance<T>(of type: T.Type) -> (any CompactCodable.Type)? {
        let id = UInt(bitPattern: ObjectIdentifier(type))
        if slot0.load(ordering: .relaxed) == id || slot1.load(ordering: .relaxed) == id
            || slot2.load(ordering: .relaxed) == id || slot3.load(ordering: .relaxed) == id
        {
            return nil
        }
        if let conforming = type as? any CompactCodable.Type { return conforming }
        switch next.wrappingAdd(1, ordering: .relaxed).oldValue & 3 {
        case 0: slot0.store(id, ordering: .relaxed)
        case 1: slot1.store(id, ordering: .relaxed)
        case 2: slot2.store(id, ordering: .relaxed)
        default: slot3.store(id, ordering: .relaxed)
        }
        return nil
    }
}
