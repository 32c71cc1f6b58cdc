import Logging
import StateJournal
import StateJournalTesting
import Testing

/// Concurrent histories (1–64 senders, refusals, crashes, stops, cancellations, timeouts, the three
/// strategies) checked against the sequential model. A bounded run; the long run is
/// `swift run -c release statejournal-crash-campaign --histories 2000`.
@Suite(.timeLimit(.minutes(10))) struct HistoryTests {
    @Test(arguments: 0..<24 as Range<UInt64>)
    func aConcurrentHistoryMatchesTheSequentialModel(seed: UInt64) async throws {
        let report = try await HistoryCheck.run(seed: 0x4157_0000 + seed)
        #expect(report.violations.isEmpty, "\(report)")
        #expect(report.acknowledged > 0, "\(report)")
    }

    /// The checker finds a broken history: a message journaled behind its sender's back.
    @Test func theCheckerCatchesAJournaledMessageNobodyWasToldAbout() async throws {
        let directory = TemporaryJournalDirectory()
        let supervisor = Supervisor(
            directory: directory.path, logger: .init(label: "t") { _ in SwiftLogNoOpLogHandler() })
        try await supervisor.run {
            var options = ProcessOptions(retention: .persistent)
            options.journal.idleTimeout = nil
            let ledger = try await supervisor.start(
                ChildSpec(id: "ledger-0", process: HistoryCheck.Ledger(), options: options))
            try await ledger.send(.append(1))
            // Sent, but its outcome is not in the history given to the check.
            try await ledger.send(.append(2))
            let violations = await HistoryCheck.checkForTesting(handle: ledger, acknowledged: [(1, .append(1))])
            #expect(violations.contains { $0.contains("journaled but its sender was not told") }, "\(violations)")
        }
    }
}
