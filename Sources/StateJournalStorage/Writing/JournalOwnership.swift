import StateJournalSystem

/// Ownership of a journal by one OS process for as long as a writer of it lives, idle or not.
///
/// A writer's `flock` on the journal goes with its descriptor when it is released while idle;
/// ownership must not. Each directory of journals has one small file, `.statejournal-owners`,
/// and each journal one byte of it (at a 62-bit hash of its file name), locked with an
/// open-file-description lock (`F_OFD_SETLK`) by the OS process that writes the journal: one
/// descriptor per directory whatever the number of journals, released by the kernel when the
/// process dies. Another OS process that opens the journal meanwhile gets `locked`.
/// Within one OS process the supervisor keeps one writer per journal; claims are counted.
enum JournalOwnership {
    static let fileName = ".statejournal-owners"

    private struct Directory {
        var fd: Int32
        var claims: [Int64: Int] = [:]
        /// Claims whose byte another OS process took after the owners file was removed or
        /// replaced under this one: their writers must not write again.
        var lost: Set<Int64> = []
    }

    /// The owners file of each directory with a claim, and the claims.
    private static let directories = LockedValue([String: Directory]())

    /// The byte of the owners file that stands for the journal at `path`.
    static func offset(of path: String) -> Int64 {
        Int64(FNV1a.hash(FileNames.base(of: path).utf8) & ((1 << 62) - 1))
    }

    /// Claims the journal at `path` for this OS process until ``release(_:)``.
    static func claim(_ path: String) throws(JournalError) {
        let directory = FileNames.directory(of: path)
        let offset = offset(of: path)
        try directories.withLock { directories throws(JournalError) in
            try claim(path, directory: directory, offset: offset, in: &directories)
        }
    }

    // The claims are changed in place (`directories[directory]!`): copying a directory's entry
    // out, changing it and storing it back would copy its whole claims table on every claim and
    // release (quadratic in the journals claimed in one directory).
    private static func claim(
        _ path: String, directory: String, offset: Int64, in directories: inout [String: Directory]
    )
        throws(JournalError)
    {
        if directories[directory] == nil {
            do {
                directories[directory] = Directory(
                    fd: try Syscall.open(directory + "/" + fileName, [.readWrite, .create], mode: 0o644))
            } catch  where error.errno == .noSuchFileOrDirectory {
                return  // no such directory: opening the journal says so
            } catch {
                throw JournalError.system(error, path: directory + "/" + fileName)
            }
        } else {
            // Opened before: still the file at the path?
            try verify(directory: directory, in: &directories)
            if directories[directory]!.lost.contains(offset) { throw lost(path) }
        }
        let fd = directories[directory]!.fd
        if directories[directory]!.claims[offset] == nil {
            let taken: Bool
            do { taken = try Syscall.tryLockByte(fd, at: offset, exclusive: true) } catch {
                closeIfUnclaimed(directory, in: &directories)
                throw JournalError.system(error, path: directory + "/" + fileName)
            }
            if !taken {
                closeIfUnclaimed(directory, in: &directories)
                throw JournalError(
                    code: .locked,
                    message: "another OS process owns the journal (its writer may be idle, with the file closed)",
                    path: path)
            }
        }
        directories[directory]!.claims[offset, default: 0] += 1
    }

    /// Checks, before a writer that released its descriptor while idle writes again, that this
    /// OS process still owns the journal at `path`: the owners file it locked must still be the
    /// one at its path. Removed or replaced (by hand: nothing of the library does either), the
    /// claims are taken again in the file now there; a claim whose byte another OS process took
    /// meanwhile is lost, and its writer gets `locked`.
    static func verify(_ path: String) throws(JournalError) {
        let directory = FileNames.directory(of: path)
        let offset = offset(of: path)
        try directories.withLock { directories throws(JournalError) in
            guard directories[directory] != nil else { return }
            try verify(directory: directory, in: &directories)
            if directories[directory]!.lost.contains(offset) { throw lost(path) }
        }
    }

    /// The error of a claim another OS process took after the owners file was removed or replaced.
    private static func lost(_ path: String) -> JournalError {
        JournalError(
            code: .locked,
            message: "another OS process took the journal (the owners file, \(fileName), was removed or replaced)",
            path: path)
    }

    /// Takes this OS process's claims in `directory` again when its owners file is not the one
    /// at the path any more.
    private static func verify(directory: String, in directories: inout [String: Directory]) throws(JournalError) {
        guard let entry = directories[directory] else { return }
        let ownersPath = directory + "/" + fileName
        if let current = try? Syscall.identity(ofPath: ownersPath), let held = try? Syscall.fstat(entry.fd),
            current.device == held.device, current.inode == held.inode
        {
            return
        }
        let fd: Int32
        do { fd = try Syscall.open(ownersPath, [.readWrite, .create], mode: 0o644) } catch {
            throw JournalError.system(error, path: ownersPath)
        }
        for offset in entry.claims.keys {
            if (try? Syscall.tryLockByte(fd, at: offset, exclusive: true)) != true {
                directories[directory]!.lost.insert(offset)
            }
        }
        Syscall.close(entry.fd)
        directories[directory]!.fd = fd
    }

    /// Closes the owners file of `directory` when no journal of it is claimed any more.
    private static func closeIfUnclaimed(_ directory: String, in directories: inout [String: Directory]) {
        guard let entry = directories[directory], entry.claims.isEmpty else { return }
        Syscall.close(entry.fd)
        directories[directory] = nil
    }

    /// Gives up one claim of the journal at `path`; the last one releases the byte, and the
    /// last claim in a directory closes its owners file.
    static func release(_ path: String) {
        let directory = FileNames.directory(of: path)
        let offset = offset(of: path)
        directories.withLock { directories in release(directory: directory, offset: offset, in: &directories) }
    }

    private static func release(directory: String, offset: Int64, in directories: inout [String: Directory]) {
        guard let count = directories[directory]?.claims[offset] else { return }
        if count > 1 {
            directories[directory]!.claims[offset] = count - 1
            return
        }
        directories[directory]!.claims[offset] = nil
        directories[directory]!.lost.remove(offset)
        _ = try? Syscall.tryLockByte(directories[directory]!.fd, at: offset, exclusive: false)
        closeIfUnclaimed(directory, in: &directories)
    }

    /// Whether another open file description (another OS process) owns the journal at `path`:
    /// checked without taking anything.
    static func isOwnedElsewhere(_ path: String) -> Bool {
        let directory = FileNames.directory(of: path)
        guard let fd = try? Syscall.open(directory + "/" + fileName, .readOnly) else { return false }
        defer { Syscall.close(fd) }
        return Syscall.isByteLockedElsewhere(fd, at: offset(of: path))
    }
}

/// One writer's claim of its journal: released once, explicitly (a close) or when the writer goes.
final class OwnershipClaim: Sendable {
    let path: String
    private let released = LockedValue(false)

    init(_ path: String) { self.path = path }

    func release() {
        let first = released.withLock { released -> Bool in
            defer { released = true }
            return !released
        }
        if first { JournalOwnership.release(path) }
    }

    deinit { release() }
}
