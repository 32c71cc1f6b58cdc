import Foundation
import StateJournal
import StateJournalTesting
import Synchronization
import Testing

struct Tally: JournaledProcess {
    var initialState: [String: Int] { [:] }
    func apply(_ message: String, to state: inout [String: Int]) throws {
        if message == "bad" { throw CancellationError() }
        state[message, default: 0] += 1
    }
}

/// A process whose apply depends on how often it ran (state outside the message): not replay-safe.
let leakyCounter = Atomic<Int>(0)
struct Leaky: JournaledProcess {
    var initialState: Int { 0 }
    func apply(_ message: Int, to state: inout Int) throws {
        state = state &+ message &* leakyCounter.add(1, ordering: .relaxed).newValue
    }
}

@Suite struct RestartAndCompareTests {
    @Test func aDeterministicProcessReplaysToTheLiveState() async throws {
        let messages = ["a", "b", "a", "bad", "c", "a"]
        try await ReplayCheck.restartAndCompare(ChildSpec(id: "tally", process: Tally()), messages: messages)
        try await ReplayCheck.restartAndCompare(
            ChildSpec(id: "tally", process: Tally()), messages: messages, restarts: .random(count: 3, seed: 7))
    }

    @Test func aDivergenceIsReportedWithADiffAndTheSequenceNumber() async throws {
        do {
            try await ReplayCheck.restartAndCompare(ChildSpec(id: "leaky", process: Leaky()), messages: [1, 2, 3, 4])
            Issue.record("the divergence was not found")
        } catch let divergence as ReplayDivergence {
            #expect(divergence.sequence >= 1)
            #expect(divergence.diff.contains("- ") && divergence.diff.contains("+ "))
            #expect(divergence.description.contains("sequence \(divergence.sequence)"))
        }
    }
}
