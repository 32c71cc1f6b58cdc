import ArgumentParser
import Foundation
import StateJournalEncoding
import StateJournalStorage
@_spi(Bytes) import StateJournalSystem

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
            fd = Syscall.standardOutput
        } else {
            if !force && FileManager.default.fileExists(atPath: to) {
                failUsage("\(to) exists; pass --force to overwrite it")
            }
            do { fd = try Syscall.openForOutput(to, [.writeOnly, .create, .truncate]) } catch {
                fail(
                    JournalError(
                        code: error.errno == .noSuchFileOrDirectory ? .notFound : .permissionDenied,
                        message: "cannot write \(to): \(error.errno)", path: to))
            }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        /// Output that could not be written is not left behind as if it were an export: a
        /// regular file this command created is removed; the exit code says the write failed.
        func isRegularFile() -> Bool { (try? Syscall.fstat(fd))?.isRegularFile == true }
        func outputFailed(_ error: SystemCallError) -> Never {
            var removed = ""
            if fd != Syscall.standardOutput, isRegularFile(), (try? Syscall.unlink(to)) != nil {
                removed = "; the incomplete file was removed"
            }
            FileHandle.standardError.write(
                Data("statejournal: \(error.call) of \(to) failed: \(error.errno)\(removed)\n".utf8))
            terminate(Exit.ioError)
        }
        func flush() {
            do throws(SystemCallError) {
                try buffer.withUnsafeBytes { raw in
                    Result { () throws(SystemCallError) in try Syscall.writeAll(fd, raw) }
                }.get()
            } catch {
                outputFailed(error)
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
        if fd != Syscall.standardOutput {
            // A failed fsync is final: the pages may already be dropped, the export is not kept.
            // (A device or a pipe given as --to has nothing to sync.)
            do throws(SystemCallError) {
                if isRegularFile() { try Syscall.fsync(fd) }
                try Syscall.closeReporting(fd)
            } catch {
                outputFailed(error)
            }
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
