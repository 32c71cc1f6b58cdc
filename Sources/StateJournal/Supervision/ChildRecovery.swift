/// What ``Supervisor/recoverChildren(concurrency:_:)`` did.
public struct ChildRecovery: Sendable {
    /// A journal that was not started, and why.
    public struct Skipped: Sendable, CustomStringConvertible {
        /// Where the journal is.
        public var path: String
        /// Why it was not started.
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The ids started, their state replayed.
    public var started: [String] = []
    /// Journals left as they are: a hashed name (an id too long to spell in a file name), a
    /// journal another OS process owns, a start that failed.
    public var skipped: [Skipped] = []
}
