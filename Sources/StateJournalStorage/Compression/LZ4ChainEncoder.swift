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
/// At ``CompressionLevel/fast`` it runs LZ4's fast compressor, at a higher
/// level LZ4HC's; both write the same blocks, decoded by ``LZ4ChainDecoder``.
///
/// Not thread-safe: a writer uses it from one job at a time.
final class LZ4ChainEncoder {
    /// The compressor's state: exactly one of the two is set.
    private let stream: UnsafeMutablePointer<LZ4_stream_t>?
    private let highStream: UnsafeMutablePointer<LZ4_streamHC_t>?
    private let history: UnsafeMutableRawPointer
    private let historyCapacity: Int
    private var position = 0
    /// True when the next compressed block continues a chain.
    private(set) var chainActive = false
    /// Whether a chain's first block is kept compressed even when it does not shrink (up to
    /// the window's size): a batch of one small message rarely shrinks alone, and stored raw it
    /// would end the chain, so the next batch would start one with no history either, and so on
    /// for as long as batches stay small. Kept, it costs a few bytes (LZ4's literal-run length
    /// and token) and gives every later block of the chain its history. False for a store whose
    /// frames each start their own chain (nothing would use the history).
    var seedsChains = true
    let level: CompressionLevel

    static let window = JournalFormat.windowSize

    init(level: CompressionLevel = .fast, room: Int = 16 << 10) {
        self.level = level
        if level.highCompressionLevel == 0 {
            self.stream = LZ4_createStream()!
            self.highStream = nil
        } else {
            self.stream = nil
            self.highStream = LZ4_createStreamHC()!
        }
        self.historyCapacity = Self.window + room
        self.history = .allocate(byteCount: historyCapacity, alignment: 16)
    }

    deinit {
        if let stream { LZ4_freeStream(stream) }
        if let highStream { LZ4_freeStreamHC(highStream) }
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
    /// the block starts a chain, or nil when the input did not shrink (and is
    /// not the first block of a chain kept by ``seedsChains``): the frame is
    /// then stored raw and the chain is reset.
    func compress(_ input: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer, capacity: Int) -> (
        count: Int, startsChain: Bool
    )? {
        let startsChain = !chainActive
        if startsChain {
            if let stream {
                LZ4_resetStream_fast(stream)
            } else {
                LZ4_resetStreamHC_fast(highStream, level.highCompressionLevel)
            }
            position = 0
        }
        let output = destination.assumingMemoryBound(to: CChar.self)
        let written: Int32
        if input.count <= historyCapacity - Self.window {
            if position + input.count > historyCapacity {
                position = saveDictionary()
            }
            let source = history + position
            if let base = input.baseAddress { source.copyMemory(from: base, byteCount: input.count) }
            written = compressBlock(source, count: input.count, into: output, capacity: capacity)
            position += input.count
        } else {
            written = compressBlock(input.baseAddress!, count: input.count, into: output, capacity: capacity)
            position = saveDictionary()
        }
        let kept = Int(written) < input.count || (startsChain && seedsChains && input.count <= Self.window)
        if written <= 0 || !kept {
            reset()
            return nil
        }
        chainActive = true
        return (Int(written), startsChain)
    }

    /// One block of the chain, by the compressor of the level.
    private func compressBlock(
        _ source: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<CChar>, capacity: Int
    ) -> Int32 {
        let source = source.assumingMemoryBound(to: CChar.self)
        if let stream {
            return LZ4_compress_fast_continue(stream, source, output, Int32(count), Int32(capacity), 1)
        }
        return LZ4_compress_HC_continue(highStream, source, output, Int32(count), Int32(capacity))
    }

    /// Moves the last 64 KiB of history to the front of the buffer; returns their length.
    private func saveDictionary() -> Int {
        let buffer = history.assumingMemoryBound(to: CChar.self)
        if let stream {
            return Int(LZ4_saveDict(stream, buffer, Int32(Self.window)))
        }
        return Int(LZ4_saveDictHC(highStream, buffer, Int32(Self.window)))
    }
}
