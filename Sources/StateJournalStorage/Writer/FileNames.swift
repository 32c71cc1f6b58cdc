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
    /// Renames the journal (and its snapshot) at `legacy` to `path` when only the legacy
    /// name exists — a journal named by an earlier version of the naming rule — and makes
    /// the rename durable. Never overwrites: when both exist, nothing moves.
    package static func adopt(legacy: String, as path: String) async throws(JournalError) {
        try await IOThreadPool.shared.run { () throws(JournalError) in
            guard access(path, F_OK) != 0, access(legacy, F_OK) == 0 else { return }
            let snapshot = JournalSnapshot.path(forJournal: legacy)
            if access(snapshot, F_OK) == 0, access(JournalSnapshot.path(forJournal: path), F_OK) != 0 {
                guard rename(snapshot, JournalSnapshot.path(forJournal: path)) == 0 else {
                    throw JournalError.system(SystemCallError(call: "rename", errno: errno), path: snapshot)
                }
            }
            guard rename(legacy, path) == 0 else { throw JournalError.system(SystemCallError(call: "rename", errno: errno), path: legacy) }
            do throws(SystemCallError) { try Syscall.syncDirectory(FileNames.directory(of: path)) } catch {
                throw JournalError.system(error, path: path)
            }
        }
    }

    /// The names in `directory` that end with `suffix`, sorted; none when it cannot be read.
    package static func names(in directory: String, endingWith suffix: String) async -> [String] {
        await IOThreadPool.shared.run { () -> [String] in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
        }
    }
}
