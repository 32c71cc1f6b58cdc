import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What an injected fault does to one system call.
package enum InjectedFault: Sendable, Equatable {
    /// The call runs normally.
    case none
    /// The call fails with this errno without doing anything.
    case fail(Errno)
    /// A write writes at most this many bytes and returns a short count (the caller must loop).
    case short(Int)
    /// A write writes this many bytes, then fails with EIO: a crash in the middle of a write.
    case tornThenFail(Int)
}

/// The one seam of the file layer's system calls, for the test kit's
/// fault-injecting file layer. When no injector is installed the cost on
/// the real path is one relaxed atomic load per call.
package protocol SystemCallInjector: Sendable {
    /// Before `pwrite` of `count` bytes at `offset` to the file at `path`.
    func write(path: String, offset: Int64, count: Int) -> InjectedFault
    /// After `pwrite` wrote `count` bytes at `offset` (for power-loss bookkeeping).
    func wrote(path: String, offset: Int64, count: Int)
    /// Before `fdatasync`/`fsync` of the file at `paths[0]` or a check of its write-back
    /// error (`fileSystem` false), or `syncfs` for the files in `paths` (`fileSystem` true).
    func sync(paths: [String], fileSystem: Bool) -> InjectedFault
    /// After a successful sync: `fdatasync`/`fsync` of `paths[0]` (`fileSystem` false), or
    /// `syncfs` asked for by the journals at `paths` (`fileSystem` true; what it persists is
    /// the model's business, not the caller's).
    func synced(paths: [String], fileSystem: Bool)
    /// The file-system type (`statfs.f_type`) to report for the file system of `path`, or nil
    /// for the real one.
    func fileSystemType(path: String) -> Int?
    /// After `pread` filled `buffer` from `offset` of `path`: may damage the bytes read.
    func read(path: String, offset: Int64, buffer: UnsafeMutableRawBufferPointer)
}

/// Whether the calling thread is one the library owns (G5: blocking calls run only there).
package func isLibraryOwnedThread() -> Bool { IOThreadPool.isLibraryThread }

/// Fault injection is compiled in debug builds (the tests), and in release builds only with the
/// package trait `FaultInjection` (the crash campaign: `swift run -c release --traits
/// FaultInjection statejournal-crash-campaign`). A release build without it has no seam at all:
/// ``injector`` is a constant nil and every check folds away.
package enum SystemCallFaults {
    #if STATEJOURNAL_FAULT_INJECTION
        private static let enabled = Atomic<Bool>(false)
        private static let current = LockedValue<(any SystemCallInjector)?>(nil)

        /// Whether this build can inject faults.
        package static let isAvailable = true

        /// Installs `injector` for the whole OS process (nil removes it).
        package static func install(_ injector: (any SystemCallInjector)?) {
            current.withLock { $0 = injector }
            enabled.store(injector != nil, ordering: .releasing)
        }

        @inline(__always)
        static var injector: (any SystemCallInjector)? {
            guard enabled.load(ordering: .relaxed) else { return nil }
            return current.withLock { $0 }
        }
    #else
        /// Whether this build can inject faults.
        package static let isAvailable = false

        /// Traps: this build has no fault injection (a release build without the
        /// `FaultInjection` trait).
        package static func install(_ injector: (any SystemCallInjector)?) {
            guard injector != nil else { return }
            fatalError(
                "fault injection is compiled only in debug builds and with the FaultInjection trait (swift build -c release --traits FaultInjection)"
            )
        }

        @inline(__always)
        static var injector: (any SystemCallInjector)? { nil }
    #endif

    /// The path of an open descriptor (only computed when an injector is
    /// installed). A file opened under a name since removed (a journal created
    /// as a temporary and linked into place) is found again by its inode.
    static func path(of fd: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return "" }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let deleted = " (deleted)"
        guard path.hasSuffix(deleted), let inode = try? Syscall.fstat(fd).inode else { return path }
        let directory = FilePaths.directory(of: String(path.dropLast(deleted.count)))
        guard let entries = try? Syscall.directoryEntries(directory) else { return path }
        if let entry = entries.first(where: { $0.inode == inode }) { return directory + "/" + entry.name }
        return path
    }
}
