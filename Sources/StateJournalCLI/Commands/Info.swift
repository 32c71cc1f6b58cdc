import ArgumentParser
import Foundation
import StateJournalStorage

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Header fields, format version, codec, frames, chains, snapshot and sizes of one journal.",
        discussion: """
            Examples:
              statejournal info /var/lib/chat/room-42.journal
              statejournal info room-42.journal --json
            """)

    @Argument(help: "The journal file.")
    var file: String

    @OptionGroup var options: CommonOptions

    func run() throws {
        let reader = openReader(file)
        let header = reader.header
        let inspection = JournalInspection.inspect(file)
        if options.json {
            var object = inspection.jsonObject
            object["header"] = [
                "magic": "SJNL", "majorVersion": header.majorVersion, "minorVersion": header.minorVersion,
                "headerLength": header.headerLength, "codec": header.codec.description,
                "salt": String(format: "%016llx", header.salt),
                "created": Format.nanosecondsTime(header.createdNanoseconds), "baseSequence": header.baseSequence,
                "incompatibleFlags": header.incompatibleFlags, "compatibleFlags": header.compatibleFlags,
            ]
            object["rawPayloadBytes"] = inspection.rawPayloadBytes
            object["storedPayloadBytes"] = inspection.storedPayloadBytes
            print(jsonLine(object))
            terminate(exitStatus(of: inspection))
        }
        let t = options.terminal
        func row(_ name: String, _ value: String) { print("\(Format.pad(name, 20))\(value)") }
        print(t.paint(file, .bold))
        row("process", header.processID)
        row("format", "\(header.majorVersion).\(header.minorVersion)")
        row("codec", header.codec.description)
        row("created", Format.nanosecondsTime(header.createdNanoseconds))
        row("salt", String(format: "%016llx", header.salt))
        row("base sequence", String(header.baseSequence))
        row("header", "\(header.headerLength) bytes")
        row("size", "\(Format.bytes(inspection.fileSize)) (\(inspection.fileSize) bytes)")
        row(
            "frames",
            "\(inspection.frames) (\(inspection.messageFrames) message frames, \(inspection.compressedFrames) compressed, \(inspection.digests) state digests, \(inspection.timeMarks) time marks)"
        )
        row("chains", String(inspection.chains))
        row(
            "messages",
            inspection.messages == 0
                ? "0" : "\(inspection.messages) (sequence \(inspection.firstSequence!)…\(inspection.lastSequence!))")
        row(
            "payload",
            "\(Format.bytes(inspection.rawPayloadBytes)) raw, \(Format.bytes(inspection.storedPayloadBytes)) stored, ratio \(String(format: "%.2f", inspection.compressionRatio))"
        )
        if let snapshot = inspection.snapshot {
            row(
                "snapshot",
                "through sequence \(snapshot.sequence), \(Format.bytes(Int64(snapshot.stateBytes))) of state")
        } else {
            row("snapshot", "none")
        }
        if let holder = inspection.lockedBy {
            row(
                "writer",
                holder < 0 ? "owned by a live OS process (its writer is idle)" : "locked by OS process \(holder)")
        }
        row("state", t.verdict(inspection.verdict))
        if let tail = inspection.tornTail {
            row(
                "torn tail", "\(tail.length) bytes at offset \(tail.offset) (sequence \(tail.sequence)): \(tail.reason)"
            )
        }
        if let error = inspection.error {
            row(
                "problem",
                "\(error.message) (offset \(error.offset.map(String.init) ?? "-"), sequence \(error.sequence.map(String.init) ?? "-"))"
            )
        }
        terminate(exitStatus(of: inspection))
    }
}

func exitStatus(of inspection: JournalInspection) -> Int32 {
    switch inspection.verdict {
    case .clean, .cleanStopped: Exit.ok
    case .tornTail: Exit.tornTail
    case .corrupt: Exit.corrupt
    case .notAJournal, .unsupported: Exit.notAJournal
    case .unreadable: Exit.noInput
    }
}
