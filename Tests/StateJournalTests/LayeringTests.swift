import Foundation
import Testing

/// The layout the code is held to: one system-call layer, one public type per file.
@Suite struct LayeringTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func sources() -> [(path: String, text: String)] {
        let sources = root.appendingPathComponent("Sources")
        var files: [(String, String)] = []
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        where file.pathExtension == "swift" {
            let relative = String(file.path.dropFirst(sources.path.count + 1))
            files.append((relative, (try? String(contentsOf: file, encoding: .utf8)) ?? ""))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// Only `StateJournalSystem` imports the C library: every other file reaches the system
    /// through it (its retry-on-EINTR helper, typed `Errno`, fault injection).
    @Test func onlyTheSystemLayerImportsTheCLibrary() throws {
        let imports = try Regex(
            #"(?m)^\s*(@_exported |public |package |internal )?import (Glibc|Darwin|Musl|CStateJournalLinux)\b"#)
        let files = Self.sources()
        #expect(files.count > 50)
        let offenders = files.filter { !$0.path.hasPrefix("StateJournalSystem/") && $0.text.contains(imports) }
            .map(\.path)
        #expect(offenders.isEmpty, "files outside StateJournalSystem that import the C library: \(offenders)")
    }

    /// A public type lives in a file named after it (`Type.swift`, or `Type+Facet.swift` for an
    /// extension), one public type per file.
    @Test func everyPublicTypeHasItsOwnFile() throws {
        let declaration = try Regex(
            #"(?m)^public (?:final class|class|struct|enum|indirect enum|actor|protocol) ([A-Za-z0-9_]+)"#)
        var misplaced: [String] = []
        for (path, text) in Self.sources() {
            let file = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            for match in text.matches(of: declaration) {
                let name = String(match.output[1].substring ?? "")
                if name != file { misplaced.append("\(name) in \(path)") }
            }
        }
        #expect(misplaced.isEmpty, "public types not in a file of their own name: \(misplaced)")
    }
}
