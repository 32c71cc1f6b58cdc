import Foundation
import StateJournalStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A disk that fills up. A snapshot needs a file's worth of space at once, more than the next
/// message: it fails first, and its failure is not the journal's.
@Suite struct FullDiskTests {
    /// With a file-size limit of 64 KiB (`pwrite` fails with `EFBIG` past it, as with `ENOSPC` on
    /// a full disk; in a child OS process, since the limit is the process's): a snapshot of
    /// 100 KiB fails and leaves no temporary file, the journal goes on acknowledging; the append
    /// that then fills the journal fails alone, and cuts what part of it landed, so that the
    /// journal reopens whole (no torn tail to set aside, which would need space) with every
    /// acknowledged message. Before: the failed snapshot failed the writer (every later append
    /// refused) and left its temporary file holding the space.
    @Test func aSnapshotThatDoesNotFitLeavesTheJournalGoingOn() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("full.journal")
        await #expect(processExitsWith: .success) { [path = path as String, folder = directory.path as String] in
            limitFileSize(toBytes: 64 * 1024)
            let writer = try await JournalWriter.open(
                path: path, processID: "full", options: .testing(compression: false), logger: testLogger)
            var acknowledged: UInt64 = 0
            for _ in 0..<10 { acknowledged = try await writer.append([UInt8](repeating: 1, count: 1000)) }
            do {
                var random = SystemRandomNumberGenerator()
                let state = (0..<100 * 1024).map { _ in UInt8.random(in: 0...255, using: &random) }
                try await writer.writeSnapshot(state, through: acknowledged)
                exit(10)
            } catch let error as JournalError {
                guard error.errno == .fileTooLarge else { exit(11) }
            }
            let names = { (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] }
            guard !names().contains(where: { $0.hasSuffix(".tmp") }) else { exit(12) }
            // The journal goes on, until it fills up itself.
            var failure: JournalError?
            for _ in 0..<200 {
                do {
                    acknowledged = try await writer.append([UInt8](repeating: 3, count: 1000))
                } catch {
                    failure = error as? JournalError
                    break
                }
            }
            guard acknowledged > 10 else { exit(13) }
            guard let failure, failure.path == path, failure.errno == .fileTooLarge else { exit(14) }
            await writer.abandon()
            let reopened = try await JournalWriter.open(
                path: path, processID: "full", options: .testing(compression: false), logger: testLogger)
            guard reopened.recovery.nextSequence == acknowledged + 1 else { exit(15) }
            guard !names().contains(where: { $0.contains(".cut-") }) else { exit(16) }
            let reader = try JournalReader(path: path)
            var count: UInt64 = 0
            _ = try reader.forEachMessage { _, _ in count += 1 }
            guard count == acknowledged else { exit(17) }
            try await reopened.close(discard: false)
            exit(0)
        }
    }
}
