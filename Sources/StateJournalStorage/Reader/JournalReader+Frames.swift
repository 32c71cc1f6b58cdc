/// One frame as read, with its messages borrowed from the reader's buffers.
/// Valid only during the call that hands it out.
public struct JournalFrameView {
    /// The frame's byte offset in the file.
    public let offset: Int64
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

extension JournalReader {
    /// Reads the next frame and hands it to `body` without copying its
    /// messages. Returns nil at the end (see ``end``).
    public func readFrame<R>(_ body: (JournalFrameView) throws -> R) throws -> R? {
        guard let (header, offset, payload) = try nextRawFrame() else { return nil }
        return try body(JournalFrameView(offset: offset, header: header, payload: payload))
    }
}

extension JournalReader {
    /// ``forEachMessage(_:)`` for bodies that throw only ``JournalError``.
    func forEachMessageTyped(_ body: (UInt64, UnsafeRawBufferPointer) throws(JournalError) -> Void) throws(JournalError)
    {
        while let (header, _, payload) = try nextRawFrame() {
            var sequence = header.firstSequence
            var at = 0
            for _ in 0..<header.messageCount {
                let length = Int(payload.readVarint(at: &at)!)
                try body(sequence, UnsafeRawBufferPointer(rebasing: payload[at..<(at + length)]))
                at += length
                sequence += 1
            }
        }
    }
}
