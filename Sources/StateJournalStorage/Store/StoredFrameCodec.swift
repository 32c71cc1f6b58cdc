import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// Version-1 frames for a store that keeps each frame by itself (a database row), not one after
/// another in a file: every frame it makes is self-contained (a compressed one starts its own
/// LZ4 chain), so any frame decodes without the frames before it. The bytes are those a journal
/// file holds — salted frame CRC, payload CRC, LZ4 block — so a journal exported as
/// `JournalHeader.encoded()` followed by its frames in order is a journal file the CLI reads.
///
/// Not thread-safe: one codec per writer or reader.
@_spi(JournalStores)
public final class StoredFrameCodec {
    /// The salt that seeds every frame CRC (the journal's).
    public let salt: UInt64
    private let seed: UInt32
    private let encoder: LZ4ChainEncoder
    private var decoder: LZ4ChainDecoder?
    private var builder = FrameBuilder()
    private var payload: [UInt8] = []

    /// What one frame holds.
    public enum Frame: Sendable {
        /// Messages, the first at `firstSequence`.
        case messages(firstSequence: UInt64, [[UInt8]])
        /// A recorded state digest.
        case stateDigest(StateDigest)
        /// A frame a replay skips (a time mark, a watermark, an optional type this reader does not know).
        case skipped
    }

    /// A codec for the journal whose salt is `salt`, compressing at `compressionLevel` (its frames
    /// read alike at every level).
    public init(salt: UInt64, compressionLevel: CompressionLevel = .fast) {
        self.salt = salt
        self.seed = JournalFormat.frameSeed(salt: salt)
        self.encoder = LZ4ChainEncoder(level: compressionLevel)
        self.encoder.seedsChains = false  // every frame is a chain of its own
    }

    /// One message frame holding `messages`, the first at `firstSequence`: an LZ4 block starting
    /// its own chain when `compress` and it shrinks, the raw payload otherwise.
    public func messagesFrame(_ messages: [[UInt8]], firstSequence: UInt64, compress: Bool) -> [UInt8] {
        payload.removeAll(keepingCapacity: true)
        for message in messages {
            payload.appendVarint(UInt64(message.count))
            payload.append(contentsOf: message)
        }
        builder.reset()
        if compress { encoder.reset() }
        let encoder = compress ? self.encoder : nil
        let seed = self.seed
        payload.withUnsafeBytes { raw in
            builder.appendMessages(
                payload: raw, firstSequence: firstSequence, messageCount: messages.count, encoder: encoder,
                seed: seed)
        }
        return builder.bytes
    }

    /// The frame recording `digest` (type `0x83`), placed after message `digest.sequence`.
    public func stateDigestFrame(_ digest: StateDigest) -> [UInt8] {
        var raw: [UInt8] = []
        raw.appendLE(digest.sequence)
        raw.appendLE(digest.value)
        builder.reset()
        let seed = self.seed
        raw.withUnsafeBytes { raw in
            builder.append(
                type: digest.isCanonical ? .canonicalStateDigest : .stateDigest, flags: [],
                firstSequence: digest.sequence + 1, messageCount: 0, rawLength: 16,
                payloadChecksum: CRC32C.checksum(raw), stored: raw, seed: seed)
        }
        return builder.bytes
    }

    /// The header fields of `frame` once its length and CRC hold (for a store that needs a
    /// frame's sequence numbers without its messages).
    public func header(of frame: [UInt8], location: String) throws(JournalError) -> FrameHeader {
        try Self.withBytes(frame) { raw throws(JournalError) in try checkedHeader(raw, location: location) }
    }

    /// Checks `frame` (its length, salted CRC, flags, payload CRC and message lengths) and
    /// returns what it holds.
    ///
    /// - Throws: ``JournalError`` with ``JournalError/Code/corruptFrame`` naming `location` and
    ///   the sequence number, or ``JournalError/Code/unsupportedFrame`` for a type or flag this
    ///   reader does not know and may not skip.
    public func decode(_ frame: [UInt8], location: String) throws(JournalError) -> Frame {
        var messages: [[UInt8]] = []
        let summary = try decode(frame, location: location) { _, count in
            messages.reserveCapacity(count)
        } message: { _, bytes in
            messages.append(Array(bytes))
        }
        switch summary {
        case .messages(let firstSequence, _): return .messages(firstSequence: firstSequence, messages)
        case .stateDigest(let digest): return .stateDigest(digest)
        case .skipped: return .skipped
        }
    }

    /// What one frame holds, its messages handed out one by one.
    public enum FrameSummary: Sendable {
        /// `count` messages, the first at `firstSequence`.
        case messages(firstSequence: UInt64, count: Int)
        /// A recorded state digest.
        case stateDigest(StateDigest)
        /// A frame a replay skips.
        case skipped
    }

    /// As ``decode(_:location:)``, without an array per frame or per message: a frame of messages
    /// is checked whole first (the payload CRC over all of it), then `start` is called with its
    /// first sequence number and count, then `message` with each message's sequence number and
    /// bytes (valid during the call).
    public func decode(
        _ frame: [UInt8], location: String, start: (_ firstSequence: UInt64, _ count: Int) throws(JournalError) -> Void,
        message: (_ sequence: UInt64, _ bytes: UnsafeRawBufferPointer) throws(JournalError) -> Void
    ) throws(JournalError) -> FrameSummary {
        try Self.withBytes(frame) { raw throws(JournalError) -> FrameSummary in
            let header = try checkedHeader(raw, location: location)
            let stored = UnsafeRawBufferPointer(rebasing: raw[JournalFormat.frameHeaderSize...])
            func corrupt(_ reason: String) -> JournalError {
                JournalError(
                    code: .corruptFrame, message: reason, path: location, sequence: header.firstSequence)
            }
            if !header.type.isKnown || header.type.isMark {
                guard header.type.isSkippable else {
                    throw JournalError(
                        code: .unsupportedFrame,
                        message:
                            "frame type \(header.type.rawValue) is not known to this reader and may not be skipped",
                        path: location, sequence: header.firstSequence)
                }
                return .skipped
            }
            if header.type.isStateDigest {
                guard header.messageCount == 0, header.rawLength == 16, stored.count == 16, header.flags.isEmpty,
                    CRC32C.checksum(stored) == header.payloadChecksum
                else { throw corrupt("a state digest frame must hold 16 raw bytes that match their checksum") }
                return .stateDigest(StateDigest(payload: stored, type: header.type))
            }
            guard header.type == .messages, header.messageCount > 0 else {
                throw corrupt("a stored frame must hold messages or a state digest (type \(header.type.rawValue))")
            }
            let payload: UnsafeRawBufferPointer
            if header.flags.contains(.compressed) {
                guard header.flags.contains(.chainStart), header.rawLength > 0 else {
                    throw corrupt("a stored compressed frame must start its own LZ4 chain")
                }
                let decoder = self.decoder ?? LZ4ChainDecoder()
                self.decoder = decoder
                do {
                    payload = try decoder.decompress(stored, rawLength: header.rawLength, startsChain: true)
                } catch {
                    throw corrupt("the LZ4 block does not decode to \(header.rawLength) bytes")
                }
            } else {
                guard header.flags.isEmpty, header.rawLength == stored.count else {
                    throw corrupt("a raw frame stores \(stored.count) bytes but declares \(header.rawLength)")
                }
                payload = stored
            }
            guard CRC32C.checksum(payload) == header.payloadChecksum else {
                throw corrupt("the decompressed payload fails its checksum")
            }
            // The lengths first, so that nothing is handed out of a frame that does not hold together.
            var offset = 0
            for _ in 0..<header.messageCount {
                guard let length = payload.readVarint(at: &offset), length <= UInt64(payload.count - offset) else {
                    throw corrupt("a message length runs past the payload")
                }
                offset += Int(length)
            }
            guard offset == payload.count else { throw corrupt("the message lengths do not use the whole payload") }
            try start(header.firstSequence, header.messageCount)
            offset = 0
            for index in 0..<header.messageCount {
                let length = Int(payload.readVarint(at: &offset)!)
                try message(
                    header.firstSequence + UInt64(index),
                    UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + length)]))
                offset += length
            }
            return .messages(firstSequence: header.firstSequence, count: header.messageCount)
        }
    }

    private static func withBytes<R>(
        _ frame: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JournalError) -> R
    ) throws(JournalError) -> R {
        let result = frame.withUnsafeBytes { raw in Result { () throws(JournalError) -> R in try body(raw) } }
        return try result.get()
    }

    private func checkedHeader(_ raw: UnsafeRawBufferPointer, location: String) throws(JournalError) -> FrameHeader {
        guard raw.count >= JournalFormat.frameHeaderSize else {
            throw JournalError(
                code: .corruptFrame, message: "a stored frame of \(raw.count) bytes is shorter than a frame header",
                path: location)
        }
        let header = FrameHeader.parse(raw)
        guard header.length == raw.count else {
            throw JournalError(
                code: .corruptFrame,
                message: "a stored frame of \(raw.count) bytes declares \(header.length)", path: location,
                sequence: header.firstSequence)
        }
        guard FrameHeader.computeChecksum(raw, seed: seed) == header.checksum else {
            throw JournalError(
                code: .corruptFrame, message: "the frame fails its checksum (salted with the journal's salt)",
                path: location, sequence: header.firstSequence)
        }
        guard FrameFlags.known.isSuperset(of: header.flags) else {
            throw JournalError(
                code: .unsupportedFrame, message: "frame flags hold bits this reader does not know", path: location,
                sequence: header.firstSequence)
        }
        return header
    }
}
