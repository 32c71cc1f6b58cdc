/// A system call failed with `errno`.
package struct SystemCallError: Error, Sendable, CustomStringConvertible {
    package var call: String
    package var errno: Errno

    package init(call: String, errno: Errno) {
        self.call = call
        self.errno = errno
    }

    package var description: String { "\(call) failed: \(errno)" }
}
