import Foundation
import Testing

/// The documented output shapes: `--json` everywhere it is documented, a snapshot's state
/// printable, and `export` that does not overwrite silently.
@Suite struct OutputShapeTests {
    @Test func theSnapshotStateIsPrintedAsJSON() throws {
        let result = try CLI.run(["dump", "snapshot.journal", "--snapshot"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["sequence"] as? Int == 10)
        let state = try #require(object["state"] as? [String: Any])
        #expect(state["count"] as? Int == 10 && (state["members"] as? [String]) == ["user-1", "user-2"])
        let none = try CLI.run(["dump", "plain.journal", "--snapshot"])
        #expect(none.status == 0 && none.stdout.contains(#""snapshot":null"#))
    }

    @Test func dumpTakesJSONLikeEveryOtherCommand() throws {
        let json = try CLI.run(["dump", "plain.journal", "--json"])
        let format = try CLI.run(["dump", "plain.journal", "--format", "json"])
        #expect(json.status == 0 && json.stdout == format.stdout)
        for line in json.stdout.split(separator: "\n") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)")
        }
        // One document for info and stats: the whole output parses.
        for command in ["info", "stats"] {
            let result = try CLI.run([command, "plain.journal", "--json"])
            #expect(
                (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) != nil,
                "\(command) --json is not one JSON document")
        }
    }

    @Test func exportRefusesToOverwriteWithoutForce() throws {
        let scratch = Scratch()
        let target = scratch.url.appendingPathComponent("out.jsonl").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: target))
        let refused = try CLI.run(["export", "plain.journal", "--to", target, "--quiet"])
        #expect(refused.status == 64)
        #expect(FileManager.default.contents(atPath: target) == Data("keep me".utf8))
        let forced = try CLI.run(["export", "plain.journal", "--to", target, "--quiet", "--force"])
        #expect(forced.status == 0)
        #expect(
            String(decoding: FileManager.default.contents(atPath: target) ?? Data(), as: UTF8.self).split(
                separator: "\n"
            ).count == 21)
    }
}
