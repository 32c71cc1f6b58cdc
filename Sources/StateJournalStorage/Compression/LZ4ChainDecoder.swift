import CLZ4

/// Decodes the frames of a chain, keeping the last 64 KiB of decoded bytes
/// as the dictionary of the next block.
///
/// Output lands in a history buffer (64 KiB window + room) so consecutive
/// blocks are contiguous; larger blocks are decoded into their own buffer
/// and their tail kept. Memory is bounded by the window, the room and the
/// largest frame (itself bounded by the format).
final class LZ4ChainDecoder {
    private let history: UnsafeMutableRawPointer
    private let historyCapacity: Int
    private var position = 0
    private(set) var chainActive = false
    private var large: UnsafeMutableRawPointer?
    private var largeCapacity = 0

    static let window = JournalFormat.windowSize

    init(room: Int = 1 << 20) {
        historyCapacity = Self.window + room
        history = .allocate(byteCount: historyCapacity, alignment: 16)
    }

    deinit {
        history.deallocate()
        large?.deallocate()
    }

    func reset() {
        chainActive = false
        position = 0
    }

    enum Failure: Error {
        case noChain
        case malformed(decoded: Int)
    }

    /// Decodes one compressed block of `rawLength` bytes. The result is valid
    /// until the next call.
    func decompress(
        _ block: UnsafeRawBufferPointer, rawLength: Int, startsChain: Bool
    ) throws(Failure) -> UnsafeRawBufferPointer {
        if startsChain {
            position = 0
        } else if !chainActive {
            throw .noChain
        }
        // A failed block poisons the chain: later blocks of it cannot be trusted.
        chainActive = false
        let dictSize = min(position, Self.window)
        let decoded: Int32
        let output: UnsafeMutableRawPointer
        if rawLength <= historyCapacity - Self.window {
            if position + rawLength > historyCapacity {
                (history).copyMemory(from: history + (position - dictSize), byteCount: dictSize)
                position = dictSize
            }
            output = history + position
            decoded = LZ4_decompress_safe_usingDict(
                block.baseAddress?.assumingMemoryBound(to: CChar.self), output.assumingMemoryBound(to: CChar.self),
                Int32(block.count), Int32(rawLength),
                (history + (position - dictSize)).assumingMemoryBound(to: CChar.self), Int32(dictSize))
            if Int(decoded) == rawLength { position += rawLength }
        } else {
            if largeCapacity < rawLength {
                large?.deallocate()
                large = .allocate(byteCount: rawLength, alignment: 16)
                largeCapacity = rawLength
            }
            output = large!
            decoded = LZ4_decompress_safe_usingDict(
                block.baseAddress?.assumingMemoryBound(to: CChar.self), output.assumingMemoryBound(to: CChar.self),
                Int32(block.count), Int32(rawLength),
                (history + (position - dictSize)).assumingMemoryBound(to: CChar.self), Int32(dictSize))
            if Int(decoded) == rawLength {
                history.copyMemory(from: output + (rawLength - Self.window), byteCount: Self.window)
                position = Self.window
            }
        }
        guard Int(decoded) == rawLength else { throw .malformed(decoded: Int(decoded)) }
        chainActive = true
        return UnsafeRawBufferPointer(start: output, count: rawLength)
    }
}
