#if canImport(Glibc)
    import Glibc
#endif

/// The error number a failed system call left in `errno`, with its symbolic name.
///
/// ```swift
/// if error.errno == .noSpace { /* the disk is full */ }
/// ```
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    /// The C value.
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `EPERM`
    public static let notPermitted = Errno(rawValue: EPERM)
    /// `ENOENT`
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    /// `EINTR`
    public static let interrupted = Errno(rawValue: EINTR)
    /// `EIO`
    public static let ioError = Errno(rawValue: EIO)
    /// `EBADF`
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// `EAGAIN`, also `EWOULDBLOCK`
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    /// `ENOMEM`
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// `EACCES`
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// `EFAULT`
    public static let badAddress = Errno(rawValue: EFAULT)
    /// `EEXIST`
    public static let fileExists = Errno(rawValue: EEXIST)
    /// `ENOTDIR`
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    /// `EISDIR`
    public static let isDirectory = Errno(rawValue: EISDIR)
    /// `EINVAL`
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// `ENFILE`
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    /// `EMFILE`
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    /// `EFBIG`
    public static let fileTooLarge = Errno(rawValue: EFBIG)
    /// `ENOSPC`
    public static let noSpace = Errno(rawValue: ENOSPC)
    /// `EROFS`
    public static let readOnlyFileSystem = Errno(rawValue: EROFS)
    /// `EPIPE`
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// `ENAMETOOLONG`
    public static let fileNameTooLong = Errno(rawValue: ENAMETOOLONG)
    /// `ELOOP`
    public static let tooManySymbolicLinks = Errno(rawValue: ELOOP)
    /// `EDQUOT`
    public static let diskQuotaExceeded = Errno(rawValue: EDQUOT)
    /// `ENOTSUP`
    public static let notSupported = Errno(rawValue: ENOTSUP)

    /// The symbolic name (`"ENOENT"`), or `"errno N"` for one not named here.
    public var name: String {
        switch rawValue {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EFAULT: "EFAULT"
        case EEXIST: "EEXIST"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case EPIPE: "EPIPE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ELOOP: "ELOOP"
        case EDQUOT: "EDQUOT"
        case ENOTSUP: "ENOTSUP"
        default: "errno \(rawValue)"
        }
    }

    /// The C library's message and the name: `"No space left on device (ENOSPC)"`.
    public var description: String { "\(String(cString: strerror(rawValue))) (\(name))" }

    /// The calling thread's `errno` now.
    package static var current: Errno { Errno(rawValue: errno) }
}
