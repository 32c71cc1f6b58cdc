import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// Reads a journal frame by frame, in order, in bounded memory.
///
/// Every frame is checked: its CRC (seeded with the file's salt), its type and
/// flags, that its sequence numbers continue the previous frame's, and after
/// decompression the payload CRC and the message lengths. When a frame fails,
/// the reader looks for any valid frame after it: if there is one the damage is
/// in the middle and ``nextFrame()`` throws ``JournalError/Code/corruptFrame``
/// with the offset and sequence number; if there is none the read ends with
/// ``JournalEnd/tornTail(_:)``.
///
/// The reader's calls block on file I/O: use it from your own thread, or
/// through the asynchronous APIs of ``JournalWriter``.
public final class JournalReader {
    /// The file read.
    public let path: String
    /// The journal's header.
    public let header: JournalHeader
    /// The end of the region read (the file's size when opened, unless given).
    public private(set) var limit: Int64
    /// The offset of the next frame.
    public private(set) var offset: Int64
    /// The sequence number the next message will have.
    public private(set) var nextSequence: UInt64
    /// How the read ended; nil until ``nextFrame()`` returned nil.
    public private(set) var end: JournalEnd?
    /// Frames read so far, and how many started an LZ4 chain.
    public private(set) var framesRead = 0
    public private(set) var chainsRead = 0

    /// Set when the journal is opened by a `.written` or `.buffered` writer, whose writes are
    /// never synced and whose other syncs (``JournalWriter/flush()``) each end with a synced
    /// watermark: then damage with valid frames after it, none of which carries a watermark at
    /// or above the damaged sequence, is a torn tail (bytes no sync covered, torn by a power
    /// cut) even when none of those frames carries a watermark at all.
    var writtenWithoutSyncs = false

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let window: FileWindow
    private let decoder = LZ4ChainDecoder()
    private let seed: UInt32

    /// Opens `path` for reading and checks its header. Takes no lock: a live
    /// writer may be appending, and only complete frames are returned.
    public convenience init(path: String) throws(JournalError) {
        let fd: Int32
        do {
            fd = try Syscall.open(path, .readOnly)
        } catch {
            throw JournalError.system(error, path: path, message: Self.openMessage(error, path: path))
        }
        do throws(JournalError) {
            let status: Syscall.FileStatus
            do { status = try Syscall.fstat(fd) } catch { throw JournalError.system(error, path: path) }
            try Self.requireRegularFile(status, path: path)
            try self.init(fd: fd, ownsDescriptor: true, path: path, limit: status.size)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    /// Reads from an open descriptor up to `limit` bytes.
    init(fd: Int32, ownsDescriptor: Bool, path: String, limit: Int64) throws(JournalError) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        self.path = path
        self.limit = limit
        // No larger than the file (a restart of many small journals reads each with a buffer
        // of its size, not 1 MiB of fresh pages), up to 1 MiB.
        self.window = FileWindow(fd: fd, path: path, capacity: Int(min(max(limit, 4096), 1 << 20)))
        let prefixLength = Int(min(limit, Int64(JournalFormat.headerFixedSize + JournalFormat.maxProcessIDLength + 4)))
        var (decoded, needed) = try JournalHeader.decode(try window.bytes(at: 0, count: prefixLength), path: path)
        if decoded == nil, needed > prefixLength, Int64(needed) <= limit {
            // A later minor version's header carries fields this reader skips (up to 4 KiB more
            // than the id): read the length the header declares, checked by `decode`.
            (decoded, needed) = try JournalHeader.decode(try window.bytes(at: 0, count: needed), path: path)
        }
        guard let header = decoded else {
            throw JournalError(
                code: .truncatedHeader,
                message: "the file ends inside the journal header (\(limit) bytes, the header needs \(needed))",
                path: path, offset: limit)
        }
        self.header = header
        self.offset = Int64(header.headerLength)
        self.nextSequence = header.baseSequence
        self.seed = header.frameSeed
    }

    deinit {
        if ownsDescriptor { Syscall.close(fd) }
    }

    /// Checks frames without decompressing their payloads (see ``scanStructure(_:)``).
    private var structureOnly = false

    /// Reads to the end checking every frame's structure — its salted CRC over the stored
    /// bytes, type, flags, lengths and sequence numbers, and the damage rules, exactly as
    /// ``nextFrame()`` does — without decompressing payloads; calls `body` with each message
    /// frame's first sequence number and message count. Recovery uses it so that a start reads
    /// the journal's payloads once, in the replay (which checks them).
    ///
    /// With `checkingPayloads`, every payload is decompressed and checked too (as ``nextFrame()``
    /// does): for point-in-time recovery, which must find a defective payload to cut before it.
    package func scanStructure(
        checkingPayloads: Bool = false, _ body: (_ firstSequence: UInt64, _ count: Int) -> Void
    ) throws(JournalError) {
        structureOnly = !checkingPayloads
        defer { structureOnly = false }
        while let (header, _, _) = try nextRawFrame() {
            if header.type == .messages { body(header.firstSequence, header.messageCount) }
        }
    }

    /// Refuses anything but a regular file: a FIFO would block or read as empty, a device
    /// (`/dev/zero`) would read forever.
    static func requireRegularFile(_ status: Syscall.FileStatus, path: String) throws(JournalError) {
        guard !status.isRegularFile else { return }
        throw JournalError(
            code: .notAJournal,
            message: status.isDirectory
                ? "the path is a directory, not a journal"
                : "the path is \(status.kind), not a regular file: not a journal",
            path: path)
    }

    static func openMessage(_ error: SystemCallError, path: String) -> String {
        switch error.errno {
        case .noSuchFileOrDirectory: "no such file"
        case .permissionDenied, .notPermitted: "permission denied"
        case .isDirectory: "the path is a directory, not a journal"
        default: error.description
        }
    }

    /// Extends the readable region to the file's current size (for following a live journal).
    /// Returns true when the file grew.
    public func refreshLimit() throws(JournalError) -> Bool {
        let status: Syscall.FileStatus
        do { status = try Syscall.fstat(fd) } catch { throw JournalError.system(error, path: path) }
        guard status.size > limit else { return false }
        limit = status.size
        window.invalidate()
        if case .tornTail = end { end = nil }
        if case .clean = end { end = nil }
        return true
    }

    /// The next frame, or nil at the end (see ``end``).
    public func nextFrame() throws(JournalError) -> JournalFrame? {
        guard let (header, frameOffset, payload) = try nextRawFrame() else { return nil }
        var messages: [JournalMessage] = []
        messages.reserveCapacity(header.messageCount)
        var sequence = header.firstSequence
        Self.forEachMessage(in: payload, count: header.messageCount) { bytes in
            messages.append(JournalMessage(sequence: sequence, bytes: Array(bytes)))
            sequence += 1
        }
        let digest = header.type.isStateDigest ? StateDigest(payload: payload, type: header.type) : nil
        let mark = header.type == .timeMark ? payload.loadLE(UInt64.self, at: 0) : nil
        return JournalFrame(
            offset: frameOffset, header: header, messages: messages, stateDigest: digest, timeMarkNanoseconds: mark)
    }

    /// All remaining messages, handed to `body` one at a time without copying
    /// (the buffer is valid during the call only). Returns how the read ended.
    /// Errors of the journal are ``JournalError``s; errors `body` throws are rethrown.
    @discardableResult
    public func forEachMessage(
        _ body: (_ sequence: UInt64, _ bytes: UnsafeRawBufferPointer) throws -> Void
    ) throws -> JournalEnd {
        while let (header, _, payload) = try nextRawFrame() {
            var sequence = header.firstSequence
            try Self.forEachMessage(in: payload, count: header.messageCount) { bytes in
                try body(sequence, bytes)
                sequence += 1
            }
        }
        return end ?? .clean
    }

    /// The next message frame's header, offset and decompressed payload
    /// (valid until the next call), or nil at the end (see ``end``).
    func nextRawFrame() throws(JournalError) -> (FrameHeader, Int64, UnsafeRawBufferPointer)? {
        while true {
            if end != nil { return nil }
            if offset >= limit {
                end = .clean
                return nil
            }
            let frameOffset = offset
            let header: FrameHeader
            switch try readValidFrame(at: frameOffset) {
            case .bad(let reason):
                try classifyDamage(at: frameOffset, reason: reason)
                return nil
            case .valid(let h):
                header = h
            }
            // The frame's bytes are authentic (CRC with this file's salt). What
            // follows checks what they say.
            if !header.type.isKnown {
                if header.type.isSkippable {
                    offset += Int64(header.length)
                    continue
                }
                throw JournalError(
                    code: .unsupportedFrame,
                    message: "frame type \(header.type.rawValue) is not known to this reader and may not be skipped",
                    path: path, offset: frameOffset, sequence: nextSequence)
            }
            if !FrameFlags.known.isSuperset(of: header.flags) {
                throw JournalError(
                    code: .unsupportedFrame,
                    message: "frame flags \(hex(header.flags.rawValue)) hold bits this reader does not know",
                    path: path, offset: frameOffset, sequence: nextSequence)
            }
            if header.firstSequence != nextSequence {
                throw JournalError(
                    code: .sequenceGap,
                    message: "frame starts at sequence \(header.firstSequence), expected \(nextSequence)",
                    path: path, offset: frameOffset, sequence: nextSequence)
            }
            if header.type.isStateDigest || header.type.isMark {
                let size = header.type.isStateDigest ? 16 : 8
                guard header.messageCount == 0, header.rawLength == size, header.storedLength == size,
                    header.flags.isEmpty
                else {
                    throw corrupt(frameOffset, "a \(header.type) frame must hold \(size) raw bytes and no message")
                }
                guard let frameBytes = try window.exactly(at: frameOffset, count: header.length) else {
                    try classifyDamage(at: frameOffset, reason: Self.shrank)
                    return nil
                }
                let payload = UnsafeRawBufferPointer(rebasing: frameBytes[JournalFormat.frameHeaderSize...])
                guard CRC32C.checksum(payload) == header.payloadChecksum else {
                    throw corrupt(frameOffset, "the \(header.type) frame fails its payload checksum")
                }
                offset += Int64(header.length)
                return (header, frameOffset, payload)
            }
            if header.type == .cleanStop {
                guard header.messageCount == 0, header.rawLength == 0, header.storedLength == 0 else {
                    throw corrupt(frameOffset, "the clean-stop marker carries a payload")
                }
                offset += Int64(header.length)
                if offset < limit {
                    if let next = try findValidFrame(after: offset - 1) {
                        throw corrupt(frameOffset, "a valid frame follows the clean-stop marker at offset \(next)")
                    }
                }
                end = .cleanStop(offset: frameOffset, sequence: nextSequence)
                decoder.reset()
                return nil
            }
            guard let frameBytes = try window.exactly(at: frameOffset, count: header.length) else {
                try classifyDamage(at: frameOffset, reason: Self.shrank)
                return nil
            }
            let stored = UnsafeRawBufferPointer(rebasing: frameBytes[JournalFormat.frameHeaderSize...])
            if structureOnly {
                // The frame's bytes are authentic (salted CRC); its payload is checked when it is
                // read for its messages (decompressed, its CRC, its lengths).
                guard header.messageCount > 0 else { throw corrupt(frameOffset, "a message frame holds no message") }
                if !header.flags.contains(.compressed) && header.rawLength != header.storedLength {
                    throw corrupt(
                        frameOffset, "a raw frame stores \(header.storedLength) bytes but declares \(header.rawLength)")
                }
                offset += Int64(header.length)
                nextSequence += UInt64(header.messageCount)
                framesRead += 1
                return (header, frameOffset, UnsafeRawBufferPointer(start: nil, count: 0))
            }
            let payload: UnsafeRawBufferPointer
            if header.flags.contains(.compressed) {
                guard header.rawLength > 0 else {
                    throw corrupt(frameOffset, "a compressed frame declares an empty payload")
                }
                do {
                    payload = try decoder.decompress(
                        stored, rawLength: header.rawLength, startsChain: header.flags.contains(.chainStart))
                } catch .noChain {
                    throw corrupt(frameOffset, "the frame continues an LZ4 chain but no chain is open")
                } catch {
                    throw corrupt(frameOffset, "the LZ4 block does not decode to \(header.rawLength) bytes")
                }
                if header.flags.contains(.chainStart) { chainsRead += 1 }
            } else {
                if header.flags.contains(.chainStart) {
                    throw corrupt(frameOffset, "a raw frame is marked as a chain start")
                }
                guard header.rawLength == header.storedLength else {
                    throw corrupt(
                        frameOffset, "a raw frame stores \(header.storedLength) bytes but declares \(header.rawLength)")
                }
                decoder.reset()
                payload = stored
            }
            let payloadCRC = CRC32C.checksum(payload)
            guard payloadCRC == header.payloadChecksum else {
                throw corrupt(
                    frameOffset,
                    "the decompressed payload fails its checksum (stored \(hex(header.payloadChecksum)), computed \(hex(payloadCRC)))"
                )
            }
            guard header.messageCount > 0 else { throw corrupt(frameOffset, "a message frame holds no message") }
            do {
                try Self.validateMessages(in: payload, count: header.messageCount)
            } catch {
                throw corrupt(frameOffset, error.reason)
            }
            offset += Int64(header.length)
            nextSequence += UInt64(header.messageCount)
            framesRead += 1
            return (header, frameOffset, payload)
        }
    }

    static let shrank = "the file ended while it was being read (it was cut shorter meanwhile)"

    private func corrupt(_ at: Int64, _ reason: String) -> JournalError {
        JournalError(code: .corruptFrame, message: reason, path: path, offset: at, sequence: nextSequence)
    }

    enum Check {
        case valid(FrameHeader)
        case bad(String)
    }

    /// Checks the frame at `at`: header plausible, bytes present, CRC valid.
    private func readValidFrame(at frameOffset: Int64) throws(JournalError) -> Check {
        if limit - frameOffset < Int64(JournalFormat.frameHeaderSize) {
            return .bad("the file ends inside a frame header (\(limit - frameOffset) bytes left)")
        }
        guard let head = try window.exactly(at: frameOffset, count: JournalFormat.frameHeaderSize) else {
            return .bad(Self.shrank)
        }
        let header = FrameHeader.parse(head)
        let reservedZero = head[10] == 0 && head[11] == 0
        if header.length < JournalFormat.frameHeaderSize
            || header.length > JournalFormat.frameHeaderSize + JournalFormat.maxFramePayload
            || header.rawLength > JournalFormat.maxFramePayload || !reservedZero
        {
            return .bad("the frame header is malformed (length \(header.length))")
        }
        if frameOffset + Int64(header.length) > limit {
            return .bad("the frame needs \(header.length) bytes but the file ends after \(limit - frameOffset)")
        }
        guard let frame = try window.exactly(at: frameOffset, count: header.length) else { return .bad(Self.shrank) }
        let computed = FrameHeader.computeChecksum(frame, seed: seed)
        if computed != header.checksum {
            return .bad("the frame checksum does not match (stored \(hex(header.checksum)), computed \(hex(computed)))")
        }
        return .valid(header)
    }

    /// Decides whether the bad frame at `at` is a torn tail or damage in the middle.
    private func classifyDamage(at frameOffset: Int64, reason: String) throws(JournalError) {
        let found: Int64?
        switch try scanForValidFrame(after: frameOffset) {
        case .found(let offset): found = offset
        case .none: found = nil
        case .gaveUp(let checked, let at):
            throw JournalError(
                code: .corruptFrame,
                message:
                    "\(reason); after it, frame headers that look valid follow one another (the scan checked \(checked) bytes up to offset \(at) and gave up): damage, not a torn tail",
                path: path, offset: frameOffset, sequence: nextSequence)
        }
        if let next = found {
            let lostSector = try lostSectorEvidence(from: frameOffset, to: next)
            // Valid frames follow. If every synced watermark among them is below the damaged
            // sequence, none of the damaged bytes had been synced when they were written, so no
            // sync covering them completed (a completed sync leaves no torn sectors): a power
            // cut tore an unacknowledged tail of several frames. Cut it, as a torn tail.
            let watermarks = try highestWatermark(from: next)
            let never: String?
            switch watermarks {
            case .highest(let watermark?) where watermark < nextSequence:
                never = "the frames after it say the journal was synced only through sequence \(watermark)"
            case .highest(nil) where lostSector && writtenWithoutSyncs:
                // A `.written` or `.buffered` journal: its writes are not synced, and a sync of
                // it (a flush) ends with a watermark. None after the damage: no sync covered it.
                // And the damage is what a lost sector leaves (zeros), not a flipped bit.
                never = "the journal is not synced on every write and no sync covered the frames after it"
            default:
                never = nil
            }
            if let never {
                end = .tornTail(
                    TornTail(
                        offset: frameOffset, length: limit - frameOffset, sequence: nextSequence,
                        reason: "\(reason); \(never): damage in bytes never synced"))
                return
            }
            var message = "\(reason); a valid frame follows at offset \(next), so this is damage, not a torn tail"
            if lostSector, !writtenWithoutSyncs, case .highest(nil) = watermarks {
                message +=
                    " (the damaged bytes are zeros, as a power cut leaves of a write never synced: if the journal is .written or .buffered, its writer cuts them when it opens it)"
            }
            throw JournalError(
                code: .corruptFrame, message: message, path: path, offset: frameOffset, sequence: nextSequence)
        }
        end = .tornTail(
            TornTail(offset: frameOffset, length: limit - frameOffset, sequence: nextSequence, reason: reason))
    }

    /// Whether the damaged bytes from `start` to `end` (the next valid frame) are what a power
    /// cut leaves of an unsynced write: a sector that never reached the disk reads as zeros.
    /// So the damaged frame's first 8 bytes (its length and type) are zeros, or a whole
    /// 512-byte sector among the damaged bytes is. A flipped bit leaves neither.
    private func lostSectorEvidence(from start: Int64, to end: Int64) throws(JournalError) -> Bool {
        if let head = try window.exactly(at: start, count: 8), head.allSatisfy({ $0 == 0 }) { return true }
        var sector = (start + 511) / 512 * 512
        while sector + 512 <= end {
            guard let bytes = try window.exactly(at: sector, count: 512) else { return false }
            if bytes.allSatisfy({ $0 == 0 }) { return true }
            sector += 512
        }
        return false
    }

    enum WatermarkScan {
        /// The highest synced watermark among the valid frames, nil when none has one.
        case highest(UInt64?)
        /// A scan for the next valid frame gave up: nothing can be said.
        case gaveUp
    }

    /// The highest synced watermark among the valid frames from `start` to the end of the
    /// file (across further damage).
    private func highestWatermark(from start: Int64) throws(JournalError) -> WatermarkScan {
        var highest: UInt64?
        var at = start
        while at < limit {
            switch try readValidFrame(at: at) {
            case .valid(let header):
                if header.type == .syncedThrough, header.length == JournalFormat.frameHeaderSize + 8,
                    let payload = try window.exactly(at: at + Int64(JournalFormat.frameHeaderSize), count: 8)
                {
                    highest = max(highest ?? 0, payload.loadLE(UInt64.self, at: 0))
                }
                at += Int64(header.length)
            case .bad:
                switch try scanForValidFrame(after: at) {
                case .found(let next): at = next
                case .none: return .highest(highest)
                case .gaveUp: return .gaveUp
                }
            }
        }
        return .highest(highest)
    }

    /// The offset of the first valid frame (CRC with this file's salt) after
    /// `after`, if any. Candidates are filtered on their fixed fields first.
    /// What the scan after damage found.
    enum Scan {
        case found(Int64)
        case none
        /// It checked as many bytes as it may (see ``scanForValidFrame(after:)``).
        case gaveUp(checked: Int64, at: Int64)
    }

    /// The offset of the first valid frame after `after`; a scan that gave up counts as one
    /// (damage, never a torn tail it could not prove).
    func findValidFrame(after: Int64) throws(JournalError) -> Int64? {
        switch try scanForValidFrame(after: after) {
        case .found(let offset): offset
        case .none: nil
        case .gaveUp(_, let at): at
        }
    }

    func scanForValidFrame(after: Int64) throws(JournalError) -> Scan {
        let chunk = 256 << 10
        var position = after + 1
        let last = limit - Int64(JournalFormat.frameHeaderSize)
        let remaining = UInt64(max(0, limit - after))
        // Checking a candidate means reading and checksumming its whole length (up to 64 MiB).
        // A file crafted with a plausible header every few bytes would make that quadratic, so
        // the bytes checked are bounded: four times what is left of the file, and at least
        // 64 MiB (one frame of the largest size). Past it the scan gives up, and the caller
        // reports damage: never a torn tail it could not prove.
        let budget = max(Int64(JournalFormat.maxFramePayload), 4 * (limit - after))
        var checked: Int64 = 0
        while position <= last {
            let span = Int(min(Int64(chunk), last - position + 1))
            // A file cut shorter while it is scanned ends the scan there.
            guard let bytes = try window.exactly(at: position, count: span + JournalFormat.frameHeaderSize - 1) else {
                return .none
            }
            var candidates: [(Int64, Int)] = []
            var i = 0
            while i < span {
                let length = Int(bytes.loadLE(UInt32.self, at: i))
                if length >= JournalFormat.frameHeaderSize, position + Int64(i) + Int64(length) <= limit,
                    length <= JournalFormat.frameHeaderSize + JournalFormat.maxFramePayload,
                    bytes[i + 10] == 0, bytes[i + 11] == 0
                {
                    let type = FrameType(rawValue: bytes[i + 8])
                    let first = bytes.loadLE(UInt64.self, at: i + 16)
                    if type.isKnown || type.isSkippable, first >= nextSequence,
                        first - nextSequence <= remaining &* 256 &+ 1
                    {
                        candidates.append((position + Int64(i), length))
                    }
                }
                i += 1
            }
            for (candidate, length) in candidates {
                checked += Int64(length)
                if checked > budget { return .gaveUp(checked: checked, at: candidate) }
                guard let frame = try window.exactly(at: candidate, count: length) else { return .none }
                let stored = frame.loadLE(UInt32.self, at: 4)
                if FrameHeader.computeChecksum(frame, seed: seed) == stored { return .found(candidate) }
            }
            position += Int64(span)
        }
        return .none
    }

    struct PayloadError: Error { var reason: String }

    static func validateMessages(in payload: UnsafeRawBufferPointer, count: Int) throws(PayloadError) {
        var at = 0
        for index in 0..<count {
            guard let length = payload.readVarint(at: &at) else {
                throw PayloadError(reason: "message \(index) has a malformed length prefix")
            }
            guard length <= UInt64(payload.count - at) else {
                throw PayloadError(
                    reason: "message \(index) declares \(length) bytes but the payload has \(payload.count - at) left")
            }
            at += Int(length)
        }
        if at != payload.count {
            throw PayloadError(reason: "the payload holds \(payload.count - at) bytes after its \(count) messages")
        }
    }

    /// Calls `body` with each message of a validated payload.
    @inline(__always)
    static func forEachMessage(
        in payload: UnsafeRawBufferPointer, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        var at = 0
        for _ in 0..<count {
            let length = Int(payload.readVarint(at: &at)!)
            try body(UnsafeRawBufferPointer(rebasing: payload[at..<(at + length)]))
            at += length
        }
    }
}
