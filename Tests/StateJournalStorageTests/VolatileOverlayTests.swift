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
        guard let layers = OverlayLayers(in: directory.path) else { return }
        defer { layers.unmountAll() }
        guard let plain = layers.mount("plain") else {
            print("VolatileOverlayTests: not run: no overlay file system here")
            return
        }
        guard let volatile = layers.mount("volatile", options: ",volatile") else {
            print("VolatileOverlayTests: not run: this kernel's overlay has no volatile mounts")
            return
        }

        // The mount table, read as the kernel wrote it.
        #expect(MountTable.isVolatileOverlay(device: try Syscall.status(ofPath: volatile).device))
        #expect(!MountTable.isVolatileOverlay(device: try Syscall.status(ofPath: plain).device))
        #expect(!MountTable.isVolatileOverlay(device: try Syscall.status(ofPath: layers.path).device))

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

/// Overlays for a test (root only), their layers on a tmpfs of their own in `directory`: each
/// one an empty lower layer and an upper one, as a container's writable layer.
final class OverlayLayers: @unchecked Sendable {
    // Safe: `mounted` is only touched by the test that owns this value, one call at a time.
    let path: String
    private let directory: String
    private var mounted: [String] = []

    /// Nil, having said why, where mounting is not permitted.
    init?(in directory: String) {
        self.directory = directory
        path = directory + "/layers"
        guard (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil,
            LoopDisk.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", path]) != nil
        else {
            print("overlay tests not run: mounting is not permitted here")
            return nil
        }
    }

    /// Mounts an overlay at `directory/name` (with more mount `options`, such as ",volatile");
    /// its path, or nil if it could not be mounted.
    func mount(_ name: String, options extra: String = "") -> String? {
        let mountPoint = directory + "/" + name
        let lower = "\(path)/\(name)-lower"
        let upper = "\(path)/\(name)-upper"
        let work = "\(path)/\(name)-work"
        for directory in [mountPoint, lower, upper, work] {
            let made = try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            guard made != nil else { return nil }
        }
        let options = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)" + extra
        guard LoopDisk.run(["mount", "-t", "overlay", "overlay", "-o", options, mountPoint]) != nil else { return nil }
        mounted.append(mountPoint)
        return mountPoint
    }

    func unmountAll() {
        for mountPoint in mounted.reversed() { LoopDisk.run(["umount", "-l", mountPoint]) }
        mounted = []
        LoopDisk.run(["umount", "-l", path])
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
