import Foundation
import StateJournalStorage
import Testing

/// Memory stays bounded whatever a journal holds: every command on a file of one 8 MiB frame
/// of 8 M empty messages peaks under 256 MB, measured from the kernel's accounting of the child
/// (`wait4`'s maximum resident set). Before, `export` buffered a whole frame's lines (4.3 GB
/// for 64 M messages).
@Suite(.timeLimit(.minutes(5))) struct MemoryBombTests {
    /// Runs the CLI with its output discarded; its exit status and peak resident memory in KiB.
    static func measure(_ arguments: [String]) -> (status: Int32, peakKiB: Int) {
        let argv: [UnsafeMutablePointer<CChar>?] = ([CLI.binary.path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        guard posix_spawn(&pid, CLI.binary.path, &actions, nil, argv, environ) == 0 else { return (-1, 0) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exit, usage.ru_maxrss)
    }

    @Test func oneFrameOfMillionsOfEmptyMessagesStaysUnder256MB() throws {
        let scratch = Scratch()
        let path = scratch.url.appendingPathComponent("bomb.journal").path
        let count = 8 << 20
        var composer = JournalComposer(
            header: JournalHeader(processID: "bomb", codec: .none, salt: 0xB0B, createdNanoseconds: 0, baseSequence: 1))
        composer.appendRawFrame(type: .messages, messageCount: count, payload: [UInt8](repeating: 0, count: count))
        _ = FileManager.default.createFile(atPath: path, contents: Data(composer.bytes))
        for command in [
            ["export", "--force", "--quiet", "--to", "/dev/null"], ["verify"], ["stats"], ["info"],
            ["tail", "-n", "5"], ["dump", "--limit", "5"],
        ] {
            let (status, peakKiB) = Self.measure(command + [path])
            #expect(status == 0, "\(command): exit \(status)")
            #expect(peakKiB < 256 * 1024, "\(command): peak \(peakKiB / 1024) MB")
            print("memory bomb, \(command[0]): peak \(peakKiB / 1024) MB")
        }
    }
}
