import Foundation
import StateJournal
import StateJournalTesting
import Testing

/// The local-file store passes the store conformance suite of the test kit, every check.
@Suite struct FileStoreConformanceTests {
    @Test(arguments: JournalStoreConformance.Check.allCases)
    func theFileStoreKeepsEveryPromise(_ check: JournalStoreConformance.Check) async throws {
        let directory = TemporaryJournalDirectory()
        let suite = JournalStoreConformance(
            makeStore: { FileJournalStore(directory: directory.path + "/\(check)") },
            removeBehindOwner: { store, name in
                try FileManager.default.removeItem(atPath: store.location(of: name))
            },
            failDurableWrites: { _, _ in
                // Every `fdatasync` under this check's directory fails with EIO until restored.
                let faults = FileFaults(under: directory.path + "/\(check)")
                faults.failSyncs(errno: .ioError)
                faults.install()
                return { faults.uninstall() }
            })
        try await suite.run(check)
    }
}
