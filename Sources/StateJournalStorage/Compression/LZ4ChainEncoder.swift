import CLZ4

/// Compresses the frames of one chain: each block may refer to the previous
/// 64 KiB of earlier blocks, so a frame holding one small message still
/// compresses.
///
/// Inputs are copied into a history buffer (64 KiB window + 16 KiB room), so
/// consecutive blocks are contiguous and LZ4 runs in its fast prefix mode;
/// when the room runs out, the last 64 KiB are moved to the front
/// (`LZ4_saveDict`). Larger inputs are compressed in place and their tail
/// saved the same way.
///
/// Not thread-safe: a writer uses it from one job at a time.
final class LZ4ChainEncoder {
    private let stream: UnsafeMutablePointer<LZ4_stream_t>
    private let history: UnsafeMutableRawPointer
    private let historyCapacity: Int
    private var position = 0
    /// True when the next compressed block continues a chain.
    private(set) var chainActive = false
    let acceleration: Int32

    static let window = JournalFormat.windowSize

    init(acceleration: Int32 = 1, room: Int = 16 << 10) {
        self.stream = LZ4_createStream()!
        self.historyCapacity = Self.window + room
        self.history = .allocate(byteCount: historyCapacity, alignment: 16)
        self.acceleration = acceleration
    }

    deinit {
        LZ4_freeStream(stream)
        history.deallocate()
    }

    /// The largest compressed size of `count` input bytes.
    static func bound(_ count: Int) -> Int { Int(LZ4_compressBound(Int32(count))) }

    /// Starts a new chain: the next block refers to nothing before it.
    func reset() {
        chainActive = false
        position = 0
    }

    /// Compresses `input` as the next block of the chain into `destination`
    /// (at least ``bound(_:)`` bytes). Returns the compressed size and whether
    /// the block starts a chain, or nil when the input did not shrink: the
    /// frame is then stored raw and the chain is reset.
    func compress(_ input: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer, capacity: Int) -> (
        count: Int, startsChain: Bool
    )? {
        let startsChain = !chainActive
        if startsChain {
            LZ4_resetStream_fast(stream)
            position = 0
        }
        let output = destination.assumingMemoryBound(to: CChar.self)
        let written: Int32
        if input.count <= historyCapacity - Self.window {
            if position + input.count > historyCapacity {
                position = Int(LZ4_saveDict(stream, history.assumingMemoryBound(to: CChar.self), Int32(Self.window)))
            }
            let source = history + position
            if let base = input.baseAddress { source.copyMemory(from: base, byteCount: input.count) }
            written = LZ4_compress_fast_continue(
                stream, source.assumingMemoryBound(to: CChar.self), output, Int32(input.count), Int32(capacity),
                acceleration)
            position += input.count
        } else {
            written = LZ4_compress_fast_continue(
                stream, input.baseAddress!.assumingMemoryBound(to: CChar.self), output, Int32(input.count),
                Int32(capacity), acceleration)
            position = Int(LZ4_saveDict(stream, history.assumingMemoryBound(to: CChar.self), Int32(Self.window)))
        }
        if written <= 0 || Int(written) >= input.count {
            reset()
            return nil
        }
        chainActive = true
        return (Int(written), startsChain)
    }

}
