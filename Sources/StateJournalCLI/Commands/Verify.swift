import ArgumentParser
import Foundation
import StateJournalStorage

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every frame and checksum of journals; say what is wrong, where.",
        discussion: """
            Messages are checked too: in a journal written by the runtime with its default \
            codec (its header says so) every message must be one well-formed compact value; \
            elsewhere, messages that start with a compact object tag are checked.

            Exit codes: 0 all good; 1 torn tail only (repairable: statejournal repair); \
            2 corruption, or a message that is not a well-formed compact value; 3 not a journal \
            or an unsupported format version; 64 bad usage; 66 a path that cannot be opened. \
            With several files, the worst one decides.

            Examples:
              statejournal verify /var/lib/chat
              statejournal verify room-42.journal room-43.journal --json
            """)

    @Argument(help: "Journal files or directories.")
    var paths: [String]

    @OptionGroup var options: CommonOptions

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one file or directory") }
    }

    func run() throws {
        let terminal = options.terminal
        let out = Output()
        var worst = Exit.ok
        let severity = Exit.severity
        for path in paths {
            let files = journalFiles(under: path)
            if files.isEmpty { out.line("\(path): no journal") }
            for file in files {
                let progress = ProgressBar("verifying \((file as NSString).lastPathComponent)", terminal: terminal)
                var check = MessageCheck()
                let inspection = JournalInspection.inspect(
                    file,
                    visit: { frame in
                        guard frame.header.type == .messages else { return }
                        frame.forEachMessage { sequence, bytes in check.check(sequence: sequence, bytes) }
                    }, progress: { progress.update($0, of: $1) })
                progress.finish()
                let code = inspection.exitStatus(with: check)
                if severity(code) > severity(worst) { worst = code }
                if options.json {
                    var object = inspection.jsonObject
                    if inspection.header != nil { object["messageCheck"] = check.jsonObject(for: inspection.header) }
                    out.line(jsonLine(object))
                    continue
                }
                if let summary = check.summary(for: inspection.header) {
                    out.line("\(terminal.paint(Format.pad("corrupt", 8), .red)) \(file): \(summary)")
                }
                switch inspection.verdict {
                case .clean, .cleanStopped:
                    out.line(
                        "\(terminal.paint("ok", .green))       \(file): \(plural(Int(inspection.messages), "message")) in \(plural(inspection.frames, "frame"))"
                            + (inspection.verdict == .cleanStopped ? ", stopped normally" : ""))
                case .tornTail:
                    let tail = inspection.tornTail!
                    out.line(
                        "\(terminal.paint("torn", .yellow))     \(file): torn tail of \(tail.length) bytes at offset \(tail.offset), sequence \(tail.sequence): \(tail.reason); \(inspection.messages) messages before it are good (repairable)"
                    )
                default:
                    let error = inspection.error
                    let place = [error?.offset.map { "offset \($0)" }, error?.sequence.map { "sequence \($0)" }]
                        .compactMap { $0 }.joined(separator: ", ")
                    let label =
                        inspection.verdict == .corrupt
                        ? "corrupt" : inspection.verdict == .unreadable ? "error" : "invalid"
                    out.line(
                        "\(terminal.paint(Format.pad(label, 8), .red)) \(file): \(error?.message ?? inspection.verdict.rawValue)"
                            + (place.isEmpty ? "" : " (\(place))"))
                }
            }
        }
        out.flush()
        terminate(worst)
    }
}
