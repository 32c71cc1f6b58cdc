import Foundation
import Testing

/// Every public type of the three libraries is curated in its module's DocC catalog, so a
/// reader of the documentation finds it under a topic (types behind `@_spi` are not public
/// documentation: `StoredFrameCodec` is for stores outside the package).
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
                var previous = ""
                for line in text.split(separator: "\n") {
                    // A type behind `@_spi` is not in the public documentation (its symbol graph).
                    if !previous.hasPrefix("@_spi("),
                        let match = try declaration.firstMatch(in: String(line)), let name = match.output[1].substring
                    {
                        types.insert(String(name))
                    }
                    previous = String(line)
                }
            } else if file.pathExtension == "md" && file.path.contains(".docc") {
                catalog += text
            }
        }
        #expect(!types.isEmpty)
        let missing = types.filter { !catalog.contains("``\($0)``") }.sorted()
        #expect(missing.isEmpty, "public types of \(module) not curated in its DocC catalog: \(missing)")
    }

    /// Every public declaration of the libraries has a documentation comment (members that only
    /// satisfy a standard protocol — `description`, `==`, `hash(into:)`, `makeAsyncIterator`,
    /// `next` — excepted).
    @Test func everyPublicDeclarationIsDocumented() throws {
        let declaration = try Regex(
            #"^\s*(@\w+(\([^)]*\))?\s+)*public (?!import)(static |final |mutating |nonisolated |override |indirect )*(func|var|let|init|struct|enum|class|protocol|actor|typealias|case|subscript)\b"#
        )
        let conformance = try Regex(
            #"\b(description|init\(from|encode\(to|hash\(into|static func ==|rawValue|makeAsyncIterator|func next|typealias (Element|Failure)|init\(rawValue)"#
        )
        var undocumented: [String] = []
        for module in ["StateJournalStorage", "StateJournalEncoding", "StateJournal", "StateJournalTesting"] {
            let sources = Self.root.appendingPathComponent("Sources/\(module)")
            for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
            where file.pathExtension == "swift" {
                let lines = try String(contentsOf: file, encoding: .utf8).split(
                    separator: "\n", omittingEmptySubsequences: false
                ).map(String.init)
                for (index, line) in lines.enumerated() where line.contains(declaration) && !line.contains(conformance)
                {
                    var above = index - 1
                    while above >= 0 && lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("@") { above -= 1 }
                    if above < 0 || !lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("///") {
                        undocumented.append("\(module)/\(file.lastPathComponent):\(index + 1)")
                    }
                }
            }
        }
        #expect(undocumented.isEmpty, "public declarations without a documentation comment: \(undocumented)")
    }
}
