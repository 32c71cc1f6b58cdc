import Foundation
import StateJournalStorage

#if canImport(Glibc)
    import Glibc
#endif

/// Where output goes, and whether it may be coloured.
struct Terminal {
    let colorsOn: Bool
    let progressOn: Bool

    init(noColor: Bool) {
        let environment = ProcessInfo.processInfo.environment
        colorsOn =
            !noColor && isatty(STDOUT_FILENO) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
        progressOn = isatty(STDERR_FILENO) == 1
    }

    enum Color: String {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case dim = "2"
        case bold = "1"
    }

    func paint(_ text: String, _ color: Color) -> String {
        colorsOn ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    func verdict(_ verdict: JournalInspection.Verdict) -> String {
        switch verdict {
        case .clean: paint(verdict.rawValue, .green)
        case .cleanStopped: paint(verdict.rawValue, .blue)
        case .tornTail: paint(verdict.rawValue, .yellow)
        default: paint(verdict.rawValue, .red)
        }
    }
}

/// Writes to standard output through a buffer (dumps of millions of lines).
final class Output {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(STDOUT_FILENO, raw.baseAddress! + done, raw.count - done)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    Glibc.exit(0)  // the reader went away (a pipe into head): stop quietly
                }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// A progress bar on standard error, shown only on a terminal and only once
/// the work has taken more than a second.
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private let start = Date()
    private var shown = false

    init(_ label: String, terminal: Terminal) {
        self.label = label
        self.enabled = terminal.progressOn
    }

    func update(_ done: Int64, of total: Int64) {
        guard enabled, total > 0, Date().timeIntervalSince(start) > 1 else { return }
        shown = true
        let width = 30
        let filled = Int(Double(width) * Double(done) / Double(total))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: max(0, width - filled))
        let text = "\r\(label) \(bar) \(Int(100 * Double(done) / Double(total)))%"
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

enum Format {
    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func time(_ seconds: Int) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) + "Z"
    }

    static func nanosecondsTime(_ nanoseconds: UInt64) -> String { time(Int(nanoseconds / 1_000_000_000)) }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let count = text.count
        if count >= width { return text }
        let padding = String(repeating: " ", count: width - count)
        return right ? padding + text : text + padding
    }

    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = ""
        CompactJSON.quote(text, into: &out)
        return out
    }
}

/// A message as readable JSON when it can be decoded, else hex.
enum MessageText {
    /// JSON for the message: its compact encoding rendered, JSON text kept
    /// as it is, other UTF-8 text as a JSON string; nil when none applies.
    static func json(_ bytes: UnsafeRawBufferPointer) -> String? {
        // JSON text first: its first byte is never a compact object or array tag.
        if let first = bytes.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
            JSONCheck.isJSON(bytes), let text = String(validating: bytes, as: UTF8.self)
        {
            return text
        }
        if let rendered = try? CompactJSON.render(bytes) { return rendered }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\t" }) {
            return Format.quote(text)
        }
        return nil
    }

    /// Why ``json(_:)`` found no readable form: what the bytes are not, and for bytes that
    /// start like a compact value, where and why that reading failed.
    static func whyHex(_ bytes: UnsafeRawBufferPointer) -> String {
        guard let first = bytes.first else { return "empty" }
        var compact = "not a compact value"
        do throws(CompactFormatError) { _ = try CompactJSON.render(bytes) } catch {
            // Tags 0x00-0x0B and small integers start compact values; anything else is not one at all.
            if first <= CompactTag.objectStart || first >= CompactTag.smallUnsigned {
                compact = "not a well-formed compact value (\(error))"
            }
        }
        if String(validating: bytes, as: UTF8.self) == nil { return "\(compact), not UTF-8 text" }
        return "\(compact); UTF-8 text with control characters"
    }
}
