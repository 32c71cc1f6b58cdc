import Foundation
import StateJournalStorage
import StateJournalSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// ext4 and XFS failing under a live `.synced` journal, on a loop-mounted image (root only; CI
/// runs as root): an error that aborts ext4's journal (`errors=remount-ro`), and a shutdown of
/// ext4 or XFS (`FS_IOC_SHUTDOWN` without a log flush); each once directly and once through an
/// overlay whose upper layer is on the failing file system (a container's writable layer).
///
/// A sync that returns while the file system fails can return 0 for what the file system then
/// drops (measured on Linux 6.18; docs/FORMAT.md, "Sync rounds"), so every successful sync is
/// confirmed against the file system itself (``Syscall/confirmCommitted(_:after:)``). The moment
/// of that race cannot be chosen from a test; `tools/fs-error` runs it (6 of 60 ext4 trials lost
/// acknowledged `.synced` messages before the confirmation, none of the same 60 after, nor of 60
/// on XFS; through an overlay on ext4, 5 of 30 trials lost some before the overlay was confirmed
/// too). Here the real
/// kernel shows the confirmation's two sides: it passes, changing nothing, on a healthy file
/// system and on a descriptor it cannot use, and it fails once the file system cannot commit.
@Suite(.enabled(if: getuid() == 0, "mounting an image needs root"), .timeLimit(.minutes(2)), .serialized)
struct FailingFileSystemTests {
    enum Event: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case ext4Error, ext4Shutdown, xfsShutdown
        var fileSystem: String { self == .xfsShutdown ? "xfs" : "ext4" }
        var testDescription: String { rawValue }
    }

    @Test(arguments: Event.allCases, [false, true])
    func aSyncIsConfirmedAgainstTheFileSystem(_ event: Event, throughOverlay: Bool) async throws {
        let directory = TemporaryDirectory("failing-fs")
        guard var disk = LoopDisk(fileSystem: event.fileSystem, in: directory.path, overlay: throughOverlay)
        else { return }
        defer { disk.detach() }

        // Healthy: confirmed, and nothing of the file changes.
        let (path, fd, bytes) = try disk.syncedFile()
        defer { Glibc.close(fd) }
        try Syscall.confirmCommitted(fd, after: "fdatasync")
        #expect(try Syscall.fstat(fd).size == 100)
        #expect(fileBytes(path) == bytes)
        // A descriptor it cannot use (read-only): no confirmation, no failure, no trap.
        let readOnly = Glibc.open(path, O_RDONLY)
        try Syscall.confirmCommitted(readOnly, after: "fdatasync")
        Glibc.close(readOnly)

        let journal = disk.files + "/j.journal"
        for method in [SyncMethod.fileSystem, .perFile] {
            var options = JournalOptions.testing(.synced)
            options.syncMethod = method
            let writer = try await JournalWriter.open(
                path: journal, processID: "j", options: options, logger: testLogger)
            _ = try await writer.append([1, 2, 3])
            try await writer.close(discard: false)
        }

        disk.fail(event)

        // The file system cannot commit: the confirmation says so, as the sync's own failure.
        do {
            try Syscall.confirmCommitted(fd, after: "fdatasync")
            Issue.record("\(event): confirmed on a file system that cannot commit")
        } catch {
            // Through an overlay, whatever the file system below it.
            let check = event.fileSystem == "xfs" && !throughOverlay ? "fchown" : "fallocate"
            #expect(error.call == check + " confirming fdatasync")
            #expect([Errno.readOnlyFileSystem, .ioError].contains(error.errno), "\(error)")
        }
        // A `.synced` journal there acknowledges nothing, and says why.
        var options = JournalOptions.testing(.synced)
        options.syncMethod = .perFile
        do {
            let writer = try await JournalWriter.open(
                path: journal, processID: "j", options: options, logger: testLogger)
            _ = try await writer.append([4])
            Issue.record("\(event): an append acknowledged on a file system that cannot commit")
        } catch {
            #expect([Errno.readOnlyFileSystem, .ioError].contains(error.errno), "\(error)")
        }

        // Mounted again (the file system replays its own log): the acknowledged messages are there.
        try disk.remount()
        let messages = try readAll(journal).messages.map(\.bytes)
        #expect(messages == [[1, 2, 3], [1, 2, 3]])
    }
}

/// Btrfs, where the confirmation is a change of owner to none (`fchown(fd, -1, -1)`, which must
/// join a transaction of the file system), as it is, beside `fallocate`, through an overlay: on a
/// healthy file system it changes nothing but the file's change time, which is how this test sees
/// that it was made. (Btrfs cannot be
/// made to fail on demand here: it has no shutdown call and no error trigger. tools/power-cut-disk
/// fails its disk: a C program syncing 16 files lost acknowledged records in 1 of 100 trials on
/// Btrfs and 5 of 100 through an overlay on it, and none of 100 through the overlay with this
/// check.)
@Suite(.enabled(if: getuid() == 0, "mounting needs root"), .timeLimit(.minutes(2)), .serialized)
struct ConfirmedByOwnerTests {
    /// (Through an overlay the change time moves with the overlay's other confirmation,
    /// `fallocate`, as well, so it shows nothing there.)
    @Test func aSyncOnBtrfsIsConfirmedThroughAChangeOfOwnerToNone() async throws {
        let directory = TemporaryDirectory("confirm-owner")
        guard let disk = LoopDisk(fileSystem: "btrfs", in: directory.path) else { return }
        defer { disk.detach() }
        let (path, fd, bytes) = try disk.syncedFile()
        defer { Glibc.close(fd) }
        var before = stat()
        #expect(fstat(fd, &before) == 0)
        try await Task.sleep(for: .milliseconds(20))
        try Syscall.confirmCommitted(fd, after: "fdatasync")
        var after = stat()
        #expect(fstat(fd, &after) == 0)
        #expect(
            (after.st_ctim.tv_sec, after.st_ctim.tv_nsec) != (before.st_ctim.tv_sec, before.st_ctim.tv_nsec),
            "no change of owner confirmed the sync")
        // Nothing else changed: the owner, the size, the bytes.
        #expect(after.st_uid == before.st_uid && after.st_gid == before.st_gid)
        #expect(after.st_size == 100)
        #expect(fileBytes(path) == bytes)
    }
}

/// A file system of its own for a test: an image in `directory`, attached to a loop device and
/// mounted (ext4 with `errors=remount-ro`, or XFS), detached at the end; with `overlay`, also an
/// overlay whose upper layer is on it, over an empty lower one.
struct LoopDisk {
    let image: String
    let mountPoint: String
    let fileSystem: String
    /// Where the overlay is mounted, if there is one.
    let overlayMountPoint: String?
    private(set) var device: String

    /// Where files go: the overlay, or else the image's file system.
    var files: String { overlayMountPoint ?? mountPoint }

    /// Nil, having said why, where this machine cannot (no loop device, no mkfs, no mount).
    init?(fileSystem: String, in directory: String, overlay: Bool = false) {
        self.fileSystem = fileSystem
        image = directory + "/disk.img"
        mountPoint = directory + "/mnt"
        overlayMountPoint = overlay ? directory + "/overlay" : nil
        device = ""
        let mkfs =
            switch fileSystem {
            case "xfs": ["mkfs.xfs", "-q", "-f", image]
            case "btrfs": ["mkfs.btrfs", "-q", "-f", image]
            default: ["mkfs.ext4", "-q", "-F", image]
            }
        guard FileManager.default.createFile(atPath: image, contents: nil), truncate(image, 320 << 20) == 0,
            (try? FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)) != nil
        else {
            Issue.record("cannot create the image")
            return nil
        }
        guard Self.run(mkfs) != nil else {
            print("FailingFileSystemTests: \(fileSystem) not run: no \(mkfs[0]) (Debian: xfsprogs, btrfs-progs)")
            return nil
        }
        guard let attached = Self.run(["losetup", "-f", "--show", image]) else {
            print("FailingFileSystemTests: not run: no free loop device")
            return nil
        }
        device = attached.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (try? mountDevice(errorsRemountReadOnly: fileSystem == "ext4")) != nil else {
            print("FailingFileSystemTests: not run: mounting \(device) is not permitted here")
            _ = Self.run(["losetup", "-d", device])
            return nil
        }
        guard (try? mountOverlay()) != nil else {
            print("FailingFileSystemTests: not run: no overlay file system here")
            detach()
            return nil
        }
    }

    /// Creates `file` on it (through the overlay, if there is one) holding 100 bytes, synced: its
    /// path, its descriptor (open for reading and writing; the caller closes it) and its bytes.
    func syncedFile() throws -> (path: String, fd: Int32, bytes: [UInt8]) {
        let path = files + "/file"
        let fd = Glibc.open(path, O_RDWR | O_CREAT, 0o644)
        try #require(fd >= 0)
        let bytes = [UInt8](repeating: 7, count: 100)
        try Syscall.pwriteAll(fd, bytes, at: 0)
        try Syscall.fdatasync(fd)
        return (path, fd, bytes)
    }

    /// The file system fails as `event` says.
    func fail(_ event: FailingFileSystemTests.Event) {
        switch event {
        case .ext4Error:
            let name = URL(fileURLWithPath: device).lastPathComponent
            let trigger = Glibc.open("/sys/fs/ext4/\(name)/trigger_fs_error", O_WRONLY)
            #expect(trigger >= 0)
            #expect(Glibc.write(trigger, "FailingFileSystemTests\n", 23) == 23)
            Glibc.close(trigger)
        case .ext4Shutdown, .xfsShutdown:
            // FS_IOC_SHUTDOWN (_IOR('X', 125, __u32)), without flushing the log.
            let fd = Glibc.open(mountPoint, O_RDONLY | O_DIRECTORY)
            var flags: UInt32 = 2
            #expect(withUnsafeMutablePointer(to: &flags) { ioctl(fd, 0x8004_587D, $0) } == 0)
            Glibc.close(fd)
        }
    }

    /// Unmounts and mounts the image again, on a new loop device. Lazily: this OS process keeps a
    /// descriptor of a directory on each file system whose journals it synced in rounds (for
    /// `syncfs`), and the failed file system writes nothing more meanwhile.
    mutating func remount() throws {
        if let overlayMountPoint { _ = Self.run(["umount", "-l", overlayMountPoint]) }
        _ = Self.run(["umount", "-l", mountPoint])
        _ = Self.run(["losetup", "-d", device])
        device = Self.run(["losetup", "-f", "--show", image])?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        try mountDevice(errorsRemountReadOnly: false, again: true)
        try mountOverlay()
    }

    func detach() {
        if let overlayMountPoint, Self.run(["umount", overlayMountPoint]) == nil {
            _ = Self.run(["umount", "-l", overlayMountPoint])
        }
        if Self.run(["umount", mountPoint]) == nil { _ = Self.run(["umount", "-l", mountPoint]) }
        _ = Self.run(["losetup", "-d", device])
    }

    /// `again`: the same file system is still mounted lazily, which XFS refuses unless told to
    /// ignore its UUID.
    private func mountDevice(errorsRemountReadOnly: Bool, again: Bool = false) throws {
        let options =
            errorsRemountReadOnly ? ["-o", "errors=remount-ro"] : again && fileSystem == "xfs" ? ["-o", "nouuid"] : []
        guard Self.run(["mount"] + options + [device, mountPoint]) != nil else {
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    /// Mounts the overlay, if there is one: its upper layer (and the overlay's work directory) on
    /// the image's file system.
    private func mountOverlay() throws {
        guard let overlayMountPoint else { return }
        let lower = overlayMountPoint + "-lower"
        let upper = mountPoint + "/upper"
        let work = mountPoint + "/overlay-work"
        for path in [overlayMountPoint, lower, upper, work] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
        guard Self.run(["mount", "-t", "overlay", "overlay", "-o", options, overlayMountPoint]) != nil else {
            throw CocoaError(.fileWriteNoPermission)
        }
    }

    /// Runs a command found on the PATH (or in /sbin, /usr/sbin); its output, or nil if it failed.
    @discardableResult
    static func run(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"].map { $0 + ":" } ?? "") + "/usr/sbin:/sbin"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
