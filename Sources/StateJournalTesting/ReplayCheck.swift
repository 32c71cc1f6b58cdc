import Foundation
import Logging
public import StateJournal
import StateJournalSystem

/// Replay-correctness checks for your own processes.
public enum ReplayCheck {
    /// Sends `messages` to a fresh process (from `spec`, in a temporary
    /// directory), restarts it from its journal at `restarts` — as after a
    /// crash — and checks after each restart that the replayed state equals
    /// the live one. Throws ``ReplayDivergence`` with a readable diff at the
    /// first difference, and the restart's own error (a `ProcessError` with
    /// code `replayFailed` and the sequence number) as soon as a replay throws:
    /// it never restarts the same failing replay again.
    ///
    /// The live state is the fold of the messages through `apply`, computed
    /// beside the process; messages whose `apply` throws are skipped there as
    /// the process rejects them.
    public static func restartAndCompare<P: JournaledProcess>(
        _ spec: ChildSpec<P>, messages: [P.Message], restarts: RestartPoints = .everyMessage
    ) async throws where P.State: Equatable {
        let directory = TemporaryJournalDirectory("restart-and-compare")
        let supervisor = Supervisor(
            directory: directory.path,
            // Rejected messages crash the process: one restart each, bounded, so a replay that
            // throws after a rejection ends the check instead of restarting forever.
            intensity: RestartIntensity(maxRestarts: messages.count + 1, within: .seconds(3600)),
            logger: Logger(label: "statejournal.testing") { _ in SwiftLogNoOpLogHandler() })
        // Supervised while the check runs: a rejected message crashes the process and its
        // supervisor restarts it. Whatever the check throws stops it without grace.
        try await supervisor.run {
            let process = try await supervisor.start(spec)
            let points: Set<Int>
            switch restarts {
            case .everyMessage: points = Set(messages.indices)
            case .after(let indexes): points = Set(indexes)
            case .random(let count, let seed):
                var generator = SplitMix64(seed: seed)
                points = Set((0..<count).map { _ in Int(generator.next() % UInt64(max(messages.count, 1))) })
            }
            var live = spec.process.initialState
            var sequence: UInt64 = 0
            for (index, message) in messages.enumerated() {
                var next = live
                do {
                    try spec.process.apply(message, to: &next)
                    live = next
                    sequence = try await process.send(message)
                } catch {
                    _ = try? await process.state  // the process restarted without the rejected message
                }
                guard points.contains(index) else { continue }
                // Restarted on this task: a replay that throws ends the check with its error.
                try await process.crashAndRestartInPlace()
                let replayed = try await process.state
                if replayed != live {
                    var liveText = ""
                    var replayedText = ""
                    dump(live, to: &liveText)
                    dump(replayed, to: &replayedText)
                    throw ReplayDivergence(
                        sequence: sequence, messageIndex: index, live: liveText, replayed: replayedText)
                }
            }
        }
    }
}
