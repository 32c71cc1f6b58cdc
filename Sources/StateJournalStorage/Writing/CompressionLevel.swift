/// How hard a writer searches for repeats when it compresses a batch.
///
/// Every level writes the same format: LZ4 blocks linked across frames
/// (docs/FORMAT.md, "LZ4 chains"). A reader neither knows nor cares which
/// level wrote a frame, and a journal may hold frames of several levels (a
/// writer reopened with another setting). The level trades the writer's CPU
/// per message, and its memory while active, for bytes on disk; replays of
/// journals written at ``high`` measured as fast as the default's.
///
/// Measured on this project's 150-byte events, one message per frame
/// (`swift run -c release statejournal-storage-bench --only compression`):
/// ``fast`` compresses the payloads 2.74 to 1 in 0.16 µs per message,
/// ``high`` 3.60 to 1 in 0.55 µs; docs/PERFORMANCE.md has the table and what
/// the extra time costs in sends.
public struct CompressionLevel: Sendable, Hashable, CustomStringConvertible {
    /// 0 for LZ4's fast compressor, else the level of its high-compression one (LZ4HC).
    let highCompressionLevel: Int32

    private init(highCompressionLevel: Int32) {
        self.highCompressionLevel = highCompressionLevel
    }

    /// LZ4's fast compressor (`LZ4_compress_fast_continue`, acceleration 1).
    /// The default: the least CPU per message on the writer's path.
    public static let fast = CompressionLevel(highCompressionLevel: 0)

    /// LZ4's high-compression compressor at its lowest level: 7–22% fewer
    /// bytes on disk than ``fast`` on small events (measured), for about 0.4 µs more
    /// CPU per message on the writer's thread and 256 KiB more memory per
    /// active journal (the encoder's state is freed when the journal is idle).
    public static let high = CompressionLevel(highCompressionLevel: 2)

    /// LZ4's high-compression compressor (`LZ4_compress_HC_continue`) at
    /// `level`, clamped to 2...12: higher levels search longer for a few
    /// percent fewer bytes (levels 10–12 are LZ4's optimal parser and several
    /// times slower again).
    public static func high(level: Int) -> CompressionLevel {
        CompressionLevel(highCompressionLevel: Int32(min(max(level, 2), 12)))
    }

    /// The level, as LZ4 numbers it: 0 for ``fast``.
    public var lz4Level: Int { Int(highCompressionLevel) }

    public var description: String {
        highCompressionLevel == 0 ? "fast" : "high(level: \(highCompressionLevel))"
    }
}
