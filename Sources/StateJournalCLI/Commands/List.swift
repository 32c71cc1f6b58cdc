import ArgumentParser
import Foundation
import StateJournalStorage

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Every journal under a directory: process, size, messages, sequence numbers, last write, compression, state.",
        discussion: """
            States: clean, torn-tail, corrupt, clean-stopped, not-a-journal, unsupported, \
            locked (a live writer holds it; checked without taking the lock).

            Examples:
              statejournal list /var/lib/chat
              statejournal list /var/lib/chat --json | jq 'select(.state != "clean")'
            """)

    @Argument(help: "The directory to search (recursively).")
    var directory: String

    @OptionGroup var options: CommonOptions

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw ValidationError("no such directory: \(directory)")
        }
        guard isDirectory.boolValue else {
            throw ValidationError("not a directory: \(directory) (use `statejournal info` for one file)")
        }
    }

    func run() throws {
        let terminal = options.terminal
        let out = Output()
        let files = journalFiles(under: directory)
        let progress = ProgressBar("scanning", terminal: terminal)
        var rows: [[String]] = []
        var worst = Exit.ok
        for (index, file) in files.enumerated() {
            let inspection = JournalInspection.inspect(file)
            let status = exitStatus(of: inspection)
            if Exit.severity(status) > Exit.severity(worst) { worst = status }
            progress.update(Int64(index + 1), of: Int64(files.count))
            if options.json {
                out.line(jsonLine(inspection.jsonObject))
                continue
            }
            let relative =
                file.hasPrefix(directory)
                ? String(file.dropFirst(directory.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")) : file
            rows.append([
                inspection.header?.processID ?? relative, Format.bytes(inspection.fileSize),
                String(inspection.messages),
                inspection.firstSequence.map(String.init) ?? "-", inspection.lastSequence.map(String.init) ?? "-",
                Format.time(inspection.modified), String(format: "%.2f", inspection.compressionRatio),
                inspection.shownState,
            ])
        }
        progress.finish()
        if !options.json {
            let headers = ["PROCESS", "SIZE", "MESSAGES", "FIRST", "LAST", "LAST WRITE", "RATIO", "STATE"]
            var widths = headers.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            out.line(terminal.paint(zip(headers, widths).map { Format.pad($0, $1) }.joined(separator: "  "), .bold))
            for row in rows {
                var cells = row.enumerated().map { i, cell in
                    Format.pad(cell, widths[i], right: (1...4).contains(i) || i == 6)
                }
                let state = row[7]
                let color: Terminal.Color =
                    state == "clean"
                    ? .green
                    : state == "clean-stopped"
                        ? .blue : state.hasPrefix("locked") || state == "torn-tail" ? .yellow : .red
                cells[7] = terminal.paint(cells[7], color)
                out.line(cells.joined(separator: "  "))
            }
            if rows.isEmpty { out.line("no journal under \(directory)") }
        }
        out.flush()
        // Like `verify`: the worst journal listed decides (a locked journal being written is fine).
        terminate(worst)
    }
}
