import StateJournal

/// The first place where the replayed state differed from the live one.
public struct ReplayDivergence: Error, CustomStringConvertible, Sendable {
    /// The sequence number of the last message before the restart.
    public var sequence: UInt64
    /// The index of that message in the sequence sent.
    public var messageIndex: Int
    /// The live state, as `dump` prints it.
    public var live: String
    /// The replayed state, as `dump` prints it.
    public var replayed: String

    /// Lines that differ, `-` live and `+` replayed.
    public var diff: String {
        let a = live.split(separator: "\n", omittingEmptySubsequences: false)
        let b = replayed.split(separator: "\n", omittingEmptySubsequences: false)
        var lines: [String] = []
        for i in 0..<max(a.count, b.count) {
            let left = i < a.count ? String(a[i]) : nil
            let right = i < b.count ? String(b[i]) : nil
            if left != right {
                if let left { lines.append("- " + left) }
                if let right { lines.append("+ " + right) }
            }
        }
        return lines.joined(separator: "\n")
    }

    public var description: String {
        "the replayed state differs from the live state after message \(messageIndex) (sequence \(sequence)):\n\(diff)"
    }
}
