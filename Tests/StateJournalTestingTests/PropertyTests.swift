import StateJournal
import StateJournalTesting
import Testing

struct Sum: JournaledProcess {
    var initialState: Int { 0 }
    func apply(_ message: Int, to state: inout Int) throws {
        if message == 13 { throw CancellationError() }  // rejected: must not be journaled
        state = state &+ message
    }
}

@Suite struct PropertyTests {
    /// Any sequence of messages, rejected ones included, replays to the live state at random restart points.
    @Test func anyMessageSequenceReplaysToTheLiveState() async {
        await propertyCheck(count: 25, input: Gen.int(in: -20...20).array(of: 0...30)) { values in
            await #expect(throws: Never.self) {
                try await ReplayCheck.restartAndCompare(
                    ChildSpec(id: "sum", process: Sum()), messages: values,
                    restarts: .random(count: 3, seed: UInt64(values.count)))
            }
        }
    }
}
