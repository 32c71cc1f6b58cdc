import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// Builds journal bytes in memory with chosen header fields, through the same
/// frame and chain code the writer uses. For deterministic fixtures and tests;
/// not a writer (no file, no lock, no durability).
package struct JournalComposer {
    package private(set) var bytes: [UInt8]
    package let header: JournalHeader
    package private(set) var nextSequence: UInt64
    private let encoder: LZ4ChainEncoder
    private var builder = FrameBuilder()

    package init(header: JournalHeader) {
        self.header = header
        self.bytes = header.encoded()
        self.nextSequence = header.baseSequence
        self.encoder = LZ4ChainEncoder()
    }

    /// Appends one batch as one frame (compressed when the header's codec says so and it shrinks).
    package mutating func append(batch messages: [[UInt8]]) {
        var payload: [UInt8] = []
        for message in messages {
            payload.appendVarint(UInt64(message.count))
            payload.append(contentsOf: message)
        }
        builder.reset()
        let first = nextSequence
        let seed = header.frameSeed
        let encoder = header.codec == .lz4 ? self.encoder : nil
        payload.withUnsafeBytes { raw in
            builder.appendMessages(
                payload: raw, firstSequence: first, messageCount: messages.count, encoder: encoder, seed: seed)
        }
        bytes.append(contentsOf: builder.bytes)
        nextSequence += UInt64(messages.count)
    }

    /// Ends the current LZ4 chain: the next compressed frame starts a new one (as after a reopen).
    package mutating func restartChain() { encoder.reset() }

    /// Appends the clean-stop marker.
    package mutating func appendCleanStop() {
        builder.reset()
        builder.append(
            type: .cleanStop, flags: [], firstSequence: nextSequence, messageCount: 0, rawLength: 0,
            payloadChecksum: 0, stored: UnsafeRawBufferPointer(start: nil, count: 0), seed: header.frameSeed)
        bytes.append(contentsOf: builder.bytes)
    }

    /// Appends a frame of a type and payload of your choosing (for version-rule tests).
    package mutating func appendRawFrame(
        type: FrameType, flags: FrameFlags = [], messageCount: Int = 0, payload: [UInt8] = []
    ) {
        builder.reset()
        payload.withUnsafeBytes { raw in
            builder.append(
                type: type, flags: flags, firstSequence: nextSequence, messageCount: messageCount, rawLength: raw.count,
                payloadChecksum: CRC32C.checksum(raw), stored: raw, seed: header.frameSeed)
        }
        bytes.append(contentsOf: builder.bytes)
    }
}

extension JournalSnapshot {
    /// The snapshot file's bytes, with a chosen creation time (for fixtures).
    package func fileBytes(createdNanoseconds: UInt64) -> [UInt8] { encoded(createdNanoseconds: createdNanoseconds) }
}
