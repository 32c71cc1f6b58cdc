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
enum Syscall {
    struct FileStatus {
        var size: Int64
        var modificationSeconds: Int
        var modificationNanoseconds: Int
        var device: UInt64
        var inode: UInt64
        var isRegularFile: Bool
        var isDirectory: Bool
        /// What the path is, in words ("a FIFO").
        var kind: String
    }

    @inline(__always)
    private static func check(_ call: String, _ errno: Int32) -> SystemCallError {
        precondition(
            errno != EBADF && errno != EFAULT, "\(call): \(SystemCallError.name(of: errno)) is a programming error")
        return SystemCallError(call: call, errno: errno)
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
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemCallError) -> Int32 {
        try retryingInterrupted("open") { Glibc.open(path, flags | O_CLOEXEC | O_NONBLOCK, mode) }
    }

    /// Closes `fd`. Errors from `close` are not actionable (the descriptor is
    /// gone either way) and durability never depends on them: it is ignored.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemCallError)
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
    static func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64)
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
    static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(SystemCallError) {
        var done = 0
        while done < bytes.count {
            var count = bytes.count - done
            var failAfter: Int32?
            let injector = SystemCallFaults.injector
            let path = injector.map { _ in SystemCallFaults.path(of: fd) } ?? ""
            if let injector {
                switch injector.write(path: path, offset: offset + Int64(done), count: count) {
                case .none: break
                case .fail(let code): throw check("pwrite", code)
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
    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) throws(SystemCallError) {
        var failure: SystemCallError?
        bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) { try pwriteAll(fd, raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    static func fdatasync(_ fd: Int32) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in [SystemCallFaults.path(of: fd)] } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: false) {
            throw check("fdatasync", code)
        }
        #if canImport(Glibc)
            _ = try retryingInterrupted("fdatasync") { Glibc.fdatasync(fd) }
        #else
            _ = try retryingInterrupted("fdatasync") { Darwin.fsync(fd) }
        #endif
        injector?.synced(paths: paths, fileSystem: false)
    }

    static func fsync(_ fd: Int32) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in [SystemCallFaults.path(of: fd)] } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: false) {
            throw check("fsync", code)
        }
        _ = try retryingInterrupted("fsync") { Glibc.fsync(fd) }
        injector?.synced(paths: paths, fileSystem: false)
    }

    /// `syncfs` of the file system that holds `fd`; `covering` are the
    /// journals the caller needs synced (for fault injection).
    static func syncfs(_ fd: Int32, covering: [Int32]) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in covering.map(SystemCallFaults.path(of:)) } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: true) {
            throw check("syncfs", code)
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
    static func checkWriteback(_ fd: Int32) throws(SystemCallError) {
        let injector = SystemCallFaults.injector
        let paths = injector.map { _ in [SystemCallFaults.path(of: fd)] } ?? []
        if let injector, case .fail(let code) = injector.sync(paths: paths, fileSystem: false) {
            throw check("sync_file_range", code)
        }
        _ = try retryingInterrupted("sync_file_range", code: sj_errno) { sj_writeback_error(fd) }
    }

    /// Starts write-back of `count` bytes at `offset` of `fd` without waiting
    /// (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`), so that the data of
    /// many journals is on its way before their `fdatasync`s commit. A hint:
    /// its failure is reported by the sync that follows, never by this call.
    static func startWriteback(_ fd: Int32, offset: Int64, count: Int) {
        _ = sj_start_writeback(fd, offset, Int64(count))
    }

    static func ftruncate(_ fd: Int32, _ length: Int64) throws(SystemCallError) {
        _ = try retryingInterrupted("ftruncate") { Glibc.ftruncate(fd, off_t(length)) }
    }

    /// Takes an exclusive `flock` without waiting. Returns false when another
    /// open file description holds it (in this or any other OS process).
    static func tryLockExclusive(_ fd: Int32) throws(SystemCallError) -> Bool {
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
    static func tryLockByte(_ fd: Int32, at offset: Int64, exclusive: Bool) throws(SystemCallError) -> Bool {
        while true {
            if sj_ofd_lock(fd, offset, exclusive ? 1 : 0) == 0 { return true }
            let e = sj_errno()
            if e == EINTR { continue }
            if e == EAGAIN || e == EACCES { return false }
            throw check("fcntl", e)
        }
    }

    static func rename(_ from: String, _ to: String) throws(SystemCallError) {
        if Glibc.rename(from, to) != 0 { throw check("rename", errno) }
    }

    static func unlink(_ path: String) throws(SystemCallError) {
        if Glibc.unlink(path) != 0 { throw check("unlink", errno) }
    }

    static func mkdir(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        if Glibc.mkdir(path, mode) != 0 { throw check("mkdir", errno) }
    }

    static func fstat(_ fd: Int32) throws(SystemCallError) -> FileStatus {
        var s = Glibc.stat()
        if Glibc.fstat(fd, &s) != 0 { throw check("fstat", errno) }
        return FileStatus(s)
    }

    /// The type of the file system that holds `fd` (`statfs.f_type`: a magic number).
    static func fileSystemType(_ fd: Int32) throws(SystemCallError) -> Int {
        if let injector = SystemCallFaults.injector,
            let type = injector.fileSystemType(path: SystemCallFaults.path(of: fd))
        {
            return type
        }
        var type = 0
        _ = try retryingInterrupted("fstatfs", code: sj_errno) { sj_file_system_type(fd, &type) }
        return type
    }

    static func status(ofPath path: String) throws(SystemCallError) -> FileStatus {
        var s = Glibc.stat()
        if stat(path, &s) != 0 { throw check("stat", errno) }
        return FileStatus(s)
    }

    /// Opens `directory` and `fsync`s it, so that a create, rename or unlink in it is durable.
    static func syncDirectory(_ directory: String) throws(SystemCallError) {
        let fd = try open(directory, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd)
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
