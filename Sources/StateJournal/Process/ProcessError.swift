/// The error of a journaled process, for its senders and its supervisor.
public struct ProcessError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure: branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: Hashable, Sendable {
            case rejected, encodingFailed, journalFailed, replayFailed, nondeterministic, stopped, notRestarted,
                timedOut
        }
        fileprivate var wrapped: Wrapped
        /// `apply` threw: the message was not journaled and the process crashed.
        public static let rejected = Code(wrapped: .rejected)
        /// The message or the state could not be encoded.
        public static let encodingFailed = Code(wrapped: .encodingFailed)
        /// The journal failed (write, sync, open): nothing more is acknowledged.
        public static let journalFailed = Code(wrapped: .journalFailed)
        /// Replaying the journal threw at ``ProcessError/sequence``.
        public static let replayFailed = Code(wrapped: .replayFailed)
        /// The state after ``ProcessError/sequence`` differs from the digest recorded live.
        public static let nondeterministic = Code(wrapped: .nondeterministic)
        /// The process was stopped.
        public static let stopped = Code(wrapped: .stopped)
        /// The process crashed and its supervisor did not restart it.
        public static let notRestarted = Code(wrapped: .notRestarted)
        /// A `send` or `read` waited longer than its timeout for the process to run (after a
        /// crash, during a restart). The message was not applied and not journaled.
        public static let timedOut = Code(wrapped: .timedOut)
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure.
    public var code: Code
    /// What happened, in words.
    public var message: String
    /// The process.
    public var processID: String
    /// Its journal.
    public var journal: String?
    /// The sequence number concerned.
    public var sequence: UInt64?
    /// What caused it (the error `apply` threw, a ``JournalError``, …).
    public var cause: (any Error)?

    /// An error of process `processID`; the optional fields say where.
    public init(
        code: Code, message: String, processID: String, journal: String? = nil, sequence: UInt64? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.processID = processID
        self.journal = journal
        self.sequence = sequence
        self.cause = cause
    }

    public var description: String {
        var text = "\(code): \(message) [process: \(processID)"
        if let journal { text += ", journal: \(journal)" }
        if let sequence { text += ", sequence: \(sequence)" }
        text += "]"
        if let cause { text += " caused by: \(cause)" }
        return text
    }
}
