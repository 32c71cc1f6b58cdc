import StateJournalSystem

/// The names of the files kept beside a journal.
enum FileNames {
    static func directory(of path: String) -> String { FilePaths.directory(of: path) }
    static func base(of path: String) -> String { FilePaths.base(of: path) }

    static func snapshotTemporary(_ path: String) -> String { path + ".snapshot.tmp" }
    static func compactTemporary(_ path: String) -> String { path + ".compact.tmp" }
    static func createTemporaryPrefix(_ path: String) -> String { path + ".create." }
    /// Whether `name` (in a journal's directory) is a creation temporary: the prefix above, then
    /// the creator's process id and a random number, then `.tmp`.
    static func isCreateTemporary(_ name: String) -> Bool {
        name.contains(".journal.create.") && name.hasSuffix(".tmp")
    }

    /// Where bytes cut at `offset` are kept: `<journal>.cut-<offset>-<unix seconds>`, made unique.
    static func cut(_ path: String, offset: Int64, seconds: Int) -> String {
        "\(path).cut-\(offset)-\(seconds)"
    }
}

/// Directory listings on the library's I/O threads (a large directory on a slow file system
/// must not hold one of the cooperative pool's threads).
package enum JournalDirectory {
    /// Copies the journal at `path` into a new file — written, `fsync`ed, renamed over the old
    /// name, the directory synced — so that appends after a failed `fdatasync` never go to the
    /// file whose dirty pages the kernel may have dropped. The bytes copied are what the page
    /// cache holds: everything written, acknowledged or not (recovery then checks them as
    /// usual). If the copy's own sync fails, this throws and the old file stays as it was.
    package static func moveToNewFile(_ path: String) async throws(JournalError) {
        try await IOThreadPool.opening.run { () throws(JournalError) in
            let temporary = path + ".resync.tmp"
            do throws(SystemCallError) {
                let source = try Syscall.open(path, .readOnly)
                defer { Syscall.close(source) }
                let target = try Syscall.open(temporary, [.writeOnly, .create, .truncate])
                var copied = false
                defer {
                    Syscall.close(target)
                    if !copied { _ = try? Syscall.unlink(temporary) }
                }
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                var offset: Int64 = 0
                while true {
                    let read: Result<Int, SystemCallError> = buffer.withUnsafeMutableBytes { raw in
                        do throws(SystemCallError) {
                            return .success(try Syscall.preadFully(source, into: raw, at: offset))
                        } catch { return .failure(error) }
                    }
                    let n = try read.get()
                    if n == 0 { break }
                    try Syscall.pwriteAll(target, Array(buffer[0..<n]), at: offset)
                    offset += Int64(n)
                    if n < buffer.count { break }
                }
                try Syscall.fsync(target)
                try Syscall.rename(temporary, path)
                copied = true
                try Syscall.syncDirectory(FileNames.directory(of: path))
            } catch {
                throw JournalError.system(error, path: path)
            }
        }
    }

    /// Renames the journal (and its snapshot) at `legacy` to `path` when only the legacy
    /// name exists — a journal named by an earlier version of the naming rule — and makes
    /// the rename durable. Never overwrites: when both exist, nothing moves.
    package static func adopt(legacy: String, as path: String) async throws(JournalError) {
        try await IOThreadPool.opening.run { () throws(JournalError) in
            guard !Syscall.exists(path), Syscall.exists(legacy) else { return }
            let snapshot = JournalSnapshot.path(forJournal: legacy)
            do throws(SystemCallError) {
                if Syscall.exists(snapshot), !Syscall.exists(JournalSnapshot.path(forJournal: path)) {
                    try Syscall.rename(snapshot, JournalSnapshot.path(forJournal: path))
                }
                try Syscall.rename(legacy, path)
                try Syscall.syncDirectory(FileNames.directory(of: path))
            } catch {
                throw JournalError.system(error, path: legacy)
            }
        }
    }

    /// The names in `directory` that end with `suffix`, sorted; none when it cannot be read.
    package static func names(in directory: String, endingWith suffix: String) async -> [String] {
        await IOThreadPool.shared.run { () -> [String] in
            ((try? Syscall.directoryEntries(directory)) ?? []).map(\.name).filter { $0.hasSuffix(suffix) }.sorted()
        }
    }
}
