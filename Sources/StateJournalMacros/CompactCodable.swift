// The `@CompactCodable` macro: a `CompactCodable` conformance written from a type's stored
// properties or enum cases. A product of its own, so that only its users build swift-syntax.

@_exported public import protocol StateJournalEncoding.CompactCodable
@_exported public import struct StateJournalEncoding.CompactReader
@_exported public import struct StateJournalEncoding.CompactWriter

/// Adds a ``StateJournalEncoding/CompactCodable`` conformance to a `Codable` struct or enum: an
/// `encode(to:)` and an `init(from:)` that write and read the compact encoding directly, in the
/// layout of the synthesized `Codable` conformance (the same bytes).
///
/// ```swift
/// @CompactCodable
/// enum CartMessage: Codable, Sendable {
///     case add(sku: String, quantity: Int)
///     case remove(sku: String)
///     case checkout
/// }
/// ```
///
/// The type keeps its synthesized `Codable` conformance, which the macro mirrors: a struct's
/// stored properties in declaration order (an optional one omitted when nil), an enum's case as
/// an object of one entry holding its associated values by label (`_0`, `_1`… when unlabeled),
/// an enum with a raw type as its raw value. The macro refuses, with a message, what it cannot
/// mirror: custom `CodingKeys`, a hand-written `init(from:)` or `encode(to:)`, property
/// wrappers, `lazy` properties, a `let` with an initial value, a stored property whose type is
/// neither written nor that of a plain literal (`var count = 0` is an `Int`), classes.
@attached(extension, conformances: CompactCodable, names: named(encode(to:)), named(init(from:)))
public macro CompactCodable() = #externalMacro(module: "StateJournalMacroPlugin", type: "CompactCodableMacro")
