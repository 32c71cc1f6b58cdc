public import StateJournalSystem

/// The one error type of the journal file layer.
///
/// Every error carries a ``Code`` to branch on, a human-readable message, and
/// where it happened: the journal's path, the byte offset and the sequence
/// number when they are known, and the system call and `errno` when the
/// operating system reported the failure.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added in later versions; do not
    /// switch over it exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Wrapped: Hashable, Sendable {
            case notFound, permissionDenied, notAJournal, emptyFile, truncatedHeader, corruptHeader
            case unsupportedVersion, unsupportedFeature, corruptFrame, unsupportedFrame, sequenceGap
            case locked, noSpace, writeFailed, syncFailed, ioFailure, writerFailed, closed
            case messageTooLarge, corruptSnapshot, changedWhileIdle, invalidArgument, cancelled, replaced
            case fenced
        }
        fileprivate var wrapped: Wrapped
        fileprivate init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The file does not exist.
        public static let notFound = Code(.notFound)
        /// The operating system refused access to the file.
        public static let permissionDenied = Code(.permissionDenied)
        /// The file does not start with the journal magic bytes.
        public static let notAJournal = Code(.notAJournal)
        /// The file is empty: it never held a journal header.
        public static let emptyFile = Code(.emptyFile)
        /// The file starts like a journal but ends inside its header.
        public static let truncatedHeader = Code(.truncatedHeader)
        /// The header's checksum does not match: the header is damaged.
        public static let corruptHeader = Code(.corruptHeader)
        /// The journal was written by a newer major version of the format.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The journal uses an incompatible feature flag or codec this reader does not know.
        public static let unsupportedFeature = Code(.unsupportedFeature)
        /// A frame fails its checksum or is malformed, and valid frames follow it (damage in the middle).
        public static let corruptFrame = Code(.corruptFrame)
        /// A checksummed frame has a type or flag this reader does not know and may not skip.
        public static let unsupportedFrame = Code(.unsupportedFrame)
        /// Sequence numbers do not continue where they should (a frame or a snapshot is missing).
        public static let sequenceGap = Code(.sequenceGap)
        /// Another writer, in this or another OS process, holds the journal.
        public static let locked = Code(.locked)
        /// The file system is full (`.noSpace`, `.diskQuotaExceeded`).
        public static let noSpace = Code(.noSpace)
        /// `write` failed; nothing from the failed batch is acknowledged.
        public static let writeFailed = Code(.writeFailed)
        /// `fdatasync` or `syncfs` failed, or returned success while its file system could no
        /// longer commit (ext4, XFS: `systemCall` "fallocate confirming fdatasync" and the
        /// like); the file is not synced again.
        public static let syncFailed = Code(.syncFailed)
        /// Another system call failed (`open`, `read`, `rename`, …).
        public static let ioFailure = Code(.ioFailure)
        /// The writer failed earlier; it accepts nothing more. ``JournalError/cause`` holds the first failure.
        public static let writerFailed = Code(.writerFailed)
        /// The writer was closed.
        public static let closed = Code(.closed)
        /// A message or snapshot is larger than the format allows.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// A snapshot file is damaged or does not belong to this journal.
        public static let corruptSnapshot = Code(.corruptSnapshot)
        /// The journal changed on disk while its writer was idle and had released it.
        public static let changedWhileIdle = Code(.changedWhileIdle)
        /// The journal's file was removed, or another file moved over it, while its writer had
        /// it open: the writer fails before acknowledging anything more, and a process does
        /// not restart from whatever the path names now.
        public static let replaced = Code(.replaced)
        /// Another owner took the journal over (a store shared by several machines gave it a
        /// newer owner epoch): this owner's appends were refused and nothing more is
        /// acknowledged. A process whose journal is fenced stops; it does not restart beside
        /// the new owner.
        public static let fenced = Code(.fenced)
        /// An argument is out of range.
        public static let invalidArgument = Code(.invalidArgument)
        /// The caller's task was cancelled while it waited for ``JournalWriter/close(discard:)``:
        /// the close goes on on the writer's thread (keeping the journal if it had not begun).
        public static let cancelled = Code(.cancelled)

        public var description: String { String(describing: wrapped) }
    }

    /// What went wrong.
    public var code: Code
    /// A one-line explanation for people.
    public var message: String
    /// The file concerned.
    public var path: String?
    /// The byte offset in `path` where the problem was found.
    public var offset: Int64?
    /// The sequence number concerned (for a damaged frame: the first sequence number expected there).
    public var sequence: UInt64?
    /// The system call that failed, such as `"fdatasync"`.
    public var systemCall: String?
    /// The `errno` the system call reported.
    public var errno: Errno?
    /// The error that caused this one.
    public var cause: (any Error)?
    /// Where in this library the error was raised.
    public var file: String
    /// The line of ``file`` where the error was raised.
    public var line: Int

    /// An error with `code` and `message`; the optional fields say where, and which system call failed.
    public init(
        code: Code, message: String, path: String? = nil, offset: Int64? = nil, sequence: UInt64? = nil,
        systemCall: String? = nil, errno: Errno? = nil, cause: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.sequence = sequence
        self.systemCall = systemCall
        self.errno = errno
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " [path: \(path)" } else { text += " [" }
        if let offset { text += ", offset: \(offset)" }
        if let sequence { text += ", sequence: \(sequence)" }
        if let systemCall {
            text += ", call: \(systemCall)"
            if let errno { text += ", errno: \(errno.name) (\(errno.rawValue))" }
        }
        text += "]"
        if let cause, !(cause is SystemCallError) { text += " caused by: \(cause)" }
        return text
    }
}

extension JournalError {
    /// Wraps a failed system call with the file it concerned.
    static func system(
        _ error: SystemCallError, path: String?, code: Code? = nil, message: String? = nil,
        file: String = #fileID, line: Int = #line
    ) -> JournalError {
        let resolved: Code
        if let code {
            resolved = code
        } else {
            switch error.errno {
            case .noSuchFileOrDirectory: resolved = .notFound
            case .permissionDenied, .notPermitted: resolved = .permissionDenied
            case .noSpace, .diskQuotaExceeded: resolved = .noSpace
            default: resolved = .ioFailure
            }
        }
        return JournalError(
            code: resolved, message: message ?? error.description, path: path,
            systemCall: error.call, errno: error.errno, cause: error, file: file, line: line)
    }
}
