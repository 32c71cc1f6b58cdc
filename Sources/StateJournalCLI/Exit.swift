import Foundation
import StateJournalStorage
import StateJournalSystem

/// Exit codes, documented in `--help` and the README.
enum Exit {
    static let ok: Int32 = 0
    /// A torn tail only: repairable with `statejournal repair`.
    static let tornTail: Int32 = 1
    /// Corruption: damage in the middle, a bad header, a broken snapshot.
    static let corrupt: Int32 = 2
    /// Not a journal, or a format version this tool does not read.
    static let notAJournal: Int32 = 3
    /// Bad usage.
    static let usage: Int32 = 64
    /// A file that cannot be opened (missing, permission denied).
    static let noInput: Int32 = 66
    /// A live writer holds the journal.
    static let locked: Int32 = 75
    /// Writing the output failed (`write`, `fsync`: a full disk, an I/O error).
    static let ioError: Int32 = 74

    /// How bad `code` is, for commands over several files: the worst one decides.
    static func severity(_ code: Int32) -> Int {
        switch code {
        case ok: 0
        case tornTail: 1
        case notAJournal: 2
        case corrupt: 3
        default: 4
        }
    }

    static func code(for error: JournalError) -> Int32 {
        // A file that cannot be opened or looked at (a symlink loop, a read-only file system
        // for `repair`, a name too long): 66, whatever the errno.
        if let call = error.systemCall, ["open", "stat", "fstat", "lstat", "opendir"].contains(call),
            error.code != .locked
        {
            return noInput
        }
        return switch error.code {
        case .notFound, .permissionDenied: noInput
        case .notAJournal, .emptyFile, .truncatedHeader, .unsupportedVersion, .unsupportedFeature, .unsupportedFrame:
            notAJournal
        case .corruptHeader, .corruptFrame, .sequenceGap, .corruptSnapshot: corrupt
        case .locked: locked
        default: corrupt
        }
    }
}

func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// Ends the program with `code`.
func terminate(_ code: Int32) -> Never {
    Syscall.exit(code)
}

/// Prints `error` as one line on standard error and exits with its code.
func fail(_ error: JournalError) -> Never {
    var text = "statejournal: \(error.path ?? "-"): \(error.message)"
    if let offset = error.offset {
        text += " (offset \(offset)" + (error.sequence.map { ", sequence \($0)" } ?? "") + ")"
    }
    FileHandle.standardError.write(Data((text + "\n").utf8))
    terminate(Exit.code(for: error))
}

/// Ends a command that showed the messages before a torn tail: says where the tail is, exits 1.
func failTornTail(_ file: String, _ tail: TornTail) -> Never {
    FileHandle.standardError.write(
        Data(
            "statejournal: \(file): torn tail of \(tail.length) bytes at offset \(tail.offset) (sequence \(tail.sequence)); messages before it shown\n"
                .utf8))
    terminate(Exit.tornTail)
}

func failUsage(_ message: String) -> Never {
    FileHandle.standardError.write(Data("statejournal: \(message)\n".utf8))
    terminate(Exit.usage)
}
