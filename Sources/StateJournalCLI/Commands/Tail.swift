import ArgumentParser
import Foundation
import StateJournalEncoding
import StateJournalStorage
@_spi(Bytes) import StateJournalSystem

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
                failTornTail(file, tail)
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
            Thread.sleep(forTimeInterval: 0.2)
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
