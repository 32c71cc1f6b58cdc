import Foundation

/// A directory for one test's journals, removed when the value is released.
public final class TemporaryJournalDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Creates `$TMPDIR/statejournal-<name>-<random>`.
    public init(_ name: String = #function) {
        let clean = name.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(40)
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "statejournal-\(clean)-\(UUID().uuidString.prefix(8))"
            ).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// The names of the files in the directory, sorted.
    public var files: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}
