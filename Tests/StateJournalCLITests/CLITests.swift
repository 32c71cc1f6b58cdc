import Foundation
import Logging
import StateJournalEncoding
import StateJournalStorage
import StateJournalTesting
import Testing

/// Runs the built `statejournal` binary, as a user would.
struct CLI {
    static let packageRoot = BuiltProducts.packageRoot(of: #filePath)
    static let binary = BuiltProducts.url(of: "statejournal", packageRoot: packageRoot)

    static let fixtures = packageRoot.appendingPathComponent("fixtures/v1")
    static let expected = packageRoot.appendingPathComponent("Tests/StateJournalCLITests/Expected")

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the CLI; with `deadline`, under `timeout -s KILL` (exit 137 means it hung that long).
    static func run(_ arguments: [String], in directory: URL = fixtures, deadline seconds: Int? = nil) throws -> Result
    {
        let process = Process()
        if let seconds {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["-s", "KILL", "\(seconds)", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

final class Scratch {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sj-cli-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func copy(_ fixture: String) throws -> String {
        let target = url.appendingPathComponent(fixture)
        try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent(fixture), to: target)
        return target.path
    }
}

@Suite struct CLITests {
    /// Commands whose output on the committed fixtures is compared with committed expected files.
    static let golden: [(String, [String])] = [
        ("info-plain", ["info", "plain.journal"]),
        ("info-snapshot", ["info", "snapshot.journal"]),
        ("dump-plain", ["dump", "plain.journal"]),
        ("dump-chains-json", ["dump", "chains.journal", "--format", "json"]),
        ("dump-range", ["dump", "plain.journal", "--from", "5", "--to", "8"]),
        ("dump-hex-limit", ["dump", "uncompressed.journal", "--format", "hex", "--limit", "3"]),
        ("verify-all", ["verify", "."]),
        ("tail", ["tail", "plain.journal", "-n", "3"]),
        ("stats-plain", ["stats", "plain.journal"]),
    ]

    @Test(arguments: golden.map(\.0))
    func outputMatchesTheExpectedFile(name: String) throws {
        let arguments = Self.golden.first { $0.0 == name }!.1
        let result = try CLI.run(arguments)
        let expectedURL = CLI.expected.appendingPathComponent(name + ".txt")
        if ProcessInfo.processInfo.environment["STATEJOURNAL_WRITE_EXPECTED"] == "1" {
            try Data(result.stdout.utf8).write(to: expectedURL)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(result.stdout == expected, "statejournal \(arguments.joined(separator: " "))")
    }

    @Test func exitCodesOfVerify() throws {
        #expect(try CLI.run(["verify", "plain.journal", "snapshot.journal"]).status == 0)
        #expect(try CLI.run(["verify", "torn-tail.journal"]).status == 1)
        let scratch = Scratch()
        let corrupt = try scratch.copy("plain.journal")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: corrupt))
        bytes[200] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        let damaged = try CLI.run(["verify", corrupt])
        #expect(damaged.status == 2)
        #expect(damaged.stdout.contains("offset") && damaged.stdout.contains("sequence"))
        let png = scratch.url.appendingPathComponent("photo.journal")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 7, count: 64)).write(to: png)
        #expect(try CLI.run(["verify", png.path]).status == 3)
        var future = try Data(contentsOf: CLI.fixtures.appendingPathComponent("plain.journal"))
        future[8] = 9
        let futurePath = scratch.url.appendingPathComponent("future.journal")
        try future.write(to: futurePath)
        let newer = try CLI.run(["verify", futurePath.path])
        #expect(newer.status == 3)
        #expect(newer.stdout.contains("version"))
        // The worst file decides.
        #expect(try CLI.run(["verify", "plain.journal", "torn-tail.journal", corrupt]).status == 2)
        #expect(try CLI.run(["verify"]).status == 64)
        #expect(try CLI.run(["verify", "/no/such/journal"]).status == 66)
    }

    /// Writes a journal holding `messages`, its header marked compact or not.
    static func journal(_ path: String, compact: Bool, _ messages: [[UInt8]]) async throws {
        var options = JournalOptions()
        options.compactMessages = compact
        let writer = try await JournalWriter.open(
            path: path, processID: "p", options: options,
            logger: Logger(label: "cli-test") { _ in SwiftLogNoOpLogHandler() })
        for message in messages { _ = try await writer.append(message) }
        try await writer.close(discard: false)
    }

    /// `verify` and `stats` check that a runtime journal's messages are compact values (exit 2,
    /// naming the sequence number); `dump` says why it shows hex.
    @Test func verifyAndStatsCheckThatMessagesAreCompactValues() async throws {
        let scratch = Scratch()
        let good = try CompactEncoder().encode(["sku": 1])
        // A torn compact object: its entry's value is missing.
        let torn: [UInt8] = [0x0B, 0x02, 0x61]
        let compact = scratch.url.appendingPathComponent("compact.journal").path
        try await Self.journal(compact, compact: true, [good, torn, good])
        let verified = try CLI.run(["verify", compact])
        #expect(verified.status == 2)
        #expect(
            verified.stdout.contains("1 message not well-formed compact values; first at sequence 2"),
            "\(verified.stdout)")
        let json = try CLI.run(["verify", "--json", compact])
        #expect(json.status == 2 && json.stdout.contains(#""malformed":1"#), "\(json.stdout)")
        let stats = try CLI.run(["stats", compact])
        #expect(stats.status == 2 && stats.stdout.contains("first at sequence 2"), "\(stats.stdout)")
        let dumped = try CLI.run(["dump", compact])
        #expect(
            dumped.stdout.contains(
                "#2 [batch 2] hex (not a well-formed compact value (malformed compact value at byte 3: unexpected end)"),
            "\(dumped.stdout)")

        // The same bytes where the header does not say the messages are compact: bytes of another
        // codec are not judged, but a message that starts with a compact object tag is.
        let other = scratch.url.appendingPathComponent("other.journal").path
        try await Self.journal(other, compact: false, [Array(#"{"a":1}"#.utf8), [0x00, 0x01, 0xFF], good])
        #expect(try CLI.run(["verify", other]).status == 0)
        let withTorn = scratch.url.appendingPathComponent("other-torn.journal").path
        try await Self.journal(withTorn, compact: false, [good, good, torn])
        let tornResult = try CLI.run(["verify", withTorn])
        #expect(tornResult.status == 2 && tornResult.stdout.contains("first at sequence 3"), "\(tornResult.stdout)")

        // A first-encoding message with two complete readings (a 10-byte key or the object's end).
        let ambiguous: [UInt8] = [
            0x09, 0x01, 0x61, 0x09, 0x0A, 0x06, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x08, 0x01, 0x02, 0x81, 0x0A, 0x0A,
        ]
        let legacy = scratch.url.appendingPathComponent("legacy.journal").path
        try await Self.journal(legacy, compact: false, [good, ambiguous])
        let legacyResult = try CLI.run(["verify", legacy])
        #expect(
            legacyResult.status == 2 && legacyResult.stdout.contains("ambiguous first-encoding object"),
            "\(legacyResult.stdout)")
        #expect(try CLI.run(["dump", legacy]).stdout.contains("ambiguous"))

        // The first encoding's journals of fixtures/encoding-v1 are well-formed: 10-byte keys and all.
        let firstEncoding = CLI.packageRoot.appendingPathComponent("fixtures/encoding-v1")
        let old = try CLI.run(["verify", firstEncoding.path])
        #expect(old.status == 0, "\(old.stdout)")
        #expect(
            try CLI.run(["dump", "checkout-1.journal"], in: firstEncoding).stdout.contains(
                #"{"setAddress":{"_0":"1 Infinite Loop"}}"#))
    }

    @Test func clearOneLineErrors() throws {
        let missing = try CLI.run(["info", "missing.journal"])
        #expect(missing.status == 66)
        #expect(missing.stderr == "statejournal: missing.journal: no such file\n")
        let scratch = Scratch()
        let text = scratch.url.appendingPathComponent("notes.journal")
        try Data("hello\n".utf8).write(to: text)
        let notJournal = try CLI.run(["dump", text.path])
        #expect(notJournal.status == 3)
        #expect(
            notJournal.stderr.hasPrefix(
                "statejournal: \(text.path): the file does not start with the journal magic bytes"))
        #expect(!notJournal.stderr.contains("Fatal") && notJournal.stderr.split(separator: "\n").count == 1)
        #expect(try CLI.run(["dump", "plain.journal", "--from", "9", "--to", "2"]).status == 64)
        #expect(try CLI.run(["frobnicate"]).status == 64)
        let help = try CLI.run(["verify", "--help"])
        #expect(help.status == 0 && help.stdout.contains("Exit codes") && help.stdout.contains("Examples"))
    }

    @Test func listCoversAMixedDirectory() throws {
        let scratch = Scratch()
        for fixture in ["plain.journal", "torn-tail.journal", "clean-stopped.journal"] { _ = try scratch.copy(fixture) }
        try Data("not a journal".utf8).write(to: scratch.url.appendingPathComponent("readme.journal"))
        try Data("ignored".utf8).write(to: scratch.url.appendingPathComponent("other.txt"))
        try FileManager.default.createDirectory(
            at: scratch.url.appendingPathComponent("nested"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: CLI.fixtures.appendingPathComponent("chains.journal"),
            to: scratch.url.appendingPathComponent("nested/chains.journal"))
        let result = try CLI.run(["list", scratch.url.path, "--json"])
        #expect(result.status == 3, "the worst file listed decides: readme.journal is not a journal")
        let rows = result.stdout.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let states = Dictionary(
            uniqueKeysWithValues: rows.map {
                (
                    ($0["path"] as! String).components(separatedBy: "/").suffix(2).joined(separator: "/"),
                    $0["state"] as! String
                )
            })
        #expect(states[scratch.url.lastPathComponent + "/plain.journal"] == "clean")
        #expect(states[scratch.url.lastPathComponent + "/torn-tail.journal"] == "torn-tail")
        #expect(states[scratch.url.lastPathComponent + "/clean-stopped.journal"] == "clean-stopped")
        #expect(states[scratch.url.lastPathComponent + "/readme.journal"] == "not-a-journal")
        #expect(states["nested/chains.journal"] == "clean")
        #expect(rows.count == 5)
        let plain = rows.first { ($0["path"] as! String).hasSuffix("/plain.journal") }!
        #expect(plain["messages"] as? Int == 21 && plain["processID"] as? String == "room-1")
        let table = try CLI.run(["list", scratch.url.path])
        #expect(table.stdout.hasPrefix("PROCESS"))
        #expect(try CLI.run(["list", scratch.url.appendingPathComponent("plain.journal").path]).status == 64)
    }

    @Test func aJournalBeingWrittenIsReadWithoutItsLock() async throws {
        let scratch = Scratch()
        let path = scratch.url.appendingPathComponent("live.journal").path
        let writer = try await JournalWriter.open(
            path: path, processID: "live", options: JournalOptions(idleTimeout: nil),
            logger: Logger(label: "cli-test") { _ in SwiftLogNoOpLogHandler() })
        for i in 0..<50 { try await writer.append(Array(#"{"n":\#(i)}"#.utf8)) }
        let list = try CLI.run(["list", scratch.url.path, "--json"])
        #expect(list.stdout.contains("\"lockedBy\":\(getpid())"))
        let dump = try CLI.run(["dump", path, "--format", "json"])
        #expect(dump.status == 0)
        #expect(dump.stdout.split(separator: "\n").count == 50)
        let repair = try CLI.run(["repair", path])
        #expect(repair.status == 75)
        #expect(repair.stderr.contains("live writer"))
        // The writer was not disturbed by any of it.
        #expect(try await writer.append(Array("51".utf8)) == 51)
        try await writer.close(discard: false)
    }

    @Test func tailFollowsAppendsAndEndsWhenTheJournalIsDiscarded() async throws {
        let scratch = Scratch()
        let path = scratch.url.appendingPathComponent("follow.journal").path
        let writer = try await JournalWriter.open(
            path: path, processID: "follow", options: JournalOptions(idleTimeout: nil),
            logger: Logger(label: "cli-test") { _ in SwiftLogNoOpLogHandler() })
        try await writer.append(Array(#"{"n":0}"#.utf8))
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["tail", path, "--follow", "-n", "1"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        var seen = ""
        for _ in 0..<200 where !seen.contains("\n") {
            seen += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        }
        #expect(seen == #"#1 {"n":0}"# + "\n", "the last message first")
        for i in 1...5 { try await writer.append(Array(#"{"n":\#(i)}"#.utf8)) }
        for _ in 0..<200 where !seen.contains(#"#6 {"n":5}"#) {
            let chunk = out.fileHandleForReading.availableData
            seen += String(decoding: chunk, as: UTF8.self)
        }
        #expect(seen.split(separator: "\n").map(String.init) == (0...5).map { #"#\#($0 + 1) {"n":\#($0)}"# })
        try await writer.close(discard: true)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "tail --follow ends when the journal is removed by a clean stop")
    }

    @Test func repairCutsATornTailAndKeepsTheBytes() throws {
        let scratch = Scratch()
        let path = try scratch.copy("torn-tail.journal")
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let dry = try CLI.run(["repair", path, "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would cut 58 bytes at offset 226"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
        let repaired = try CLI.run(["repair", path])
        #expect(repaired.status == 0)
        let backup = try #require(
            repaired.stdout.split(separator: "\n").last.map { String($0.dropFirst("the cut bytes are kept in ".count)) }
        )
        #expect(try Data(contentsOf: URL(fileURLWithPath: backup)) == original[226...])
        #expect(try CLI.run(["verify", path]).status == 0)
        #expect(try CLI.run(["repair", path]).stdout.contains("nothing to repair"))
    }

    @Test func pointInTimeRepairOfDamageInTheMiddle() throws {
        let scratch = Scratch()
        let path = try scratch.copy("plain.journal")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[200] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        let refused = try CLI.run(["repair", path])
        #expect(refused.status == 2 && refused.stderr.contains("--point-in-time"))
        let repaired = try CLI.run(["repair", path, "--point-in-time"])
        #expect(repaired.status == 0)
        #expect(try CLI.run(["verify", path]).status == 0)
    }

    @Test func exportWritesJSONLines() throws {
        let scratch = Scratch()
        let out = scratch.url.appendingPathComponent("plain.jsonl")
        let result = try CLI.run(["export", "plain.journal", "--to", out.path])
        #expect(result.status == 0)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 21)
        for (index, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["sequence"] as? Int == index + 1)
            #expect(object["message"] is [String: Any])
        }
    }
}
