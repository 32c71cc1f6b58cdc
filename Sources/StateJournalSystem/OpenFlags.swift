#if canImport(Glibc)
    import Glibc
#endif

/// How ``Syscall/open(_:_:mode:)`` opens a file (`O_CLOEXEC` and `O_NONBLOCK` are always added).
package struct OpenFlags: OptionSet, Sendable {
    package let rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// `O_RDONLY` (zero: the absence of the write flags).
    package static let readOnly: OpenFlags = []
    package static let writeOnly = OpenFlags(rawValue: O_WRONLY)
    package static let readWrite = OpenFlags(rawValue: O_RDWR)
    package static let create = OpenFlags(rawValue: O_CREAT)
    package static let exclusive = OpenFlags(rawValue: O_EXCL)
    package static let truncate = OpenFlags(rawValue: O_TRUNC)
    package static let append = OpenFlags(rawValue: O_APPEND)
    package static let directory = OpenFlags(rawValue: O_DIRECTORY)
}
