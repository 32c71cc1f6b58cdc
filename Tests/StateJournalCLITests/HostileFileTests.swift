import Foundation
import Logging
import StateJournalStorage
import StateJournalSystem
import Testing

/// Files that are not regular files, named like journals: every command answers at once with
/// "not a journal" (3), never hangs in `open` on a FIFO nor reads `/dev/zero` forever.
@Suite struct HostileFileTests {
    /// Runs the CLI with a deadline: a hang ends it (exit 137) instead of the test run.
    static func run(_ arguments: [String], seconds: Int = 20) throws -> CLI.Result {
        try CLI.run(arguments, deadline: seconds)
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
                #expect(
                    (result.stdout + result.stderr).contains("not a regular file"),
                    "\(command) \(file): \(result.stdout) \(result.stderr)")
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

    /// Every command, run again and again on a journal that another thread truncates, grows
    /// and replaces meanwhile: never killed by a signal (before: SIGILL in dump, export and
    /// stats on a truncation), never hung (a per-run deadline, reported as a failure), always a
    /// documented exit code.
    @Test func commandsSurviveAJournalChangingUnderThem() async throws {
        let scratch = Scratch()
        // Larger than the reader's window (1 MiB), so reads go back to the file as it changes.
        let path = scratch.url.appendingPathComponent("changing.journal").path
        var options = JournalOptions(idleTimeout: nil)
        options.compression = false
        let writer = try await JournalWriter.open(
            path: path, processID: "changing", options: options,
            logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
        for i in 0..<3000 {
            _ = try await writer.append(Array(#"{"n":\#(i),"text":"\#(String(repeating: "x", count: 900))"}"#.utf8))
        }
        try await writer.close(discard: false)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let spare = scratch.url.appendingPathComponent("spare").path
        let stop = Flag()
        let mutator = Thread {
            var state: UInt64 = 0x5EED
            func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 33
            }
            while !stop.isSet {
                switch next() % 4 {
                case 0: truncate(path, off_t(next() % UInt64(original.count)))
                case 1:
                    if let handle = FileHandle(forWritingAtPath: path) {
                        handle.seekToEndOfFile()
                        handle.write(original.suffix(from: original.count / 2))
                        handle.closeFile()
                    }
                case 2:
                    _ = FileManager.default.createFile(
                        atPath: spare, contents: original.prefix(Int(next() % UInt64(original.count))))
                    rename(spare, path)
                default:
                    _ = FileManager.default.createFile(atPath: spare, contents: original)
                    rename(spare, path)
                }
                usleep(UInt32(next() % 2000))
            }
        }
        mutator.start()
        defer { stop.set() }
        let documented: Set<Int32> = [0, 1, 2, 3, 66]
        for round in 0..<8 {
            for command in [
                ["info"], ["dump"], ["tail", "-n", "5"], ["verify"], ["stats"],
                ["export", "--force", "--quiet", "--to", "/dev/null"],
            ] {
                let result = try Self.run(command + [path], seconds: 30)
                #expect(
                    result.status != 124 && result.status != 137, "\(command) round \(round): hung (killed after 30 s)")
                #expect(
                    documented.contains(result.status),
                    "\(command) round \(round): exit \(result.status) \(result.stderr)")
            }
        }
    }
}

/// A flag one thread sets and another reads.
final class Flag: Sendable {
    private let value = LockedValue(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
