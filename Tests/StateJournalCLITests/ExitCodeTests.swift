import Foundation
import Testing

/// One exit-code table that every command follows (README, "Exit codes"), checked command by
/// command. Before: ELOOP gave 2 instead of 66, `dump` and `tail` gave 0 on a torn tail, `list`
/// gave 0 over corrupt journals, `stats DIR` gave 3 instead of 64.
@Suite struct ExitCodeTests {
    static let fileCommands: [[String]] = [
        ["info"], ["dump"], ["tail"], ["verify"], ["stats"], ["export", "--force", "--to", "/dev/null"],
    ]

    @Test(arguments: [
        ("plain.journal", Int32(0)), ("torn-tail.journal", 1), ("corrupt-middle.journal", 2),
        ("wrong-magic.journal", 3),
        ("no-such.journal", 66),
    ])
    func everyCommandGivesTheTableCode(fixture: String, expected: Int32) throws {
        for command in Self.fileCommands {
            let result = try HostileFileTests.run(command + [CLI.fixtures.appendingPathComponent(fixture).path])
            #expect(result.status == expected, "\(command) \(fixture): \(result.status) \(result.stderr)")
        }
        guard fixture != "no-such.journal" else { return }
        let scratch = Scratch()
        _ = try scratch.copy(fixture)
        let list = try HostileFileTests.run(["list", scratch.url.path])
        #expect(list.status == expected, "list over \(fixture): \(list.status)")
        let verify = try HostileFileTests.run(["verify", scratch.url.path])
        #expect(verify.status == expected, "verify DIR over \(fixture): \(verify.status)")
    }

    @Test func aFileThatCannotBeOpenedIs66AndADirectoryForOneFileIsUsage() throws {
        let scratch = Scratch()
        let loop = scratch.url.appendingPathComponent("loop.journal").path
        #expect(symlink(loop, loop) == 0)  // ELOOP
        for command in Self.fileCommands {
            let result = try HostileFileTests.run(command + [loop])
            #expect(result.status == 66, "\(command) on a symlink loop: \(result.status) \(result.stderr)")
        }
        #expect(try HostileFileTests.run(["stats", scratch.url.path]).status == 64)
        #expect(try HostileFileTests.run(["list", scratch.url.appendingPathComponent("missing").path]).status == 64)
    }

    /// An export whose output cannot be written (a full disk: `/dev/full`) exits 74 with the
    /// failing call, not 1 (a torn tail's code). Before: exit 1, and `fsync`'s result ignored.
    @Test func anExportThatCannotBeWrittenIs74() throws {
        let plain = CLI.fixtures.appendingPathComponent("plain.journal").path
        let result = try HostileFileTests.run(["export", plain, "--to", "/dev/full", "--force", "--quiet"])
        #expect(result.status == 74, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("write of /dev/full failed"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: "/dev/full"))
    }
}
