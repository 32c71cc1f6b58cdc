import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// One frame as read, with its messages borrowed from the reader's buffers.
/// Valid only during the call that hands it out.
public struct JournalFrameView {
    /// The frame's byte offset in the file.
    public let offset: Int64
    /// The frame's header.
    public let header: FrameHeader
    let payload: UnsafeRawBufferPointer

    /// For a state digest frame, its digest.
    public var stateDigest: StateDigest? {
        header.type.isStateDigest ? StateDigest(payload: payload, type: header.type) : nil
    }

    /// For a time mark frame, its wall-clock time (nanoseconds since the Unix epoch).
    public var timeMarkNanoseconds: UInt64? {
        header.type == .timeMark ? payload.loadLE(UInt64.self, at: 0) : nil
    }

    /// The decompressed payload's length.
    public var rawLength: Int { header.rawLength }

    /// Calls `body` with each message's sequence number and bytes (borrowed).
    public func forEachMessage(_ body: (UInt64, UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard header.type == .messages else { return }
        var sequence = header.firstSequence
        try JournalReader.forEachMessage(in: payload, count: header.messageCount) { bytes in
            try body(sequence, bytes)
            sequence += 1
        }
    }
}
