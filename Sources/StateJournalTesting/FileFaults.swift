import Foundation
import StateJournalStorage
import Synchronization

#if canImport(Glibc)
public import Glibc
#endif

/// A fault-injecting file layer for tests: faults apply to the files under
/// one directory (so tests running in parallel do not disturb each other),
/// from ``install()`` until ``uninstall()``.
///
/// ```swift
/// let faults = FileFaults(under: directory.path)
/// faults.failSyncs(errno: EIO)
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
        /// A local file system (ext4, XFS, Btrfs): `fdatasync`/`fsync` persist that file;
        /// `syncfs` persists every file of the file system.
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
        var failWrites: (errno: Int32, afterBytes: Int64)?
        var shortWrites: Int?
        var crashAfterBytes: Int64?
        var crashed = false
        var failSyncs: Int32?
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
    }

    private let rules = LockedValue(Rules())

    /// Whether `fstatfs` reports the modelled type (FUSE says it is FUSE); false models a file
    /// system whose type does not reveal what its syncs do.
    public let reportsItsType: Bool

    public init(under directory: String, fileSystem: FileSystemModel = .local, reportsItsType: Bool = true) {
        self.directory = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        self.fileSystem = fileSystem
        self.reportsItsType = reportsItsType
    }

    /// FUSE's `statfs` magic number.
    static let fuseSuperMagic = 0x6573_5546

    // MARK: Faults

    /// Writes fail with `errno` (ENOSPC: a full disk) once `afterBytes` have been written.
    public func failWrites(errno: Int32 = ENOSPC, afterBytes: Int64 = 0) {
        rules.withLock { $0.failWrites = (errno, afterBytes) }
    }

    /// Each `write` call writes at most `maxBytes` (the caller must loop).
    public func shortWrites(maxBytes: Int) {
        rules.withLock { $0.shortWrites = maxBytes }
    }

    /// The write that crosses `afterBytes` writes only up to it and fails
    /// with EIO; every later write fails too: the process died in the middle
    /// of a write, leaving a torn frame.
    public func crashMidWrite(afterBytes: Int64) {
        rules.withLock { $0.crashAfterBytes = afterBytes }
    }

    /// `fdatasync`, `fsync` and `syncfs` fail with `errno`.
    public func failSyncs(errno: Int32 = EIO) {
        rules.withLock { $0.failSyncs = errno }
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

    /// The writes and syncs of files under ``directory`` that ran on a thread
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
    public func install() { FaultRegistry.shared.add(self) }

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
        let (durable, unsynced, names) = rules.withLock { ($0.durable, $0.unsynced, $0.names) }
        for (inode, writes) in unsynced where !writes.isEmpty {
            guard let path = names[inode], Self.inode(of: path) == inode else { continue }
            let current = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            var kept = durable[inode] ?? []
            if tearLastWrite, let first = writes.first {
                let start = Int(first.offset)
                let end = min(current.count, start + first.count / 2)
                if start <= kept.count && end > start {
                    kept = Array(kept[0..<start]) + Array(current[start..<end])
                }
            }
            try Data(kept).write(to: URL(fileURLWithPath: path))
        }
        rules.withLock { $0.unsynced.removeAll() }
    }

    /// Puts every file written under ``directory`` back to what a power cut may leave, drawn
    /// from `seed`: the bytes synced last, and of the writes made since, each 512-byte sector
    /// kept or lost independently (a disk persists the sectors of an unsynced write in any
    /// subset and order; a lost sector past the synced end reads as zeros up to the last kept
    /// one). Call it after the writers are gone (or failed), then reopen.
    public func cutPower(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let (durable, unsynced, names) = rules.withLock { ($0.durable, $0.unsynced, $0.names) }
        for (inode, writes) in unsynced.sorted(by: { $0.key < $1.key }) where !writes.isEmpty {
            // A file no longer under the name it was written under (removed, or renamed over)
            // is left as it is: its name is what the directory says.
            guard let path = names[inode], Self.inode(of: path) == inode else { continue }
            let current = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            var kept = durable[inode] ?? []
            for write in writes {
                var sector = Int(write.offset) / 512 * 512
                while sector < Int(write.offset) + write.count {
                    let low = max(sector, Int(write.offset)), high = min(sector + 512, Int(write.offset) + write.count, current.count)
                    if low < high, generator.next() % 2 == 0 {
                        if kept.count < high { kept += [UInt8](repeating: 0, count: high - kept.count) }
                        kept.replaceSubrange(low..<high, with: current[low..<high])
                    }
                    sector += 512
                }
            }
            try Data(kept).write(to: URL(fileURLWithPath: path))
        }
        rules.withLock { $0.unsynced.removeAll() }
    }

    func beforeWrite(path: String, offset: Int64, count: Int) -> InjectedFault {
        let owned = isLibraryOwnedThread()
        return rules.withLock { rules in
            rules.writes += 1
            if !owned { rules.callsOffLibraryThreads.append("pwrite \(path)") }
            if rules.crashed { return .fail(EIO) }
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

    func beforeSync() -> InjectedFault {
        let owned = isLibraryOwnedThread()
        if rules.withLock({ rules in
            if rules.holdSyncs { rules.heldSyncs += 1 }
            return rules.holdSyncs
        }) {
            while rules.withLock({ $0.holdSyncs }) { usleep(1000) }
            rules.withLock { $0.heldSyncs -= 1 }
        }
        return rules.withLock { rules in
            if !owned { rules.callsOffLibraryThreads.append("sync") }
            if let code = rules.failSyncs {
                rules.failedSyncs += 1
                return .fail(code)
            }
            return .none
        }
    }

    /// After a successful sync: `fdatasync`/`fsync` persist the file synced; `syncfs` persists
    /// every file written here on a local file system, and nothing on FUSE.
    func afterSync(paths synced: [String], syncfs: Bool) {
        let model = fileSystem
        let paths: [String] = rules.withLock { rules in
            rules.syncs += 1
            if !syncfs { return synced }
            switch model {
            case .local: return Array(Set(rules.names.values).union(synced))
            case .fuse: return []
            }
        }
        for path in paths where covers(path) {
            var status = stat()
            guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { continue }
            let inode = UInt64(status.st_ino)
            let content = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
            rules.withLock {
                $0.names[inode] = path
                $0.durable[inode] = content
                $0.unsynced[inode] = []
            }
        }
    }

    /// The inode of the file named `path` now, if any.
    static func inode(of path: String) -> UInt64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return UInt64(status.st_ino)
    }

    func damage(path: String, offset: Int64, buffer: UnsafeMutableRawBufferPointer) {
        let (flips, zeros) = rules.withLock { rules in
            (rules.readDamage.filter { $0.file == path }, rules.zeroRanges.filter { $0.file == path })
        }
        for flip in flips where flip.offset >= offset && flip.offset < offset + Int64(buffer.count) {
            buffer[Int(flip.offset - offset)] ^= flip.mask
        }
        for zero in zeros {
            let low = max(zero.range.lowerBound, offset), high = min(zero.range.upperBound, offset + Int64(buffer.count))
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

    func sync(paths: [String]) -> InjectedFault {
        // A sync fails when a fault set covering one of the files it must make durable says so.
        for faults in owners(of: paths) {
            if case .fail(let code) = faults.beforeSync() { return .fail(code) }
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
