/// The names of the files kept beside a journal.
enum FileNames {
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func base(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func snapshotTemporary(_ path: String) -> String { path + ".snapshot.tmp" }
    static func compactTemporary(_ path: String) -> String { path + ".compact.tmp" }
    static func createTemporaryPrefix(_ path: String) -> String { path + ".create." }

    /// Where bytes cut at `offset` are kept: `<journal>.cut-<offset>-<unix seconds>`, made unique.
    static func cut(_ path: String, offset: Int64, seconds: Int) -> String {
        "\(path).cut-\(offset)-\(seconds)"
    }
}
