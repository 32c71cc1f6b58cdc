import Foundation
import StateJournal
import Testing

@Suite(.timeLimit(.minutes(10))) struct ScaleTests {
    static func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    /// 10,000 dynamic children: idle ones hold no file descriptor, so the
    /// process's descriptors stay bounded by the active ones, not by all.
    @Test func tenThousandDynamicChildrenKeepDescriptorsBounded() async throws {
        let directory = TemporaryDirectory()
        var options = ProcessOptions()
        options.journal.idleTimeout = .milliseconds(20)
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let before = Self.openDescriptors()
            var peak = 0
            for index in 0..<10_000 {
                let room = try await supervisor.child(id: "session-\(index)") {
                    ChildSpec(id: $0, process: Counter(), options: options)
                }
                try await room.send(index)
                if index % 500 == 0 { peak = max(peak, Self.openDescriptors() - before) }
            }
            #expect(await supervisor.childIDs.count == 10_000)
            // Wait for the idle release (a condition, not a timing assertion; the suite's time limit
            // stops the test if it never comes).
            var settled = Self.openDescriptors() - before
            while settled > 16 {
                try await Task.sleep(for: .milliseconds(20))
                settled = Self.openDescriptors() - before
            }
            #expect(settled <= 16, "idle journals hold no descriptor (\(settled) above the baseline)")
            #expect(peak < 2_000, "descriptors grow with active journals, not with all (peak \(peak))")
            // Any of them answers again, reopening its journal on demand.
            let someone = try #require(await supervisor.handle(for: "session-4242", as: Counter.self))
            try await someone.send(1)
            #expect(try await someone.state == 4243)
        }
        #expect(directory.journals.isEmpty)
    }
}
