import Foundation
import StateJournalTesting
import Testing

/// The bounded crash campaign: kill -9 trials of real child OS processes.
@Suite struct CampaignTests {
    static let binary = BuiltProducts.url(
        of: "statejournal-crash-campaign", packageRoot: BuiltProducts.packageRoot(of: #filePath))

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func boundedCampaignFindsNothing() throws {
        let (status, output) = try run(["--trials", "200", "--seed", "20261121"])
        #expect(
            output.contains("trials 200, acknowledged lost 0, wrong states 0, duplicates 0, recovery errors 0"),
            "\(output)")
        #expect(status == 0)
    }

    @Test func theCampaignCanFail() throws {
        // Damaged journals after the kill must be reported, with the seed to reproduce.
        let (status, output) = try run(["--trials", "6", "--seed", "7", "--sabotage"])
        #expect(status == 1)
        #expect(output.contains("reproduce with"))
        #expect(!output.contains("acknowledged lost 0, wrong states 0, duplicates 0, recovery errors 0"))
    }
}
