import ArgumentParser
import Foundation
import StateJournalStorage

struct CommonOptions: ParsableArguments {
    @Flag(
        name: .long,
        help:
            "Machine-readable output: list and verify print JSON Lines (one object per journal), info and stats one JSON document."
    )
    var json = false

    @Flag(name: .long, help: "No colour, even on a terminal (NO_COLOR does the same).")
    var noColor = false

    var terminal: Terminal { Terminal(noColor: noColor) }
}

/// The journal files under a path: the file itself, or every `*.journal`
/// (and quarantine file) below a directory, sorted.
func journalFiles(under path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
    guard isDirectory.boolValue else { return [path] }
    var found: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: path)
    while let relative = enumerator?.nextObject() as? String {
        let name = (relative as NSString).lastPathComponent
        if name.hasSuffix(".journal") || name.contains(".journal.quarantine-") {
            found.append((path as NSString).appendingPathComponent(relative))
        }
    }
    return found.sorted()
}

func openReader(_ path: String) -> JournalReader {
    do {
        return try JournalReader(path: path)
    } catch {
        fail(error)
    }
}
