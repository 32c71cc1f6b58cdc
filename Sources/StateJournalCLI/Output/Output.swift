import StateJournalSystem

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
        do throws(SystemCallError) {
            try buffer.withUnsafeBytes { raw in
                Result { () throws(SystemCallError) in try Syscall.writeAll(Syscall.standardOutput, raw) }
            }.get()
        } catch {
            Syscall.exit(0)  // the reader went away (a pipe into head): stop quietly
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}
