/// Why a versioned value could not be read.
public struct SchemaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
