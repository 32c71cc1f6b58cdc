import Foundation
import Testing

/// Every public type of the three libraries is curated in its module's DocC catalog, so a
/// reader of the documentation finds it under a topic.
@Suite struct DocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(arguments: ["StateJournalStorage", "StateJournalEncoding", "StateJournal", "StateJournalTesting"])
    func everyPublicTypeIsInTheCatalog(module: String) throws {
        let sources = Self.root.appendingPathComponent("Sources/\(module)")
        var types: Set<String> = []
        var catalog = ""
        let declaration = try Regex(
            #"^public (?:final class|class|struct|enum|indirect enum|actor|protocol) ([A-Za-z0-9_]+)"#)
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)! {
            guard file.pathExtension == "swift" || file.pathExtension == "md" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            if file.pathExtension == "swift" {
                for line in text.split(separator: "\n") {
                    if let match = try declaration.firstMatch(in: String(line)), let name = match.output[1].substring {
                        types.insert(String(name))
                    }
                }
            } else if file.pathExtension == "md" && file.path.contains(".docc") {
                catalog += text
            }
        }
        #expect(!types.isEmpty)
        let missing = types.filter { !catalog.contains("``\($0)``") }.sorted()
        #expect(missing.isEmpty, "public types of \(module) not curated in its DocC catalog: \(missing)")
    }
}
