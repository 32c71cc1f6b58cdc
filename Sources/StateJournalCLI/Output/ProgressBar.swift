import Foundation

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
