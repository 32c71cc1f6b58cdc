import StateJournalSystem

/// Tells whether a live writer holds a journal, without taking any lock
/// (taking even a shared lock could make a writer that opens at that
/// instant fail with `locked`): reads the kernel's lock table, `/proc/locks`.
package enum JournalLockProbe {
    /// The OS process id of the writer holding `path`, or nil when none does
    /// (or when the lock table cannot be read); -1 when an OS process owns the journal while
    /// its writer is idle, with the file closed (its owner byte in `.statejournal-owners`).
    package static func holder(of path: String) -> Int32? {
        if let pid = flockHolder(of: path) { return pid }
        return JournalOwnership.isOwnedElsewhere(path) ? -1 : nil
    }

    private static func flockHolder(of path: String) -> Int32? {
        guard let status = try? Syscall.status(ofPath: path) else { return nil }
        guard let locks = readAll("/proc/locks") else { return nil }
        let major = (status.device >> 8) & 0xFFF | ((status.device >> 32) & ~0xFFF)
        let minor = (status.device & 0xFF) | ((status.device >> 12) & ~0xFF)
        for line in locks.split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, let inode = UInt64(id[2]), inode == status.inode,
                UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor
            else { continue }
            return Int32(fields[4])
        }
        return nil
    }

    private static func readAll(_ path: String) -> String? {
        guard let fd = try? Syscall.open(path, .readOnly) else { return nil }
        defer { Syscall.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { (try? Syscall.pread(fd, into: $0, at: Int64(bytes.count))) ?? 0 }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
