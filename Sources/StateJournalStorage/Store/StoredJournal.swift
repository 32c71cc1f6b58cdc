/// A journal a store holds, as ``JournalStore/list()`` finds it.
public struct StoredJournal: Sendable, Hashable {
    /// The name it is opened by; nil when the store cannot tell it from what it keeps (the file
    /// store's hashed names of very long names).
    public var name: String?
    /// Where it is kept (``JournalStore/location(of:)``).
    public var location: String

    /// A journal found under `name` at `location`.
    public init(name: String?, location: String) {
        self.name = name
        self.location = location
    }
}
