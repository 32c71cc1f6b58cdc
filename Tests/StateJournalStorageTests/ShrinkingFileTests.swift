import Foundation
import Logging
import Testing

@testable import StateJournalStorage

/// A journal cut shorter while it is read (a `repair`, or a writer cutting a torn tail, does
/// exactly that) ends the read as a torn tail or an error, never a trap. Before, every cut point
/// past the header trapped (SIGILL) in the frame checks and in the scan after damage.
@Suite struct ShrinkingFileTests {
    @Test(arguments: [0.3, 0.55, 0.8, 0.97])
    func aJournalCutShorterWhileReadEndsWithoutATrap(fraction: Double) async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/shrink.journal"
        await #expect(processExitsWith: .success) { [path = path as String, fraction = fraction as Double] in
            var options = JournalOptions(idleTimeout: nil)
            options.compression = false
            let writer = try await JournalWriter.open(
                path: path, processID: "shrink", options: options,
                logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
            for i in 0..<3000 { _ = try await writer.append(Array(repeating: UInt8(i & 0xFF), count: 1000 + i % 1000)) }
            try await writer.close(discard: false)
            // The reader learns the size now; the file is cut after (and once more while it scans).
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let reader = try JournalReader(path: path)
            _ = try reader.nextFrame()
            truncate(path, off_t(Double(size) * fraction))
            var frames = 0
            do {
                while try reader.nextFrame() != nil { frames += 1 }
            } catch let error as JournalError {
                // A clear error is fine; a trap is not.
                _ = error
            }
            // The scan after damage, cut again under it.
            truncate(path, off_t(Double(size) * fraction / 2))
            _ = try? reader.findValidFrame(after: Int64(JournalFormat.headerFixedSize))
        }
    }
}
