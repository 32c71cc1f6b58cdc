import ArgumentParser
import StateJournalStorage

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Cut a torn tail, or with --point-in-time everything from the first damage; the cut bytes are kept in a backup file.",
        discussion: """
            Refuses a journal held by a live writer (exit 75) and damage in the middle without \
            --point-in-time (exit 2). The backup file is named in the output.

            Examples:
              statejournal repair room-42.journal --dry-run
              statejournal repair room-42.journal
              statejournal repair room-42.journal --point-in-time
            """)

    @Argument(help: "The journal file.")
    var file: String

    @Flag(help: "Keep the good prefix before damage in the middle and move the rest aside.")
    var pointInTime = false

    @Flag(help: "Say what would be cut; change nothing.")
    var dryRun = false

    @OptionGroup var options: CommonOptions

    func run() throws {
        _ = openReader(file)
        let report: JournalRepair.Report
        do {
            report = try JournalRepair.repair(file, pointInTime: pointInTime, dryRun: dryRun)
        } catch {
            if error.code == .corruptFrame || error.code == .sequenceGap {
                var hint = error
                hint.message += "; use --point-in-time to keep the good prefix and move the rest aside"
                fail(hint)
            }
            fail(error)
        }
        if options.json {
            var object: [String: Any] = [
                "keptBytes": report.keptBytes, "cutBytes": report.cutBytes, "reason": report.reason, "dryRun": dryRun,
            ]
            if let backup = report.backup { object["backup"] = backup }
            if let sequence = report.sequence { object["firstCutSequence"] = sequence }
            print(jsonLine(object))
            return
        }
        if report.cutBytes == 0 {
            print("\(file): nothing to repair")
        } else if dryRun {
            print(
                "\(file): would cut \(report.cutBytes) bytes at offset \(report.keptBytes) (\(report.reason)); nothing changed"
            )
        } else {
            print("\(file): cut \(report.cutBytes) bytes at offset \(report.keptBytes) (\(report.reason))")
            print("the cut bytes are kept in \(report.backup!)")
        }
    }
}
