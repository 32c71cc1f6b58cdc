/// Why a supervisor stopped or refused.
public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure: branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: Hashable, Sendable {
            case intensityExceeded, duplicateID, notRunning, startFailed, wrongType
        }
        fileprivate var wrapped: Wrapped
        /// A child crashed more often than the restart intensity allows.
        public static let intensityExceeded = Code(wrapped: .intensityExceeded)
        /// A child with this id exists already.
        public static let duplicateID = Code(wrapped: .duplicateID)
        /// The supervisor is shutting down, stopped, or failed.
        public static let notRunning = Code(wrapped: .notRunning)
        /// A child could not be started (its journal could not be opened or replayed).
        public static let startFailed = Code(wrapped: .startFailed)
        /// A child exists with this id but runs another process type.
        public static let wrongType = Code(wrapped: .wrongType)
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure.
    public var code: Code
    /// What happened, in words.
    public var message: String
    /// The child concerned.
    public var childID: String?
    /// How often it crashed within the intensity period.
    public var crashes: Int?
    /// The sequence number of the last crash, when known.
    public var sequence: UInt64?
    /// The error behind it, when there is one (a child's crash).
    public var cause: (any Error)?

    public var description: String {
        var text = "\(code): \(message)"
        if let childID {
            text +=
                " [child: \(childID)" + (crashes.map { ", crashes: \($0)" } ?? "")
                + (sequence.map { ", sequence: \($0)" } ?? "") + "]"
        }
        if let cause { text += " caused by: \(cause)" }
        return text
    }
}
