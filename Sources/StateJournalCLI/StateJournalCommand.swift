import ArgumentParser
import Foundation
import StateJournalStorage

#if canImport(Glibc)
    import Glibc
#endif

/// Exit codes, documented in `--help` and the README.
enum Exit {
    static let ok: Int32 = 0
    /// A torn tail only: repairable with `statejournal repair`.
    static let tornTail: Int32 = 1
    /// Corruption: damage in the middle, a bad header, a broken snapshot.
    static let corrupt: Int32 = 2
    /// Not a journal, or a format version this tool does not read.
    static let notAJournal: Int32 = 3
    /// Bad usage.
    static let usage: Int32 = 64
    /// A file that cannot be opened (missing, permission denied).
    static let noInput: Int32 = 66
    /// A live writer holds the journal.
    static let locked: Int32 = 75
    /// Writing the output failed (`write`, `fsync`: a full disk, an I/O error).
    static let ioError: Int32 = 74

    /// How bad `code` is, for commands over several files: the worst one decides.
    static func severity(_ code: Int32) -> Int {
        switch code {
        case ok: 0
        case tornTail: 1
        case notAJournal: 2
        case corrupt: 3
        default: 4
        }
    }

    static func code(for error: JournalError) -> Int32 {
        // A file that cannot be opened or looked at (a symlink loop, a read-only file system
        // for `repair`, a name too long): 66, whatever the errno.
        if let call = error.systemCall, ["open", "stat", "fstat", "lstat", "opendir"].contains(call),
            error.code != .locked
        {
            return noInput
        }
        return switch error.code {
        case .notFound, .permissionDenied: noInput
        case .notAJournal, .emptyFile, .truncatedHeader, .unsupportedVersion, .unsupportedFeature, .unsupportedFrame:
            notAJournal
        case .corruptHeader, .corruptFrame, .sequenceGap, .corruptSnapshot: corrupt
        case .locked: locked
        default: corrupt
        }
    }
}

func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// Ends the program with `code`.
func terminate(_ code: Int32) -> Never {
    Glibc.exit(code)
}

/// Prints `error` as one line on standard error and exits with its code.
func fail(_ error: JournalError) -> Never {
    var text = "statejournal: \(error.path ?? "-"): \(error.message)"
    if let offset = error.offset {
        text += " (offset \(offset)" + (error.sequence.map { ", sequence \($0)" } ?? "") + ")"
    }
    FileHandle.standardError.write(Data((text + "\n").utf8))
    terminate(Exit.code(for: error))
}

func failUsage(_ message: String) -> Never {
    FileHandle.standardError.write(Data("statejournal: \(message)\n".utf8))
    terminate(Exit.usage)
}

@main
struct StateJournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statejournal",
        abstract: "Inspect, verify and repair StateJournal journals.",
        discussion: """
            Reading never takes a writer's lock: every command but `repair` works on a journal \
            being written. Exit codes: 0 success; 1 torn tail only (repairable); 2 corruption; \
            3 not a journal or an unsupported format version; 64 bad usage; 66 a file that \
            cannot be opened; 75 a live writer holds the journal (repair).
            """,
        subcommands: [List.self, Info.self, Dump.self, Tail.self, Verify.self, Stats.self, Repair.self, Export.self])
}

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

extension JournalInspection {
    var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "path": path, "state": verdict.rawValue, "size": fileSize, "messages": messages, "frames": frames,
            "chains": chains, "modified": modified, "compressionRatio": (compressionRatio * 100).rounded() / 100,
        ]
        if let header {
            object["processID"] = header.processID
            object["version"] = "\(header.majorVersion).\(header.minorVersion)"
        }
        if let firstSequence { object["firstSequence"] = firstSequence }
        if let lastSequence { object["lastSequence"] = lastSequence }
        if let lockedBy { object["lockedBy"] = Int(lockedBy) }
        if let error {
            object["error"] = error.message
            if let offset = error.offset { object["offset"] = offset }
            if let sequence = error.sequence { object["sequence"] = sequence }
        }
        if let tornTail {
            object["tornTail"] = [
                "offset": tornTail.offset, "bytes": tornTail.length, "sequence": tornTail.sequence,
                "reason": tornTail.reason,
            ]
        }
        if let snapshot { object["snapshot"] = ["sequence": snapshot.sequence, "stateBytes": snapshot.stateBytes] }
        return object
    }

    /// The state shown by `list`: a live writer's lock takes precedence.
    var shownState: String {
        if let lockedBy { return lockedBy < 0 ? "locked (owned, idle)" : "locked (pid \(lockedBy))" }
        return verdict.rawValue
    }
}

func jsonLine(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}

// MARK: - list

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

// MARK: - info

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

// MARK: - dump

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
            FileHandle.standardError.write(
                Data(
                    "statejournal: \(file): torn tail of \(tail.length) bytes at offset \(tail.offset) (sequence \(tail.sequence)); messages before it shown\n"
                        .utf8))
            terminate(Exit.tornTail)
        }
    }
}

// MARK: - tail

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The last messages of a journal; with --follow, new ones as they are appended.",
        discussion: """
            Read-only: never takes the writer's lock. With --follow, a half-written frame is \
            waited for, and a journal removed by a clean stop ends the command.

            Examples:
              statejournal tail room-42.journal -n 20
              statejournal tail room-42.journal --follow
            """)

    @Argument(help: "The journal file.")
    var file: String

    @Option(name: .short, help: "How many of the last messages to show.")
    var n: Int = 10

    @Flag(help: "Keep printing messages as they are appended.")
    var follow = false

    @Flag(name: .long, help: "One JSON object per line.")
    var json = false

    func validate() throws {
        if n < 0 { throw ValidationError("-n must not be negative") }
    }

    func print(_ out: Output, _ sequence: UInt64, _ bytes: UnsafeRawBufferPointer) {
        let body = MessageText.json(bytes)
        if json {
            out.line(
                #"{"sequence":\#(sequence),"#
                    + (body.map { #""message":\#($0)}"# } ?? #""hex":"\#(Format.hex(bytes))"}"#))
        } else {
            out.line("#\(sequence) " + (body ?? "hex:" + Format.hex(bytes)))
        }
    }

    func run() throws {
        var reader = openReader(file)
        let out = Output()
        // The last n messages in a ring: one pass, O(1) per message, memory for min(n, messages).
        var ring: [(UInt64, [UInt8])] = []
        ring.reserveCapacity(min(n, 4096))
        var next = 0
        do {
            _ = try reader.forEachMessage { sequence, bytes in
                guard n > 0 else { return }
                if ring.count < n {
                    ring.append((sequence, Array(bytes)))
                } else {
                    ring[next] = (sequence, Array(bytes))
                    next = (next + 1) % n
                }
            }
        } catch let error as JournalError {
            fail(error)
        }
        var printed: UInt64? = nil
        for index in 0..<ring.count {
            let (sequence, bytes) = ring[(next + index) % ring.count]
            bytes.withUnsafeBytes { print(out, sequence, $0) }
            printed = sequence
        }
        out.flush()
        guard follow else {
            if case .tornTail(let tail)? = reader.end {
                FileHandle.standardError.write(
                    Data(
                        "statejournal: \(file): torn tail of \(tail.length) bytes at offset \(tail.offset) (sequence \(tail.sequence)); messages before it shown\n"
                            .utf8))
                terminate(Exit.tornTail)
            }
            return
        }
        // Every sequence number once, across snapshot rewrites, idle releases and a clean stop:
        // the open descriptor is drained before the path is looked at again (a rewritten or
        // removed journal keeps its bytes for whoever holds it open), and a new file is read
        // from after the last sequence printed.
        if printed == nil, reader.nextSequence > 1 { printed = reader.nextSequence - 1 }
        func drain(_ reader: JournalReader) {
            do {
                _ = try reader.refreshLimit()
                _ = try reader.forEachMessage { sequence, bytes in
                    if let last = printed, sequence <= last { return }
                    if let last = printed, sequence > last + 1 {
                        FileHandle.standardError.write(
                            Data(
                                "statejournal: \(file): sequences \(last + 1)…\(sequence - 1) were folded into a snapshot before they could be read\n"
                                    .utf8))
                    }
                    print(out, sequence, bytes)
                    printed = sequence
                }
            } catch let error as JournalError {
                out.flush()
                fail(error)
            } catch {}
            out.flush()
        }
        var inode = Self.inode(of: file)
        while true {
            usleep(200_000)
            drain(reader)
            if case .cleanStop? = reader.end {
                FileHandle.standardError.write(
                    Data("statejournal: \(file): stopped normally (clean-stop marker)\n".utf8))
                return
            }
            let current = Self.inode(of: file)
            if current == inode { continue }
            drain(reader)  // whatever reached the old file before it was replaced or removed
            guard let current else {
                FileHandle.standardError.write(
                    Data("statejournal: \(file): the journal was removed (a clean stop)\n".utf8))
                return
            }
            FileHandle.standardError.write(
                Data("statejournal: \(file): the journal was rewritten (a snapshot); following the new file\n".utf8))
            reader = openReader(file)
            inode = current
            drain(reader)
        }
    }

    static func inode(of path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int) ?? nil
    }

    init() {}

    init(file: String, n: Int, follow: Bool, json: Bool) {
        self.file = file
        self.n = n
        self.follow = follow
        self.json = json
    }
}

// MARK: - verify

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

// MARK: - stats

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Totals, compression per chain, histograms of batch and message sizes, messages over time.",
        discussion: """
            Examples:
              statejournal stats room-42.journal
              statejournal stats room-42.journal --json
            """)

    @Argument(help: "The journal file.")
    var file: String

    @OptionGroup var options: CommonOptions

    func validate() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError(
                "\(file) is a directory: stats reads one journal (`statejournal verify` and `list` take a directory)")
        }
    }

    static func bucket(_ value: Int) -> Int {
        value <= 1 ? 0 : Int(log2(Double(value)).rounded(.down))
    }

    func run() throws {
        _ = openReader(file)
        let terminal = options.terminal
        var batchHistogram = [Int](repeating: 0, count: 32)
        var messageHistogram = [Int](repeating: 0, count: 32)
        var chainRaw: [Int64] = []
        var chainStored: [Int64] = []
        var rawFrames = (raw: Int64(0), count: 0)
        var positions: [(Int64, Int)] = []
        var perSecond: [Int: Int] = [:]
        var currentSecond: Int?
        var check = MessageCheck()
        let progress = ProgressBar("reading", terminal: terminal)
        let inspection = JournalInspection.inspect(
            file,
            visit: { frame in
                if let mark = frame.timeMarkNanoseconds { currentSecond = Int(mark / 1_000_000_000) }
                guard frame.header.type == .messages else { return }
                if let second = currentSecond { perSecond[second, default: 0] += frame.header.messageCount }
                batchHistogram[Self.bucket(frame.header.messageCount)] += 1
                frame.forEachMessage { sequence, bytes in
                    messageHistogram[Self.bucket(bytes.count)] += 1
                    check.check(sequence: sequence, bytes)
                }
                if frame.header.flags.contains(.compressed) {
                    if frame.header.flags.contains(.chainStart) || chainRaw.isEmpty {
                        chainRaw.append(0)
                        chainStored.append(0)
                    }
                    chainRaw[chainRaw.count - 1] += Int64(frame.header.rawLength)
                    chainStored[chainStored.count - 1] += Int64(frame.header.storedLength)
                } else {
                    rawFrames.raw += Int64(frame.header.rawLength)
                    rawFrames.count += 1
                }
                positions.append((frame.offset, frame.header.messageCount))
                if positions.count > 100_000 {
                    // Keep memory bounded: merge neighbours.
                    positions = stride(from: 0, to: positions.count - 1, by: 2).map {
                        (positions[$0].0, positions[$0].1 + positions[$0 + 1].1)
                    }
                }
            }, progress: { progress.update($0, of: $1) })
        progress.finish()
        if let error = inspection.error, inspection.header == nil { fail(error) }
        let columns = 60
        var spark = [Int](repeating: 0, count: columns)
        let overTime = !perSecond.isEmpty
        let firstSecond = perSecond.keys.min() ?? 0
        let lastSecond = perSecond.keys.max() ?? 0
        if overTime {
            let span = max(1, lastSecond - firstSecond + 1)
            for (second, count) in perSecond {
                spark[min(columns - 1, (second - firstSecond) * columns / span)] += count
            }
        } else {
            for (offset, count) in positions {
                let column = min(
                    columns - 1, Int(Double(offset) / Double(max(inspection.fileSize, 1)) * Double(columns)))
                spark[column] += count
            }
        }
        if options.json {
            print(
                jsonLine(
                    [
                        "messages": inspection.messages, "frames": inspection.messageFrames,
                        "bytes": inspection.fileSize,
                        "messageBytes": inspection.messageBytes, "compressionRatio": inspection.compressionRatio,
                        "chains": zip(chainRaw, chainStored).map {
                            ["raw": $0, "stored": $1, "ratio": Double($0) / Double(max($1, 1))]
                        },
                        "rawFrames": rawFrames.count,
                        "batchSizeHistogram": histogramObject(batchHistogram),
                        "messageSizeHistogram": histogramObject(messageHistogram),
                        overTime ? "messagesOverTime" : "messagesAcrossFile": spark,
                        "messageCheck": check.jsonObject(for: inspection.header),
                    ] as [String: Any]))
            terminate(inspection.exitStatus(with: check))
        }
        print(terminal.paint(file, .bold))
        print(
            "messages      \(inspection.messages) in \(inspection.messageFrames) batches (\(String(format: "%.1f", Double(inspection.messages) / Double(max(inspection.messageFrames, 1)))) per batch)"
        )
        print(
            "message bytes \(Format.bytes(inspection.messageBytes)) (\(inspection.messages > 0 ? inspection.messageBytes / Int64(inspection.messages) : 0) B on average)"
        )
        print(
            "on disk       \(Format.bytes(inspection.fileSize)) (\(String(format: "%.1f", Double(inspection.fileSize) / Double(max(inspection.messages, 1)))) B per message), payload ratio \(String(format: "%.2f", inspection.compressionRatio))"
        )
        print("chains        \(chainRaw.count) compressed, \(rawFrames.count) raw frame(s)")
        let findings = check.findings(for: inspection.header)
        if let summary = check.summary(for: inspection.header) {
            print("well-formed   " + terminal.paint(summary, .red))
        } else if findings.checked > 0 {
            print(
                "well-formed   \(findings.checked == inspection.messages ? "every message" : plural(Int(findings.checked), "message") + " checked"): one compact value each"
            )
        }
        for (index, (raw, stored)) in zip(chainRaw, chainStored).enumerated().prefix(20) {
            print(
                "  chain \(Format.pad(String(index + 1), 4)) \(Format.pad(Format.bytes(raw), 10, right: true)) → \(Format.pad(Format.bytes(stored), 10, right: true))  ratio \(String(format: "%.2f", Double(raw) / Double(max(stored, 1))))"
            )
        }
        if chainRaw.count > 20 { print("  … \(chainRaw.count - 20) more") }
        print("\nmessages per batch")
        printHistogram(batchHistogram, terminal: terminal)
        print("\nmessage size (bytes)")
        printHistogram(messageHistogram, terminal: terminal)
        let ticks = Array("▁▂▃▄▅▆▇█")
        let peak = max(spark.max() ?? 1, 1)
        let line = String(spark.map { $0 == 0 ? " " : ticks[min(ticks.count - 1, $0 * (ticks.count - 1) / peak)] })
        if overTime {
            print("\nmessages over time (\(Format.time(firstSecond)) → \(Format.time(lastSecond)), \(columns) columns)")
        } else {
            print("\nmessages across the file (start → end, \(columns) columns; the journal holds no time marks)")
        }
        print("  \(terminal.paint(line, .blue))")
        terminate(inspection.exitStatus(with: check))
    }

    func histogramObject(_ histogram: [Int]) -> [[String: Int]] {
        histogram.enumerated().filter { $0.element > 0 }.map {
            ["from": $0.offset == 0 ? 0 : 1 << $0.offset, "to": (1 << ($0.offset + 1)) - 1, "count": $0.element]
        }
    }

    func printHistogram(_ histogram: [Int], terminal: Terminal) {
        guard let last = histogram.lastIndex(where: { $0 > 0 }) else {
            print("  (none)")
            return
        }
        let first = histogram.firstIndex(where: { $0 > 0 })!
        let peak = histogram.max()!
        for bucket in first...last {
            let low = bucket == 0 ? 0 : 1 << bucket
            let high = (1 << (bucket + 1)) - 1
            let bar = String(repeating: "█", count: histogram[bucket] == 0 ? 0 : max(1, 40 * histogram[bucket] / peak))
            print(
                "  \(Format.pad("\(low)–\(high)", 16)) \(terminal.paint(Format.pad(bar, 40), .green)) \(histogram[bucket])"
            )
        }
    }
}

// MARK: - repair

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

// MARK: - export

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "All messages as JSON lines: {\"sequence\": N, \"message\": …} (or \"hex\" when not decodable).",
        discussion: """
            Examples:
              statejournal export room-42.journal --to room-42.jsonl
              statejournal export room-42.journal --to - | jq -c .message
            """)

    @Argument(help: "The journal file.")
    var file: String

    @Option(help: "The JSON-lines file to write, or - for standard output.")
    var to: String

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    @Flag(name: .long, help: "Overwrite --to when it exists.")
    var force = false

    func run() throws {
        let reader = openReader(file)
        let fd: Int32
        if to == "-" {
            fd = STDOUT_FILENO
        } else {
            if !force && FileManager.default.fileExists(atPath: to) {
                failUsage("\(to) exists; pass --force to overwrite it")
            }
            fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd < 0 {
                fail(
                    JournalError(
                        code: errno == ENOENT ? .notFound : .permissionDenied,
                        message: "cannot write \(to): \(String(cString: strerror(errno)))", path: to))
            }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        /// Output that could not be written is not left behind as if it were an export: a
        /// regular file this command created is removed; the exit code says the write failed.
        func outputFailed(_ call: String, _ code: Int32) -> Never {
            var removed = ""
            var status = stat()
            if fd != STDOUT_FILENO, fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, unlink(to) == 0 {
                removed = "; the incomplete file was removed"
            }
            FileHandle.standardError.write(
                Data("statejournal: \(call) of \(to) failed: \(String(cString: strerror(code)))\(removed)\n".utf8))
            terminate(Exit.ioError)
        }
        func flush() {
            buffer.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { outputFailed("write", n == 0 ? EIO : errno) }
                    done += n
                }
            }
            buffer.removeAll(keepingCapacity: true)
        }
        let progress = ProgressBar("exporting", terminal: Terminal(noColor: true))
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0
        var count = 0
        do {
            while try reader.readFrame({ (frame: JournalFrameView) -> Void in
                frame.forEachMessage { sequence, bytes in
                    let line: String
                    if let json = MessageText.json(bytes) {
                        line = #"{"sequence":\#(sequence),"message":\#(json)}"#
                    } else {
                        line = #"{"sequence":\#(sequence),"hex":"\#(Format.hex(bytes))"}"#
                    }
                    buffer.append(contentsOf: line.utf8)
                    buffer.append(0x0A)
                    count += 1
                    // Inside the frame too: one frame may hold millions of messages.
                    if buffer.count >= 1 << 20 { flush() }
                }
                if !quiet && count % 65536 == 0 { progress.update(frame.offset, of: size) }
            }) != nil {}
        } catch let error as JournalError {
            flush()
            fail(error)
        }
        flush()
        progress.finish()
        if fd != STDOUT_FILENO {
            // A failed fsync is final: the pages may already be dropped, the export is not kept.
            // (A device or a pipe given as --to has nothing to sync.)
            var status = stat()
            if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, fsync(fd) != 0 {
                outputFailed("fsync", errno)
            }
            if close(fd) != 0 { outputFailed("close", errno) }
            FileHandle.standardError.write(Data("exported \(count) messages to \(to)\n".utf8))
        }
        if case .tornTail(let tail)? = reader.end {
            FileHandle.standardError.write(
                Data(
                    "statejournal: \(file): torn tail at offset \(tail.offset) (sequence \(tail.sequence)) not exported\n"
                        .utf8))
            terminate(Exit.tornTail)
        }
    }
}
