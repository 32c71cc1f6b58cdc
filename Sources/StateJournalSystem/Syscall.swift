import CStateJournalLinux

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every system call the file layer makes, one thin wrapper each.
///
/// `EINTR` is retried here; any other failure becomes a ``SystemCallError``
/// naming the call. `EBADF` and `EFAULT` are programming errors and trap.
/// Nothing else in the module calls the C library for file work.
///
/// These calls block: they run on the library's I/O threads
/// (``IOThreadPool``), or in synchronous APIs documented as blocking.
package enum Syscall {
    package struct FileStatus {
        package var size: Int64
        package var modificationSeconds: Int
        var modificationNanoseconds: Int
        package var device: UInt64
        package var inode: UInt64
        package var isRegularFile: Bool
        package var isDirectory: Bool
        /// What the path is, in words ("a FIFO").
        package var kind: String
    }

    @inline(__always)
    private static func check(_ call: String, _ errno: Int32) -> SystemCallError {
        let code = Errno(rawValue: errno)
        precondition(code != .badFileDescriptor && code != .badAddress, "\(call): \(code.name) is a programming error")
        return SystemCallError(call: call, errno: code)
    }

    /// Calls `body` until it does not fail with `EINTR`: a result below zero is a failure whose
    /// code is read with `code` (`errno`, or `sj_errno()` for the C shims). Any other failure
    /// becomes a ``SystemCallError`` naming `call`. The one retry loop of the layer.
    @inline(__always)
    private static func retryingInterrupted<Result: BinaryInteger>(
        _ call: String, code: () -> Int32 = { errno }, _ body: () -> Result
    ) throws(SystemCallError) -> Result {
        while true {
            let result = body()
            if result >= 0 { return result }
            let e = code()
            if e != EINTR { throw check(call, e) }
        }
    }

    /// Opens `path`. Never blocks in `open` itself: a FIFO or a device named like a journal is
    /// opened non-blocking (no effect on regular files), and callers check ``FileStatus/kind``.
    package static func open(_ path: String, _ flags: OpenFlags, mode: UInt32 = 0o644) throws(SystemCallError) -> Int32
    {
        try retryingInterrupted("open") { Glibc.open(path, flags.rawValue | O_CLOEXEC | O_NONBLOCK, mode_t(mode)) }
    }

    /// Opens `path` for a command-line tool's output: blocking (a FIFO given as a destination
    /// waits for its reader), close-on-exec.
    package static func openForOutput(_ path: String, _ flags: OpenFlags, mode: UInt32 = 0o644) throws(SystemCallError)
        -> Int32
    {
        try retryingInterrupted("open") { Glibc.open(path, flags.rawValue | O_CLOEXEC, mode_t(mode)) }
    }

    /// Standard output's and standard error's descriptors.
    package static let standardOutput: Int32 = STDOUT_FILENO
    package static let standardError: Int32 = STDERR_FILENO

    /// Writes all of `bytes` to `fd` at its current position (a pipe, a terminal, a file
    /// opened for output), looping over short writes; a write of zero bytes is `EIO`.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var done = 0
        while done < bytes.count {
            let n = try retryingInterrupted("write") { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
            if n == 0 { throw check("write", EIO) }
            done += n
        }
    }

    /// Closes `fd` and reports what `close` said (for output whose last error may surface
    /// only there, such as a file on NFS).
    package static func closeReporting(_ fd: Int32) throws(SystemCallError) {
        if Glibc.close(fd) != 0, errno != EINTR { throw check("close", errno) }
    }

    /// Whether `fd` is a terminal.
    package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Ends the OS process with `code` (atexit handlers and stdio buffers run).
    package static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    /// Makes `path` a second name of the file `existing` names; fails with `EEXIST` when
    /// `path` exists (the atomic way to put a fully written file in place without replacing).
    package static func link(_ existing: String, _ path: String) throws(SystemCallError) {
        if Glibc.link(existing, path) != 0 { throw check("link", errno) }
    }

    /// Whether `path` names anything (`access(F_OK)`).
    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// This OS process's id.
    package static var processID: Int32 { getpid() }

    /// The wall clock (`CLOCK_REALTIME`) in nanoseconds since 1970.
    package static func wallClockNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// The entries of `directory` (without `.` and `..`) with their inode numbers, in the
    /// directory's order.
    package static func directoryEntries(_ directory: String) throws(SystemCallError) -> [(name: String, inode: UInt64)]
    {
        guard let handle = opendir(directory) else { throw check("opendir", errno) }
        defer { closedir(handle) }
        var entries: [(name: String, inode: UInt64)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            entries.append((name, UInt64(entry.pointee.d_ino)))
        }
        return entries
    }

    /// Closes `fd`. Errors from `close` are not actionable (the descriptor is
    /// gone either way) and durability never depends on them: it is ignored.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    package static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemCallError)
        -> Int
    {
        let n = try retryingInterrupted("pread") { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
        if n > 0, let injector = SystemCallFaults.injector {
            injector.read(
                path: SystemCallFaults.path(of: fd), offset: offset,
                buffer: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return n
    }

    /// Reads until `buffer` is full or the end of the file; returns the bytes read.
    package static func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
        throws(SystemCallError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let n = try pread(
                fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at `offset`, looping over short writes.
    package static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64)
        throws(SystemCallError)
    {
        var done = 0
        while done < bytes.count {
            var count = bytes.count - done
            var failAfter: Int32?
            let injector = SystemCallFaults.injector
            let path = injector.map { _ in SystemCallFaults.path(of: fd) } ?? ""
            if let injector {
                switch injector.write(path: path, offset: offset + Int64(done), count: count) {
                case .none: break
                case .fail(let code): throw check("pwrite", code.rawValue)
                case .short(let limit): count = max(1, min(count, limit))
                case .tornThenFail(let limit):
                    count = min(count, limit)
                    failAfter = EIO
                }
            }
            let n = count == 0 ? 0 : Glibc.pwrite(fd, bytes.baseAddress! + done, count, off_t(offset + Int64(done)))
            if n > 0, let injector { injector.wrote(path: path, offset: offset + Int64(done), count: n) }
            if let failAfter { throw check("pwrite", failAfter) }
            if n > 0 {
                done += n
                continue
            }
            let e = n == 0 ? EIO : errno
            if e == EINTR { continue }
            throw check("pwrite", e)
        }
    }

    /// Writes all of `bytes` at `offset`.
    package static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) throws(SystemCallError) {
        var failure: SystemCallError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) { try pwriteAll(fd, raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    package static func fdatasync(_ fd: Int32) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in [SystemCallFaults.path(of: fd)] } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: false) {
            throw check("fdatasync", code.rawValue)
        }
        #if canImport(Glibc)
            _ = try retryingInterrupted("fdatasync") { Glibc.fdatasync(fd) }
        #else
            _ = try retryingInterrupted("fdatasync") { Darwin.fsync(fd) }
        #endif
        try confirmCommitted(fd, after: "fdatasync")
        injector?.synced(paths: paths, fileSystem: false)
    }

    /// `fsync` of a file, confirmed as ``fdatasync(_:)`` is (`confirming`: false for a
    /// directory, which has nothing to confirm it with).
    package static func fsync(_ fd: Int32, confirming: Bool = true) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in [SystemCallFaults.path(of: fd)] } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: false) {
            throw check("fsync", code.rawValue)
        }
        _ = try retryingInterrupted("fsync") { Glibc.fsync(fd) }
        if confirming { try confirmCommitted(fd, after: "fsync") }
        injector?.synced(paths: paths, fileSystem: false)
    }

    /// After a sync of `fd` (or of its file system) returned success: throws, as that sync
    /// failing would, when the file system could no longer commit by then.
    ///
    /// Measured on Linux 6.18 (tools/fs-error, and a C program with nothing of the library in
    /// it): while ext4 aborts its journal after an error (`errors=remount-ro`) or is shut down,
    /// and while XFS is shut down, an `fdatasync` or `syncfs` that returns in those moments can
    /// return 0 for a write whose commit the file system dropped (the file comes back shorter
    /// after the next mount), and only later calls fail. ext4, for one, aborts its journal first
    /// and says it is read-only only after it has written its superblock.
    ///
    /// The check is a call that changes no byte and no size but has to start a transaction of
    /// the file system's journal, which fails (`EROFS`, `EIO`) once that journal is aborted or
    /// the file system shut down — which happens before a sync can return 0 for what it dropped:
    ///
    /// - ext2/3/4: `fallocate` keeping the size, over the file's first byte (allocated once
    ///   synced). (A change of owner to none returns 0 there: ext4 drops the error of the
    ///   inode update it journals, and a C program confirming with it still lost records.)
    /// - XFS: `fchown(fd, -1, -1)`, a change of owner to none, which logs the inode's change
    ///   time. (`fallocate` would mark the file preallocated for good, and XFS then keeps its
    ///   speculative blocks past the end: 8,064 blocks instead of 5,864 for 3 MB appended; a
    ///   second `fdatasync` costs a log force, 140 µs.)
    ///
    /// - Btrfs: `fchown(fd, -1, -1)`, which joins a transaction, refused (`EROFS`) once Btrfs
    ///   has stopped on an error. A C program appending and `fdatasync`ing 16 files on a disk
    ///   that fails (tools/power-cut-disk) lost acknowledged records in 1 of 100 trials on
    ///   Btrfs, and in 5 of 100 through an overlay on it; with this check after each sync, in
    ///   none of 100 of either.
    /// - overlay (a container's writable layer): both `fallocate` and `fchown`, which the
    ///   overlay passes to the file of its upper layer, whatever file system holds it (`fstatfs`
    ///   names only the overlay): on ext4 `fallocate` is the check above, on XFS it fails as well
    ///   once the file system is shut down (at the cost of the preallocated flag), on Btrfs
    ///   `fchown` is. Without them, journals through an overlay on ext4 lost acknowledged
    ///   `.synced` messages in 5 of 30 tools/fs-error trials.
    ///
    /// Other file systems: no check. The call failing otherwise (not supported, not permitted,
    /// a descriptor not open for writing) means no check, not a failed sync.
    package static func confirmCommitted(_ fd: Int32, after call: String) throws(SystemCallError) {
        #if os(Linux)
            guard let type = try? fileSystemType(fd) else { return }
            let fallocate = ("fallocate", { sj_fallocate_keep_size(fd, 0, 1) })
            let fchown = ("fchown", { Glibc.fchown(fd, uid_t.max, gid_t.max) })
            let checks: [(String, () -> Int32)]
            switch type {
            case 0xEF53: checks = [fallocate]
            case 0x5846_5342, 0x9123_683E: checks = [fchown]
            case MountTable.overlayType: checks = [fallocate, fchown]
            default: return
            }
            for (check, body) in checks {
                while body() != 0 {
                    let e = sj_errno()
                    if e == EINTR { continue }
                    if e == EROFS || e == EIO {
                        throw SystemCallError(call: "\(check) confirming \(call)", errno: Errno(rawValue: e))
                    }
                    break
                }
            }
        #endif
    }

    /// `syncfs` of the file system that holds `fd`; `covering` are the
    /// journals the caller needs synced (for fault injection).
    package static func syncfs(_ fd: Int32, covering: [Int32]) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in covering.map(SystemCallFaults.path(of:)) } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: true) {
            throw check("syncfs", code.rawValue)
        }
        _ = try retryingInterrupted("syncfs", code: sj_errno) { sj_syncfs(fd) }
        injector?.synced(paths: paths, fileSystem: true)
    }

    /// Throws the write-back error of `fd`'s file that this descriptor has not
    /// seen yet, if any (`sync_file_range` with `SYNC_FILE_RANGE_WAIT_AFTER`: it
    /// waits for write-back in flight, then reports the file's error sequence
    /// for this open file, as `fdatasync` would). Writes and flushes nothing:
    /// after a `syncfs` that persisted the file system, it tells each journal
    /// whether *its own* pages failed.
    package static func checkWriteback(_ fd: Int32) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in [SystemCallFaults.path(of: fd)] } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: false) {
            throw check("sync_file_range", code.rawValue)
        }
        _ = try retryingInterrupted("sync_file_range", code: sj_errno) { sj_writeback_error(fd) }
    }

    package static func ftruncate(_ fd: Int32, _ length: Int64) throws(SystemCallError) {
        _ = try retryingInterrupted("ftruncate") { Glibc.ftruncate(fd, off_t(length)) }
    }

    /// Takes an exclusive `flock` without waiting. Returns false when another
    /// open file description holds it (in this or any other OS process).
    package static func tryLockExclusive(_ fd: Int32) throws(SystemCallError) -> Bool {
        while true {
            if sj_flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            let e = sj_errno()
            if e == EINTR { continue }
            if e == EWOULDBLOCK { return false }
            throw check("flock", e)
        }
    }

    /// Takes (`exclusive`) or releases the open-file-description lock on byte `offset` of `fd`
    /// (`F_OFD_SETLK`), without waiting. Returns false when another open file description
    /// holds it (in this or any other OS process).
    package static func tryLockByte(_ fd: Int32, at offset: Int64, exclusive: Bool) throws(SystemCallError) -> Bool {
        while true {
            if sj_ofd_lock(fd, offset, exclusive ? 1 : 0) == 0 { return true }
            let e = sj_errno()
            if e == EINTR { continue }
            if e == EAGAIN || e == EACCES { return false }
            throw check("fcntl", e)
        }
    }

    package static func rename(_ from: String, _ to: String) throws(SystemCallError) {
        if Glibc.rename(from, to) != 0 { throw check("rename", errno) }
    }

    package static func unlink(_ path: String) throws(SystemCallError) {
        if Glibc.unlink(path) != 0 { throw check("unlink", errno) }
    }

    package static func mkdir(_ path: String, mode: UInt32 = 0o755) throws(SystemCallError) {
        if Glibc.mkdir(path, mode_t(mode)) != 0 { throw check("mkdir", errno) }
    }

    package static func fstat(_ fd: Int32) throws(SystemCallError) -> FileStatus {
        var s = Glibc.stat()
        if Glibc.fstat(fd, &s) != 0 { throw check("fstat", errno) }
        return FileStatus(s)
    }

    /// The type of the file system that holds `fd` (`statfs.f_type`: a magic number).
    package static func fileSystemType(_ fd: Int32) throws(SystemCallError) -> Int {
        if let injector = SystemCallFaults.injector,
            let type = injector.fileSystemType(path: SystemCallFaults.path(of: fd))
        {
            return type
        }
        var type = 0
        _ = try retryingInterrupted("fstatfs", code: sj_errno) { sj_file_system_type(fd, &type) }
        return type
    }

    package static func status(ofPath path: String) throws(SystemCallError) -> FileStatus {
        var s = Glibc.stat()
        if stat(path, &s) != 0 { throw check("stat", errno) }
        return FileStatus(s)
    }

    /// The device and inode of what `path` names: cheaper than ``status(ofPath:)``, and it leaves
    /// the file's time stamps unqueried (a `stat` of a file makes its next `write` dirty its
    /// inode on a kernel with multigrain time stamps: measured 0.9 -> 3.5 µs for a 150-byte
    /// append followed by a `stat`, 2.4 µs with this).
    package static func identity(ofPath path: String) throws(SystemCallError) -> (device: UInt64, inode: UInt64) {
        var device: UInt64 = 0
        var inode: UInt64 = 0
        if sj_path_identity(path, &device, &inode) != 0 { throw check("statx", sj_errno()) }
        return (device, inode)
    }

    /// The status of what `path` names itself (`lstat`: a symbolic link is not followed).
    package static func linkStatus(ofPath path: String) throws(SystemCallError) -> FileStatus {
        var s = Glibc.stat()
        if lstat(path, &s) != 0 { throw check("lstat", errno) }
        return FileStatus(s)
    }

    /// Whether another open file description holds a lock on byte `offset` of `fd`'s file (an
    /// open-file-description lock, `F_OFD_GETLK`): checked without taking anything.
    package static func isByteLockedElsewhere(_ fd: Int32, at offset: Int64) -> Bool { sj_ofd_held(fd, offset) == 1 }

    /// Ends this OS process at once with `SIGKILL`, as a crash would (crash tests).
    package static func killThisProcess() -> Never {
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL was not delivered")
    }

    /// Sleeps the calling thread (a thread the caller owns, never the cooperative pool's).
    package static func sleep(microseconds: UInt32) { usleep(microseconds) }

    /// Opens `directory` and `fsync`s it, so that a create, rename or unlink in it is durable.
    package static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let fd = try open(directory, [.readOnly, .directory])
        defer { close(fd) }
        try fsync(fd, confirming: false)
    }
}

extension Syscall.FileStatus {
    init(_ s: Glibc.stat) {
        self.size = Int64(s.st_size)
        self.modificationSeconds = Int(s.st_mtim.tv_sec)
        self.modificationNanoseconds = Int(s.st_mtim.tv_nsec)
        self.device = UInt64(s.st_dev)
        self.inode = UInt64(s.st_ino)
        self.isRegularFile = (s.st_mode & S_IFMT) == S_IFREG
        self.isDirectory = (s.st_mode & S_IFMT) == S_IFDIR
        switch s.st_mode & S_IFMT {
        case S_IFREG: kind = "a regular file"
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
    }
}
