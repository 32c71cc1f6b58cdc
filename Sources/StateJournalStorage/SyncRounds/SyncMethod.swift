import StateJournalSystem

/// How a `.synced` journal makes its writes durable.
///
/// A `.synced` acknowledgement always means that the journal's own file was
/// flushed after its frame was written, with that file's own error reported to
/// that journal's appends — whatever the method (docs/FORMAT.md, "Sync rounds").
public enum SyncMethod: Sendable, Hashable, CustomStringConvertible {
    /// The default: ``fileSystem`` rounds where `syncfs` is proven to persist
    /// every file and to report every failure (`fstatfs` says ext2/3/4, XFS or
    /// tmpfs), and ``perFile`` syncs on every other file system (Btrfs, F2FS,
    /// FUSE, network, unknown), without a warning.
    case automatic
    /// Shared rounds: one `syncfs` per round for all the journals in it (one
    /// journal commit and one cache flush for the whole file system), then
    /// each journal asks for its own file's write-back error on its own
    /// descriptor (`sync_file_range` with `SYNC_FILE_RANGE_WAIT_AFTER`, which
    /// writes nothing and reports what `fdatasync` would). Linux reports a
    /// write-back error to `syncfs` once per file system, to whichever round
    /// asks first; the per-file check gives it to the journal whose pages
    /// failed, and only to it. A round whose `syncfs` fails asks each of its
    /// journals with its own `fdatasync`. A round of one journal is its
    /// `fdatasync`.
    ///
    /// Used only where `syncfs` is proven (see ``automatic``); on any other
    /// file system — on FUSE Linux does not forward `syncfs`, which then
    /// persists nothing — the journal uses ``perFile`` and says so in a
    /// warning. A `syncfs` also forces out every other dirty page of the
    /// file system.
    case fileSystem
    /// One `fdatasync` per journal, on every file system; the syncs of many
    /// journals run at once on the library's sync threads, so concurrent ones
    /// share the file system's journal commit.
    case perFile

    /// File systems (`statfs.f_type`) on which `syncfs` persists every file and fails while
    /// anything could not be written: ext4 and XFS are checked by power cuts and failures of a
    /// disk under the real file systems (`tools/power-cut-disk`, run by CI); tmpfs has no disk.
    ///
    /// Not Btrfs: once a write to its disk failed, Btrfs stops writing (it aborts its transaction),
    /// reports the failure to one `syncfs`, and then returns 0 from every later `syncfs` while
    /// persisting nothing, and `sync_file_range` reports nothing for pages it never wrote back;
    /// only `fdatasync` keeps failing (measured on Linux 6.18; ext4 and XFS keep failing `syncfs`
    /// with `EROFS` or `EIO`). Rounds there acknowledged appends that never reached the disk.
    /// (Its `fdatasync` too can return 0 in the moments it stops; each is confirmed,
    /// ``Syscall/confirmCommitted(_:after:)``.)
    /// Not F2FS: not checked here.
    static let syncfsProven: [Int: String] = [0xEF53: "ext2/3/4", 0x5846_5342: "XFS", 0x0102_1994: "tmpfs"]

    /// The method a journal on a file system of `type` uses for `self`, and why it differs.
    func effective(onFileSystemType type: Int) -> (method: SyncMethod, downgraded: String?) {
        switch self {
        case .perFile: return (.perFile, nil)
        case .automatic: return (Self.syncfsProven[type] != nil ? .fileSystem : .perFile, nil)
        case .fileSystem:
            if Self.syncfsProven[type] != nil { return (.fileSystem, nil) }
            let name =
                switch type {
                case 0x6573_5546: "FUSE"
                case 0x9123_683E: "Btrfs (after a failed write it reports success from syncfs)"
                default: "file system type 0x\(String(type, radix: 16))"
                }
            return (.perFile, "syncfs is not known to persist every file on \(name); per-file fdatasync instead")
        }
    }

    public var description: String {
        switch self {
        case .automatic: "automatic"
        case .fileSystem: "syncfs"
        case .perFile: "fdatasync"
        }
    }
}
