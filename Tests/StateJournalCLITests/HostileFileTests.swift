import Foundation
import Testing

/// Files that are not regular files, named like journals: every command answers at once with
/// "not a journal" (3), never hangs in `open` on a FIFO nor reads `/dev/zero` forever.
@Suite struct HostileFileTests {
    /// Runs the CLI under `timeout`: 124 means it hung for `seconds`.
    static func run(_ arguments: [String], seconds: Int = 20) throws -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "\(seconds)", CLI.binary.path] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func aFIFOOrADeviceNamedLikeAJournalIsNotAJournal() throws {
        let scratch = Scratch()
        let fifo = scratch.url.appendingPathComponent("x.journal").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let zero = scratch.url.appendingPathComponent("zero.journal").path
        #expect(symlink("/dev/zero", zero) == 0)
        for file in [fifo, zero] {
            for command in [["info"], ["dump"], ["stats"], ["verify"], ["tail", "-n", "3"], ["export", "--to", "-"]] {
                let result = try Self.run(command + [file])
                #expect(result.status == 3, "\(command) \(file): exit \(result.status) \(result.stderr)")
                #expect((result.stdout + result.stderr).contains("not a regular file"), "\(command) \(file): \(result.stdout) \(result.stderr)")
            }
        }
        // A directory holding them: listed and verified without hanging.
        let list = try Self.run(["list", scratch.url.path])
        #expect(list.status < 128 && list.status != 124, "list: exit \(list.status)")
        let verify = try Self.run(["verify", scratch.url.path])
        #expect(verify.status == 3, "verify DIR: exit \(verify.status) \(verify.stdout)")
    }

    /// `tail -n` with a huge count prints the whole journal (before: "failed to allocate",
    /// an abort); with a small one, exactly the last messages, in order.
    @Test func tailTakesAnyCountAndKeepsTheLastInOrder() throws {
        let file = CLI.fixtures.appendingPathComponent("plain.journal").path
        let all = try Self.run(["dump", file]).stdout.split(separator: "\n").filter { $0.hasPrefix("#") }.count
        let huge = try Self.run(["tail", "-n", "9000000000000000000", file])
        #expect(huge.status == 0, "exit \(huge.status) \(huge.stderr)")
        #expect(huge.stdout.split(separator: "\n").count == all)
        let three = try Self.run(["tail", "-n", "3", file]).stdout.split(separator: "\n")
        #expect(three == Array(huge.stdout.split(separator: "\n").suffix(3)))
    }
}
