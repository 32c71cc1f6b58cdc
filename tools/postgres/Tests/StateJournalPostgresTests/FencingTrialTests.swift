import Foundation
import Testing

/// Two OS processes ("nodes") share the database: the trials of `statejournal-postgres`, each
/// checked from the outside (what each node printed as acknowledged against what a reader finds
/// in the journal afterwards).
@Suite(.enabled(if: TestDatabase.isAvailable, TestDatabase.skipReason), .serialized)
struct FencingTrialTests {
    /// The tool, built beside the tests.
    static let tool = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/statejournal-postgres").path

    func runTrials(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.tool)
        process.arguments = ["trial", "--url", TestDatabase.url!] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// A node paused with SIGSTOP while another takes its process over, then resumed: it
    /// acknowledges nothing more and is fenced; nothing of its epoch follows the new owner's.
    @Test func aPausedOwnerResumedAfterATakeOverWritesNothing() throws {
        let (status, output) = try runTrials(["--mode", "stop", "--trials", "5", "--seed", "11"])
        #expect(output.contains("trials 5, violations 0"), "\(output)")
        #expect(status == 0)
    }

    /// A node killed with `kill -9` mid-stream, at `.written` and at `.synced`: another takes
    /// over at once and finds every acknowledged message.
    @Test(arguments: ["written", "synced"])
    func aKilledOwnerLosesNothingAcknowledged(_ durability: String) throws {
        let (status, output) = try runTrials(["--mode", "kill", "--trials", "3", "--durability", durability])
        #expect(output.contains("trials 3, violations 0"), "\(output)")
        #expect(status == 0)
    }
}
