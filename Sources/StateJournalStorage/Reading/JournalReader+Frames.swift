import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

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
