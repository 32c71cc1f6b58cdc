import CStateJournalLinux

#if canImport(Glibc)
    import Glibc
#endif

/// What the OS process's mount table (`/proc/self/mountinfo`) says about a file system.
package enum MountTable {
    /// `statfs.f_type` of an overlay.
    package static let overlayType = 0x794C_7630

    /// Whether the file system whose device is `device` (a directory's `st_dev`: an overlay
    /// reports its own there, and a per-layer one for files) is an overlay mounted `volatile`
    /// (or `fsync=volatile`), on which `fsync`, `fdatasync` and `syncfs` return without writing
    /// anything back: what CRI-O does for every container's writable layer and podman for those
    /// of `--rm` containers, which are not meant to outlive a crash of the machine. False when
    /// the table cannot be read.
    package static func isVolatileOverlay(device: UInt64) -> Bool {
        guard let options = superOptions(ofDevice: device, type: "overlay") else { return false }
        return options.split(separator: ",").contains { $0 == "volatile" || $0 == "fsync=volatile" }
    }

    /// The file system options (the field after the source) of the mount of `device` whose type
    /// is `type`, from `/proc/self/mountinfo`; nil when there is none or the table cannot be read.
    static func superOptions(ofDevice device: UInt64, type: String) -> String? {
        // `st_dev` as the kernel's `new_encode_dev` splits it, and as mountinfo prints it.
        let major = ((device >> 8) & 0xFFF) | ((device >> 32) & ~0xFFF)
        let minor = (device & 0xFF) | ((device >> 12) & ~0xFF)
        let wanted = "\(major):\(minor)"
        guard let table = readAll("/proc/self/mountinfo") else { return nil }
        // A line: id parent major:minor root mount-point options [optional fields] - type source
        // super-options. Fields are separated by one space; spaces within them are escaped.
        for line in table.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard fields.count > 6, String(decoding: fields[2], as: UTF8.self) == wanted,
                let separator = fields.firstIndex(where: { $0.elementsEqual("-".utf8) }),
                fields.count > separator + 3,
                String(decoding: fields[separator + 1], as: UTF8.self) == type
            else { continue }
            return String(decoding: fields[separator + 3], as: UTF8.self)
        }
        return nil
    }

    /// The whole of a small file of `/proc`, whose size `stat` does not give; nil on failure.
    private static func readAll(_ path: String) -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if sj_errno() == EINTR { continue }
                return nil
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
        }
    }
}
