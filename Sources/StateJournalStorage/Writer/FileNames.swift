import Foundation

/// The names of the files kept beside a journal.
enum FileNames {
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func base(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func snapshotTemporary(_ path: String) -> String { path + ".snapshot.tmp" }
    static func compactTemporary(_ path: String) -> String { path + ".compact.tmp" }
    static func createTemporaryPrefix(_ path: String) -> String { path + ".create." }

    /// Where bytes cut at `offset` are kept: `<journal>.cut-<offset>-<unix seconds>`, made unique.
    static func cut(_ path: String, offset: Int64, seconds: Int) -> String {
        "\(path).cut-\(offset)-\(seconds)"
    }
}

/// Directory listings on the library's I/O threads (a large directory on a slow file system
/// must not hold one of the cooperative pool's threads).
package enum JournalDirectory {
    /// The names in `directory` that end with `suffix`, sorted; none when it cannot be read.
    package static func names(in directory: String, endingWith suffix: String) async -> [String] {
        await IOThreadPool.shared.run { () -> [String] in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
        }
    }
}
