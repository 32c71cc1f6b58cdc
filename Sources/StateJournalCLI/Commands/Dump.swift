import ArgumentParser
import Foundation
import StateJournalEncoding
import StateJournalStorage
@_spi(Bytes) import StateJournalSystem

enum DumpFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, hex
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The messages of a journal, with sequence number and batch.",
        discussion: """
            text shows each message as readable JSON when it can be decoded (the compact \
            encoding, JSON text, UTF-8 text), hex otherwise; json prints one object per line \
            for scripts; hex prints the raw bytes.

            --json (or --format json) prints JSON Lines: one object per message, \
            {"sequence": N, "batch": B, "message": …} ("hex" and "whyHex" when not decodable). \
            --snapshot prints the journal's snapshot instead: one JSON object with its sequence \
            number, its size and its state (decoded like a message).

            Examples:
              statejournal dump room-42.journal --limit 20
              statejournal dump room-42.journal --from 1000 --to 1100 --format json | jq .message
              statejournal dump room-42.journal --snapshot | jq .state
            """)

    @Argument(help: "The journal file.")
    var file: String

    @Option(help: "The first sequence number to show.")
    var from: UInt64?

    @Option(help: "The last sequence number to show.")
    var to: UInt64?

    @Option(help: "Show at most this many messages.")
    var limit: Int?

    @Option(help: "text, json or hex.")
    var format: DumpFormat = .text

    @Flag(name: .long, help: "The same as --format json: JSON Lines, one object per message.")
    var json = false

    @Flag(name: .long, help: "Print the snapshot's state (as JSON) instead of the messages.")
    var snapshot = false

    @Flag(name: .long, help: "No colour, even on a terminal.")
    var noColor = false

    func validate() throws {
        if let from, let to, from > to { throw ValidationError("--from \(from) is after --to \(to)") }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func printSnapshot() {
        let path = JournalSnapshot.path(forJournal: file)
        let snapshot: JournalSnapshot?
        do { snapshot = try JournalSnapshot.read(at: path) } catch { fail(error) }
        guard let snapshot else {
            print(#"{"snapshot":null}"#)
            return
        }
        let state = snapshot.bytes.withUnsafeBytes { raw in
            MessageText.json(raw).map { #""state":\#($0)"# }
                ?? #""hex":"\#(snapshot.bytes.withUnsafeBytes { Format.hex($0) })""#
        }
        print(#"{"sequence":\#(snapshot.sequence),"bytes":\#(snapshot.bytes.count),\#(state)}"#)
    }

    func run() throws {
        if snapshot { return printSnapshot() }
        let reader = openReader(file)
        let terminal = Terminal(noColor: noColor)
        let format = json ? .json : self.format
        let out = Output()
        var shown = 0
        var batch = 0
        let limit = self.limit ?? Int.max
        do {
            while shown < limit,
                try reader.readFrame({ (frame: JournalFrameView) -> Bool in
                    guard frame.header.type == .messages else { return true }
                    batch += 1
                    if let to, frame.header.firstSequence > to { return false }
                    if let from, frame.header.lastSequence < from { return true }
                    var more = true
                    frame.forEachMessage { sequence, bytes in
                        guard more, shown < limit else { return }
                        if let from, sequence < from { return }
                        if let to, sequence > to {
                            more = false
                            return
                        }
                        shown += 1
                        switch format {
                        case .text:
                            let body =
                                MessageText.json(bytes) ?? terminal.paint("hex (\(MessageText.whyHex(bytes))):", .dim)
                                + " " + Format.hex(bytes)
                            out.line(
                                "\(terminal.paint("#\(sequence)", .bold)) \(terminal.paint("[batch \(batch)]", .dim)) \(body)"
                            )
                        case .json:
                            let message = MessageText.json(bytes)
                            out.line(
                                #"{"sequence":\#(sequence),"batch":\#(batch),"offset":\#(frame.offset),"#
                                    + (message.map { #""message":\#($0)}"# }
                                        ?? #""hex":"\#(Format.hex(bytes))","whyHex":\#(Format.quote(MessageText.whyHex(bytes)))}"#)
                            )
                        case .hex:
                            out.line("\(sequence) \(Format.hex(bytes))")
                        }
                    }
                    return more
                }) == true
            {}
        } catch let error as JournalError {
            out.flush()
            fail(error)
        }
        out.flush()
        if case .tornTail(let tail)? = reader.end {
            failTornTail(file, tail)
        }
    }
}
