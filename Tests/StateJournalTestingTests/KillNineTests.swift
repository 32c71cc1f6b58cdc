import Foundation
import StateJournal
import StateJournalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

struct Ledger: JournaledProcess {
    var initialState: [Int] { [] }
    func apply(_ message: Int, to state: inout [Int]) throws { state.append(message) }
}

@Suite struct KillNineTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func aLedgerSurvivesKill9AtARandomInstant(seed: UInt64) async throws {
        let directory = TemporaryJournalDirectory()
        let messages = Array(0..<400)
        await #expect(processExitsWith: .signal(SIGKILL)) { [path = directory.path as String, seed = seed as UInt64] in
            try await KillNine.child(
                ChildSpec(id: "ledger", process: Ledger()), messages: Array(0..<400), directory: path, seed: seed)
        }
        try await KillNine.verify(
            ChildSpec(id: "ledger", process: Ledger()), messages: messages, directory: directory.path)
    }

    @Test func verifyCatchesALostMessage() async throws {
        let directory = TemporaryJournalDirectory()
        // Acknowledgements claim more than the journal holds.
        try Data("0\n1\n2\n".utf8).write(to: URL(fileURLWithPath: directory.path + "/kill-nine-acks"))
        await #expect(throws: ReplayDivergence.self) {
            try await KillNine.verify(
                ChildSpec(id: "ledger", process: Ledger()), messages: [10, 20, 30], directory: directory.path)
        }
    }
}
