/// The parts of a path, as the system calls see them.
package enum FilePaths {
    /// Everything before the last slash: `"."` for a bare name, `"/"` for a file at the root.
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Everything after the last slash.
    package static func base(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
