import Metrics
import MetricsTestKit
import StateJournal
import Testing

/// Bootstrapped once for the test process; only supervisors created after it record here.
let testMetrics: TestMetrics = {
    let metrics = TestMetrics()
    MetricsSystem.bootstrap(metrics)
    return metrics
}()

@Suite struct MetricsTests {
    @Test func appendsRejectionsRestartsAndReplaysAreCounted() async throws {
        let metrics = testMetrics
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, name: "metrics-test", logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(ChildSpec(id: "m", process: ChatRoom(), options: fastOptions()))
            for i in 0..<3 { try await room.send(.post("\(i)")) }
            await #expect(throws: ProcessError.self) { try await room.send(.poison) }
            #expect(try await room.state.posts.count == 3)  // after the restart
            let dimensions = [("supervisor", "metrics-test")]
            #expect(metrics.counterTotal(label: "statejournal_appends_total", dimensions: dimensions) == 3)
            #expect(metrics.counterTotal(label: "statejournal_rejected_messages_total", dimensions: dimensions) == 1)
            #expect(metrics.counterTotal(label: "statejournal_restarts_total", dimensions: dimensions) == 1)
            #expect(metrics.counterTotal(label: "statejournal_replayed_messages_total", dimensions: dimensions) == 3)
            #expect(metrics.counterTotal(label: "statejournal_appended_bytes_total", dimensions: dimensions) > 0)
        }
    }
}
