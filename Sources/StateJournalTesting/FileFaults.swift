import Foundation
public import StateJournal
import StateJournalStorage
import StateJournalSystem
import Synchronization

/// A fault-injecting file layer for tests: faults apply to the files under
/// one directory (so tests running in parallel do not disturb each other),
/// from ``install()`` until ``uninstall()``.
///
/// ```swift
/// let faults = FileFaults(under: directory.path)
/// faults.failSyncs(errno: .ioError)
/// faults.install()
/// defer { faults.uninstall() }
/// ```
///
/// Also a power-loss simulator: it records what was written and what was
/// synced, and ``cutPower(tearLastWrite:)`` puts the files back to what a
/// power cut would leave — the synced bytes, plus (optionally) part of the
/// first write that was not synced yet. What a sync persists is written from
/// what kernels and file systems do, per ``FileSystemModel``, not from what
/// the library's writer expects: a file's bytes are durable once *that file*
/// was synced successfully; `syncfs` persists every file of a local file
/// system and nothing at all on FUSE.
public final class FileFaults: Sendable {
    /// What a power cut keeps, by kind of file system.
    public enum FileSystemModel: Sendable, Hashable {
        /// A local file system (ext4, XFS): `fdatasync`/`fsync` persist that file;
        /// `syncfs` persists every file of the file system. (Not Btrfs, whose `syncfs` returns 0
        /// and persists nothing once a write to its disk failed: `SyncMethod`.)
        case local
        /// A FUSE file system, as Linux treats it: `fstatfs` says FUSE; `fdatasync`/`fsync`
        /// are passed to the server and persist that file; `syncfs` returns 0 and persists
        /// nothing (the kernel forwards it only to virtiofs).
        case fuse
    }

    /// The directory whose files are affected.
    public let directory: String
    /// The kind of file system modelled.
    public let fileSystem: FileSystemModel

    private struct Rules {
        var failWrites: (errno: Errno, afterBytes: Int64)?
        var shortWrites: Int?
        var crashAfterBytes: Int64?
        var crashed = false
        var failSyncs: Errno?
        var holdSyncs = false
        var heldSyncs = 0
        var readDamage: [(file: String, offset: Int64, mask: UInt8)] = []
        var zeroRanges: [(file: String, range: Range<Int64>)] = []
        var bytesWritten: Int64 = 0
        var writes = 0
        var callsOffLibraryThreads: [String] = []
        var syncs = 0
        var failedSyncs = 0
        /// Per file: the bytes a power cut keeps, and the writes not synced since.
        /// Kept per file (inode), not per name: a file written under a temporary name, synced,
        /// then renamed over a journal is durable under its new name.
        var durable: [UInt64: [UInt8]] = [:]
        var unsynced: [UInt64: [(offset: Int64, count: Int)]] = [:]
        /// The name each file was last seen under.
        var names: [UInt64: String] = [:]
        /// Per directory: the entries (name → inode) a power cut keeps, as of the directory's
        /// last sync. A create, link, rename or unlink since is undone by a power cut.
        var listings: [String: [String: UInt64]] = [:]
        /// Write-back failures not yet reported to the file's own sync (per inode) and to a
        /// `syncfs` of the file system (one error sequence per file system, as in Linux).
        var writebackFailures: [UInt64: Errno] = [:]
        var fileSystemError: Errno?
        /// Files whose write-back failed: what they keep at a power cut no longer grows.
        var frozen: Set<UInt64> = []
    }

    private let rules = LockedValue(Rules())

    /// Whether `fstatfs` reports the modelled type (FUSE says it is FUSE); false models a file
    /// system whose type does not reveal what its syncs do.
    public let reportsItsType: Bool

    /// Faults for the files under `directory`, on a file system that behaves as `fileSystem`; `reportsItsType` false hides its type from `fstatfs` (an unknown file system).
    public init(under directory: String, fileSystem: FileSystemModel = .local, reportsItsType: Bool = true) {
        self.directory = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        self.fileSystem = fileSystem
        self.reportsItsType = reportsItsType
    }

    /// FUSE's `statfs` magic number.
    static let fuseSuperMagic = 0x6573_5546

    // MARK: Faults

    /// Writes fail with `errno` (.noSpace: a full disk) once `afterBytes` have been written.
    public func failWrites(errno: Errno = .noSpace, afterBytes: Int64 = 0) {
        rules.withLock { $0.failWrites = (errno, afterBytes) }
    }

    /// Each `write` call writes at most `maxBytes` (the caller must loop).
    public func shortWrites(maxBytes: Int) {
        rules.withLock { $0.shortWrites = maxBytes }
    }

    /// The write that crosses `afterBytes` writes only up to it and fails
    /// with .ioError; every later write fails too: the process died in the middle
    /// of a write, leaving a torn frame.
    public func crashMidWrite(afterBytes: Int64) {
        rules.withLock { $0.crashAfterBytes = afterBytes }
    }

    /// `fdatasync`, `fsync` and `syncfs` fail with `errno`.
    public func failSyncs(errno: Errno = .ioError) {
        rules.withLock { $0.failSyncs = errno }
    }

    /// The kernel failed to write back the dirty pages of `file` (a bad sector; a disk that
    /// went away for a moment). As Linux does: the file's writes not yet synced are lost and
    /// no later sync persists them; the error is reported once to the file's own next sync
    /// (`fdatasync`, or a check of its write-back error) and once to the next `syncfs` of the
    /// file system — whichever journals that `syncfs` was for.
    public func failWriteback(of file: String, errno: Errno = .ioError) {
        let resolved = Self.resolve(file)
        guard let inode = Self.inode(of: resolved) else { return }
        rules.withLock { rules in
            rules.writebackFailures[inode] = errno
            rules.fileSystemError = errno
            rules.frozen.insert(inode)
        }
    }

    /// Syncs succeed again (the disk came back).
    public func stopFailingSyncs() {
        rules.withLock { $0.failSyncs = nil }
    }

    /// `fdatasync`, `fsync` and `syncfs` block (on the library's I/O thread) until
    /// ``releaseSyncs()``: a disk that stopped answering.
    public func holdSyncs() {
        rules.withLock { $0.holdSyncs = true }
    }

    /// Lets held syncs go on.
    public func releaseSyncs() {
        rules.withLock { $0.holdSyncs = false }
    }

    /// Syncs blocked by ``holdSyncs()`` right now.
    public var heldSyncs: Int { rules.withLock { $0.heldSyncs } }

    /// Reads of `file` see byte `offset` XORed with `mask` (a bit flip on the medium).
    public func flipBits(in file: String, at offset: Int64, mask: UInt8 = 0x01) {
        let resolved = Self.resolve(file)
        rules.withLock { $0.readDamage.append((resolved, offset, mask)) }
    }

    /// Reads of `file` see zeros in `range` (a zeroed sector).
    public func zeroSector(in file: String, range: Range<Int64>) {
        let resolved = Self.resolve(file)
        rules.withLock { $0.zeroRanges.append((resolved, range)) }
    }

    /// The writes, syncs and reads of files under ``directory`` that ran on a thread
    /// the library does not own (Swift's cooperative pool, a caller's thread).
    /// G5 says there are none.
    public var callsOffLibraryThreads: [String] {
        rules.withLock { $0.callsOffLibraryThreads }
    }

    /// Counters: write calls, successful syncs, failed syncs.
    public var counters: (writes: Int, syncs: Int, failedSyncs: Int) {
        rules.withLock { ($0.writes, $0.syncs, $0.failedSyncs) }
    }

    // MARK: Installation

    /// Starts injecting (process-wide, for files under ``directory``).
    public func install() {
        rules.withLock { Self.recordEverything(under: directory, in: &$0) }
        FaultRegistry.shared.add(self)
    }

    /// Stops injecting.
    public func uninstall() { FaultRegistry.shared.remove(self) }

    static func resolve(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }

    func covers(_ path: String?) -> Bool {
        guard let path else { return true }
        return path == directory || path.hasPrefix(directory + "/")
    }

    // MARK: Power loss

    /// Puts every file written under ``directory`` back to what a power cut
    /// would leave: the bytes synced last; with `tearLastWrite`, also the
    /// first half of the first write made after that sync. Call it after the
    /// writers are gone (or failed), then reopen.
    public func cutPower(tearLastWrite: Bool = true) throws {
        let (durable, unsynced, names, frozen) = rules.withLock { ($0.durable, $0.unsynced, $0.names, $0.frozen) }
        for (inode, writes) in unsynced where !writes.isEmpty {
            guard let path = names[inode], Self.inode(of: path) == inode else { continue }
            let current = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            var kept = durable[inode] ?? []
            if tearLastWrite, !frozen.contains(inode), let first = writes.first {
                let start = Int(first.offset)
                let end = min(current.count, start + first.count / 2)
                if start <= kept.count && end > start {
                    kept = Array(kept[0..<start]) + Array(current[start..<end])
                }
            }
            try Data(kept).write(to: URL(fileURLWithPath: path))
        }
        try restoreDirectories()
    }

    /// Puts every file written under ``directory`` back to what a power cut may leave, drawn
    /// from `seed`: the bytes synced last, and of the writes made since, each 512-byte sector
    /// kept or lost independently (a disk persists the sectors of an unsynced write in any
    /// subset and order; a lost sector past the synced end reads as zeros up to the last kept
    /// one). The entries of each directory changed since its last sync (files created, linked,
    /// renamed, removed) are all kept or all undone, drawn per directory (a file system commits
    /// a directory's operations in order: all of them, or none, are among its outcomes). Call it
    /// after the writers are gone (or failed), then reopen.
    public func cutPower(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let (durable, unsynced, names, frozen) = rules.withLock { ($0.durable, $0.unsynced, $0.names, $0.frozen) }
        for (inode, writes) in unsynced.sorted(by: { $0.key < $1.key }) where !writes.isEmpty {
            // A file no longer under the name it was written under (removed, or renamed over)
            // is put back by the directory step below, with what it had made durable.
            guard let path = names[inode], Self.inode(of: path) == inode else { continue }
            let current = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            var kept = durable[inode] ?? []
            for write in writes where !frozen.contains(inode) {
                var sector = Int(write.offset) / 512 * 512
                while sector < Int(write.offset) + write.count {
                    let low = max(sector, Int(write.offset))
                    let high = min(sector + 512, Int(write.offset) + write.count, current.count)
                    if low < high, generator.next() % 2 == 0 {
                        if kept.count < high { kept += [UInt8](repeating: 0, count: high - kept.count) }
                        kept.replaceSubrange(low..<high, with: current[low..<high])
                    }
                    sector += 512
                }
            }
            try Data(kept).write(to: URL(fileURLWithPath: path))
        }
        try restoreDirectories(keepingUnsynced: { _ in generator.next() % 2 == 0 })
    }

    func beforeWrite(path: String, offset: Int64, count: Int) -> InjectedFault {
        let owned = isLibraryOwnedThread()
        return rules.withLock { rules in
            rules.writes += 1
            if !owned { rules.callsOffLibraryThreads.append("pwrite \(path)") }
            if rules.crashed { return .fail(.ioError) }
            if let (code, after) = rules.failWrites, rules.bytesWritten + Int64(count) > after { return .fail(code) }
            if let crash = rules.crashAfterBytes, rules.bytesWritten + Int64(count) > crash {
                rules.crashed = true
                return .tornThenFail(Int(max(0, crash - rules.bytesWritten)))
            }
            if let limit = rules.shortWrites { return .short(limit) }
            return .none
        }
    }

    func afterWrite(path: String, offset: Int64, count: Int) {
        rules.withLock { rules in
            rules.bytesWritten += Int64(count)
            guard let inode = Self.inode(of: path) else { return }
            rules.names[inode] = path
            if rules.durable[inode] == nil && rules.unsynced[inode] == nil { rules.durable[inode] = [] }
            rules.unsynced[inode, default: []].append((offset, count))
        }
    }

    func beforeSync(paths: [String], fileSystem syncfs: Bool) -> InjectedFault {
        let owned = isLibraryOwnedThread()
        if rules.withLock({ rules in
            if rules.holdSyncs { rules.heldSyncs += 1 }
            return rules.holdSyncs
        }) {
            while rules.withLock({ $0.holdSyncs }) { Syscall.sleep(microseconds: 1000) }
            rules.withLock { $0.heldSyncs -= 1 }
        }
        return rules.withLock { rules in
            if !owned { rules.callsOffLibraryThreads.append("sync") }
            if let code = rules.failSyncs {
                rules.failedSyncs += 1
                return .fail(code)
            }
            if syncfs {
                if let code = rules.fileSystemError {
                    rules.fileSystemError = nil
                    rules.failedSyncs += 1
                    return .fail(code)
                }
            } else if let inode = paths.first.flatMap(Self.inode(of:)),
                let code = rules.writebackFailures.removeValue(forKey: inode)
            {
                rules.failedSyncs += 1
                return .fail(code)
            }
            return .none
        }
    }

    /// After a successful sync: `fdatasync`/`fsync` persist the file synced, and `fsync` of a
    /// directory its entries; `syncfs` persists every file and directory here on a local file
    /// system (it commits the file system's journal), and nothing on FUSE.
    func afterSync(paths synced: [String], syncfs: Bool) {
        let model = fileSystem
        if syncfs {
            guard model == .local else { return rules.withLock { $0.syncs += 1 } }
            rules.withLock { rules in
                rules.syncs += 1
                Self.recordEverything(under: directory, in: &rules)
            }
            return
        }
        rules.withLock { rules in
            rules.syncs += 1
            for path in synced where covers(path) {
                guard let status = try? Syscall.status(ofPath: path) else { continue }
                if status.isDirectory {
                    rules.listings[path] = Self.entries(of: path)
                } else if status.isRegularFile {
                    Self.recordFile(path: path, inode: status.inode, in: &rules)
                }
            }
        }
    }

    /// Records `path`'s bytes as durable (unless its write-back failed).
    private static func recordFile(path: String, inode: UInt64, in rules: inout Rules) {
        rules.names[inode] = path
        guard !rules.frozen.contains(inode) else { return }
        rules.durable[inode] = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
        rules.unsynced[inode] = []
    }

    /// Records every file and directory entry under `root` as durable: at installation (what
    /// was there before is on the disk), after a `syncfs` of a local file system, after a cut.
    private static func recordEverything(under root: String, in rules: inout Rules) {
        for directory in directories(under: root) {
            let entries = entries(of: directory)
            rules.listings[directory] = entries
            for (name, inode) in entries { recordFile(path: directory + "/" + name, inode: inode, in: &rules) }
        }
    }

    /// `root` and every directory below it.
    private static func directories(under root: String) -> [String] {
        var found = [root]
        var index = 0
        while index < found.count {
            let directory = found[index]
            index += 1
            for (name, _) in (try? Syscall.directoryEntries(directory)) ?? [] {
                let path = directory + "/" + name
                if (try? Syscall.linkStatus(ofPath: path))?.isDirectory == true { found.append(path) }
            }
        }
        return found
    }

    /// The regular files of `directory`, by name.
    private static func entries(of directory: String) -> [String: UInt64] {
        var entries: [String: UInt64] = [:]
        for (name, _) in (try? Syscall.directoryEntries(directory)) ?? [] {
            if let status = try? Syscall.linkStatus(ofPath: directory + "/" + name), status.isRegularFile {
                entries[name] = status.inode
            }
        }
        return entries
    }

    /// Undoes every directory operation not followed by a sync of its directory: entries
    /// created since are removed, entries removed or renamed over come back with what their
    /// file had made durable. Then what is left is the new durable state.
    /// Undoes the directory operations not followed by a sync of their directory, except in the
    /// directories for which `keepingUnsynced` says they reached the disk.
    private func restoreDirectories(keepingUnsynced: (String) -> Bool = { _ in false }) throws {
        let (listings, durable) = rules.withLock { ($0.listings, $0.durable) }
        for directory in Self.directories(under: self.directory) where !keepingUnsynced(directory) {
            let kept = listings[directory] ?? [:]
            for (name, inode) in Self.entries(of: directory) where kept[name] != inode {
                try FileManager.default.removeItem(atPath: directory + "/" + name)
            }
            for (name, inode) in kept where Self.inode(of: directory + "/" + name) != inode {
                try Data(durable[inode] ?? []).write(to: URL(fileURLWithPath: directory + "/" + name))
            }
        }
        rules.withLock { rules in
            rules.durable.removeAll()
            rules.unsynced.removeAll()
            rules.names.removeAll()
            rules.listings.removeAll()
            rules.frozen.removeAll()
            rules.writebackFailures.removeAll()
            rules.fileSystemError = nil
            Self.recordEverything(under: directory, in: &rules)
        }
    }

    /// The inode of the file named `path` now, if any.
    static func inode(of path: String) -> UInt64? {
        (try? Syscall.status(ofPath: path))?.inode
    }

    func damage(path: String, offset: Int64, buffer: UnsafeMutableRawBufferPointer) {
        let owned = isLibraryOwnedThread()
        let (flips, zeros) = rules.withLock { rules in
            if !owned { rules.callsOffLibraryThreads.append("pread \(path)") }
            return (rules.readDamage.filter { $0.file == path }, rules.zeroRanges.filter { $0.file == path })
        }
        for flip in flips where flip.offset >= offset && flip.offset < offset + Int64(buffer.count) {
            buffer[Int(flip.offset - offset)] ^= flip.mask
        }
        for zero in zeros {
            let low = max(zero.range.lowerBound, offset)
            let high = min(zero.range.upperBound, offset + Int64(buffer.count))
            if low < high { for i in low..<high { buffer[Int(i - offset)] = 0 } }
        }
    }
}

/// Dispatches the file layer's system calls to the installed fault sets by directory.
final class FaultRegistry: SystemCallInjector {
    static let shared = FaultRegistry()
    private let installed = LockedValue<[FileFaults]>([])

    func add(_ faults: FileFaults) {
        installed.withLock { $0.append(faults) }
        SystemCallFaults.install(self)
    }

    func remove(_ faults: FileFaults) {
        let empty = installed.withLock { list in
            list.removeAll { $0 === faults }
            return list.isEmpty
        }
        if empty { SystemCallFaults.install(nil) }
    }

    private func owner(of path: String) -> FileFaults? {
        installed.withLock { list in list.first { $0.covers(path) } }
    }

    func write(path: String, offset: Int64, count: Int) -> InjectedFault {
        owner(of: path)?.beforeWrite(path: path, offset: offset, count: count) ?? .none
    }

    func wrote(path: String, offset: Int64, count: Int) {
        owner(of: path)?.afterWrite(path: path, offset: offset, count: count)
    }

    private func owners(of paths: [String]) -> [FileFaults] {
        var seen: [FileFaults] = []
        for path in paths {
            if let owner = owner(of: path), !seen.contains(where: { $0 === owner }) { seen.append(owner) }
        }
        return seen
    }

    func sync(paths: [String], fileSystem: Bool) -> InjectedFault {
        // A sync fails when a fault set covering one of the files it must make durable says so.
        for faults in owners(of: paths) {
            if case .fail(let code) = faults.beforeSync(paths: paths, fileSystem: fileSystem) { return .fail(code) }
        }
        return .none
    }

    func synced(paths: [String], fileSystem: Bool) {
        for faults in owners(of: paths) {
            faults.afterSync(paths: paths.filter { faults.covers($0) }, syncfs: fileSystem)
        }
    }

    func fileSystemType(path: String) -> Int? {
        guard let owner = owner(of: path), owner.fileSystem == .fuse, owner.reportsItsType else { return nil }
        return FileFaults.fuseSuperMagic
    }

    func read(path: String, offset: Int64, buffer: UnsafeMutableRawBufferPointer) {
        owner(of: path)?.damage(path: path, offset: offset, buffer: buffer)
    }
}
