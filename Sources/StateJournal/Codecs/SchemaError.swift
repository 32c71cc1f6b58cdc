/// Why a versioned value could not be read.
public struct SchemaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in words.
    public var message: String
    public var description: String { message }
}
