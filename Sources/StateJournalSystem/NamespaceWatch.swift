import CStateJournalLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Tells a journal writer, without a path lookup, that no name on its journal's path can have
/// changed since it last looked the path up.
///
/// A writer checks before every acknowledgement that its path still names the file it writes
/// (``Syscall/identity(ofPath:)``: a `statx`, ~1.4 µs for a path five names deep, as much as the
/// `pwrite` of a small batch). Here one inotify descriptor of the OS process watches each
/// journal directory for names created, removed or moved, and each of its ancestors for its own
/// move or removal; `/proc/self/mountinfo` reports mounts. ``generation(of:)`` takes in what was
/// reported (one `poll` without waiting, ~0.3 µs) and returns a number that changes whenever
/// something concerning that directory was: a writer looks its path up again only then. The kernel queues an event within
/// the call that changes a name, before that call returns, so a change made before the poll is
/// never missed.
///
/// It vouches only for what it can see: an absolute path without symbolic links (a link
/// repointed, or a relative path after `chdir`, changes the path's meaning with no event in a
/// watched directory) on a local file system (ext4, XFS, Btrfs, F2FS, tmpfs: another machine's
/// rename on a network file system sends no event here; overlays count as local). Elsewhere ``register(directory:)``
/// returns nil and the writer looks the path up before every acknowledgement, as before.
package final class NamespaceWatch: @unchecked Sendable {
    // Safe: every field below is read and written with `lock` held.
    private let lock = ConditionLock()
    private let inotify: Int32
    private let mounts: Int32
    /// Mount table changes seen.
    private var mountChanges: UInt64 = 0
    /// Events seen per watch: about the directory itself (moved, removed, unmounted), and about
    /// names in it. A registration's generation sums what concerns it, so that a change in
    /// another journal directory (or a new file in `/tmp`, an ancestor of many) costs it nothing.
    private var selfEvents: [Int32: UInt64] = [:]
    private var nameEvents: [Int32: UInt64] = [:]
    /// Watch descriptors in use, with their users; the kernel shares one per directory.
    private var users: [Int32: Int] = [:]
    /// Watches that ended (their directory removed or unmounted): their registrations vouch no more.
    private var ended: Set<Int32> = []
    /// The kernel's event queue overflowed once: which watches ended is unknown, none vouches.
    private var overflowed = false
    private var buffer = [UInt8](repeating: 0, count: 4096)

    /// The OS process's watch; nil when inotify or the mount table cannot be opened.
    package static let shared: NamespaceWatch? = NamespaceWatch()

    /// The file systems (`statfs.f_type`) whose every change inotify reports: local ones, and
    /// overlays (a container's writable layer), whose every change goes through the overlay
    /// itself, where inotify sees it (changing an overlay's layers beneath it is not allowed).
    package static let localFileSystems: Set<Int> = [
        0xEF53, 0x5846_5342, 0x9123_683E, 0xF2F5_2010, 0x0102_1994, MountTable.overlayType,
    ]

    private init?() {
        let inotify = sj_inotify_open()
        guard inotify >= 0 else { return nil }
        let mounts = Glibc.open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)
        guard mounts >= 0 else {
            Glibc.close(inotify)
            return nil
        }
        self.inotify = inotify
        self.mounts = mounts
    }

    /// One journal directory watched for a writer: give it back with ``unregister(_:)``.
    package final class Registration: Sendable {
        fileprivate let watches: [Int32]
        fileprivate init(watches: [Int32]) { self.watches = watches }
    }

    /// Watches `directory` (an absolute path of a directory on a file system of type
    /// `fileSystemType`) and its ancestors; nil when this watch cannot vouch for its names.
    package func register(directory: String, fileSystemType: Int) -> Registration? {
        guard Self.localFileSystems.contains(fileSystemType), directory.hasPrefix("/") else { return nil }
        // The path as written must be the path itself: no symbolic link, no `.` or `..`, no `//`.
        guard let resolved = realpath(directory, nil) else { return nil }
        defer { free(resolved) }
        let canonical = String(cString: resolved)
        let written = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard canonical == written else { return nil }
        var ancestors: [String] = []
        var path = canonical
        while path != "/" {
            let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "/"
            path = parent.isEmpty ? "/" : parent
            ancestors.append(path)
        }
        lock.lock()
        defer { lock.unlock() }
        var watches: [Int32] = []
        for (index, path) in ([canonical] + ancestors).enumerated() {
            let wd = sj_inotify_watch(inotify, path, index == 0 ? 1 : 0)
            guard wd >= 0 else {
                for added in watches { release(added) }
                return nil
            }
            users[wd, default: 0] += 1
            ended.remove(wd)
            watches.append(wd)
        }
        return Registration(watches: watches)
    }

    /// Ends `registration`'s watches (those no other registration uses).
    package func unregister(_ registration: Registration) {
        lock.lock()
        defer { lock.unlock() }
        for wd in registration.watches { release(wd) }
    }

    private func release(_ wd: Int32) {
        let left = (users[wd] ?? 1) - 1
        if left > 0 {
            users[wd] = left
            return
        }
        users[wd] = nil
        selfEvents[wd] = nil
        nameEvents[wd] = nil
        if !ended.contains(wd) { _ = sj_inotify_unwatch(inotify, wd) }
        ended.remove(wd)
    }

    /// A number that changes whenever a name on a watched path may have changed, having taken
    /// in every change made before this call; nil when `registration`'s watch ended (its
    /// directory was removed or unmounted) or the watch failed: look the path up.
    package func generation(of registration: Registration) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        var events: Int16 = 0
        var mountEvents: Int16 = 0
        if sj_poll_two(inotify, mounts, &events, &mountEvents) < 0 { return nil }
        if mountEvents != 0 { mountChanges &+= 1 }
        if events != 0, !drain() { return nil }
        if overflowed { return nil }
        for wd in registration.watches where ended.contains(wd) { return nil }
        // The first watch is the journal directory's (names count), the others its ancestors'.
        var generation = mountChanges &+ (nameEvents[registration.watches[0]] ?? 0)
        for wd in registration.watches { generation &+= selfEvents[wd] ?? 0 }
        return generation
    }

    /// Reads every queued event and counts it; records the watches that ended. False when
    /// reading failed.
    private func drain() -> Bool {
        let ignored = sj_inotify_ignored_mask()
        let selfMask = sj_inotify_self_mask()
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(inotify, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                return code == EAGAIN
            }
            if count == 0 { return true }
            buffer.withUnsafeBytes { bytes in
                var offset = 0
                // struct inotify_event: int wd; uint32_t mask, cookie, len; char name[len].
                while offset + 16 <= count {
                    let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    if wd < 0 { overflowed = true }  // IN_Q_OVERFLOW
                    if users[wd] != nil {
                        if mask & selfMask != 0 {
                            selfEvents[wd, default: 0] &+= 1
                        } else {
                            nameEvents[wd, default: 0] &+= 1
                        }
                        if mask & ignored != 0 { ended.insert(wd) }
                    }
                    offset += 16 + length
                }
            }
        }
    }
}
