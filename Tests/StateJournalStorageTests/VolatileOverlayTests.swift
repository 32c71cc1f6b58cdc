import Foundation
import Logging
import StateJournalStorage
import StateJournalSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `.synced` journal on an overlay mounted `volatile` (CRI-O's containers, podman's `--rm`
/// ones), which returns from `fdatasync` without writing anything back: the writer says so in a
/// warning, and only there (root only: it mounts overlays, over a tmpfs).
@Suite(.enabled(if: getuid() == 0, "mounting an overlay needs root"), .serialized)
struct VolatileOverlayTests {
    @Test func aSyncedJournalOnAVolatileOverlayIsWarnedAbout() async throws {
        let directory = TemporaryDirectory("volatile-overlay")
        let layers = directory.path + "/layers"
        try FileManager.default.createDirectory(atPath: layers, withIntermediateDirectories: true)
        guard LoopDisk.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", layers]) != nil else {
            print("VolatileOverlayTests: not run: mounting is not permitted here")
            return
        }
        defer { LoopDisk.run(["umount", "-l", layers]) }
        func overlay(_ name: String, options extra: String) throws -> String? {
            let mountPoint = directory.path + "/" + name
            for path in [mountPoint, "\(layers)/\(name)-lower", "\(layers)/\(name)-upper", "\(layers)/\(name)-work"] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            let options =
                "lowerdir=\(layers)/\(name)-lower,upperdir=\(layers)/\(name)-upper,workdir=\(layers)/\(name)-work"
                + extra
            guard LoopDisk.run(["mount", "-t", "overlay", "overlay", "-o", options, mountPoint]) != nil else {
                return nil
            }
            return mountPoint
        }
        guard let plain = try overlay("plain", options: "") else {
            print("VolatileOverlayTests: not run: no overlay file system here")
            return
        }
        defer { LoopDisk.run(["umount", "-l", plain]) }
        guard let volatile = try overlay("volatile", options: ",volatile") else {
            print("VolatileOverlayTests: not run: this kernel's overlay has no volatile mounts")
            return
        }
        defer { LoopDisk.run(["umount", "-l", volatile]) }

        // The mount table, read as the kernel wrote it.
        #expect(MountTable.isVolatileOverlay(device: try Syscall.status(ofPath: volatile).device))
        #expect(!MountTable.isVolatileOverlay(device: try Syscall.status(ofPath: plain).device))
        #expect(!MountTable.isVolatileOverlay(device: try Syscall.status(ofPath: layers).device))

        var warnings: [String: [String]] = [:]
        for (name, place) in [("plain", plain), ("volatile", volatile)] {
            for (durability, level) in [(Durability.written, "written"), (.synced, "synced")] {
                let log = CapturedLog()
                let writer = try await JournalWriter.open(
                    path: "\(place)/\(level).journal", processID: "p",
                    options: .testing(durability), logger: log.logger)
                _ = try await writer.append([1, 2, 3])
                try await writer.close(discard: false)
                warnings["\(name) \(level)"] = log.warnings
            }
        }
        #expect(warnings["plain written"] == [])
        #expect(warnings["plain synced"] == [])
        #expect(warnings["volatile written"] == [])
        #expect(warnings["volatile synced"] == ["syncs are ignored on this file system"])
    }
}

/// Keeps the messages logged at warning level or above through `logger`.
final class CapturedLog: @unchecked Sendable {
    // Safe: `messages` is read and written with `lock` held.
    private let lock = NSLock()
    private var messages: [String] = []

    var warnings: [String] { lock.withLock { messages } }

    var logger: Logger { Logger(label: "statejournal.tests.captured") { _ in Handler(log: self) } }

    fileprivate func record(_ message: String) { lock.withLock { messages.append(message) } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var logLevel: Logger.Level = .warning
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.record(event.message.description)
        }
    }
}
