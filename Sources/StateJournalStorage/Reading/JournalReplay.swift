import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// Reads a journal's snapshot and the messages after it, one bounded chunk per `next()`:
/// memory stays bounded however long the journal is.
///
/// ``init(path:from:chunkMessages:chunkBytes:)`` reads a journal file on the library's I/O
/// threads, one chunk ahead of the consumer. It reads complete frames only, up to where the
/// file ended when the replay began; a torn tail ends it. Damage in the middle throws
/// ``JournalError`` with the path, offset and sequence number. Another ``JournalStore`` makes
/// its replay with ``init(_:)``.
public struct JournalReplay: AsyncSequence, Sendable {
    public typealias Element = ReplayElement
    public typealias Failure = JournalError

    private let makeCursor: @Sendable () -> any JournalReplayCursor

    /// Reads the journal file at `path`: the snapshot when it covers `sequence` or later, then
    /// the messages from `sequence` on (after the snapshot), up to `chunkMessages` messages and
    /// about `chunkBytes` bytes of payload per chunk.
    public init(path: String, from sequence: UInt64 = 1, chunkMessages: Int = 4096, chunkBytes: Int = 1 << 20) {
        self.init(
            path: path, from: sequence, chunkMessages: chunkMessages, chunkBytes: chunkBytes, absentIsEmpty: false)
    }

    /// `absentIsEmpty`: a file that does not exist replays as an empty journal instead of
    /// throwing ``JournalError/Code/notFound`` (a store's reader of a journal never written).
    package init(path: String, from sequence: UInt64, chunkMessages: Int, chunkBytes: Int, absentIsEmpty: Bool) {
        let chunkMessages = Swift.max(1, chunkMessages)
        let chunkBytes = Swift.max(1, chunkBytes)
        makeCursor = {
            FileReplayCursor(
                ReplayCursor(
                    path: path, from: sequence, chunkMessages: chunkMessages, chunkBytes: chunkBytes,
                    absentIsEmpty: absentIsEmpty))
        }
    }

    /// A replay whose every iteration reads from a new cursor made by `makeCursor`.
    public init(_ makeCursor: @escaping @Sendable () -> any JournalReplayCursor) {
        self.makeCursor = makeCursor
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(cursor: makeCursor())
    }

    /// Hands each element to `body`, in order, until `body` returns false or the replay ends.
    /// Unless the cursor reads ahead by itself (``JournalReplayCursor/readsAhead``), a child
    /// task reads it while `body` handles what was read before, up to `readAhead` elements
    /// ahead (each a bounded chunk; `next()` is still called one at a time). When `body` stops
    /// or throws, the reading is cancelled and what it read ahead is dropped.
    package func deliver(
        readAhead: Int = 16, isolation: isolated (any Actor)? = #isolation,
        _ body: (ReplayElement) async throws -> Bool
    ) async throws {
        let cursor = makeCursor()
        if cursor.readsAhead {
            while let element = try await cursor.next(), try await body(element) {}
            return
        }
        let buffer = ReadAhead(capacity: readAhead)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do throws(JournalError) {
                    while let element = try await cursor.next() {
                        guard await buffer.put(element) else { return }
                    }
                    buffer.finish(nil)
                } catch {
                    buffer.finish(error)
                }
            }
            defer {
                buffer.abandon()
                group.cancelAll()
            }
            while let element = try await buffer.take(), try await body(element) {}
        }
    }

    /// Reads the replay, one chunk per `next()`.
    public struct Iterator: AsyncIteratorProtocol {
        let cursor: any JournalReplayCursor

        public mutating func next() async throws(JournalError) -> ReplayElement? {
            try await cursor.next()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(JournalError) -> ReplayElement? {
            try await cursor.next()
        }
    }
}

/// A file's reading, one pool job per chunk, one chunk ahead of its consumer: while the consumer
/// uses a chunk, the next one is read, checked and decompressed on the library's I/O threads
/// (at most two chunks are held).
final class FileReplayCursor: JournalReplayCursor, @unchecked Sendable {
    // Safe: `next()` is never called concurrently (an async iterator's contract), and `ahead`
    // is only touched there; the cursor runs one pool job at a time.
    let cursor: ReplayCursor
    private var ahead: StartedJob<ReplayElement?, JournalError>?

    init(_ cursor: ReplayCursor) { self.cursor = cursor }

    /// The next chunk is read on the library's threads while the consumer handles this one.
    var readsAhead: Bool { true }

    func next() async throws(JournalError) -> ReplayElement? {
        let reading = ahead ?? read()
        ahead = nil
        let element = try await reading.value()
        if element != nil { ahead = read() }
        return element
    }

    private func read() -> StartedJob<ReplayElement?, JournalError> {
        let cursor = self.cursor
        return IOThreadPool.shared.start { () throws(JournalError) -> ReplayElement? in try cursor.next() }
    }
}

/// The replay's reading state; used by one pool job at a time.
final class ReplayCursor: @unchecked Sendable {
    // Safe: an AsyncIterator's `next()` calls are never concurrent, and each
    // runs its work as one pool job whose completion orders memory.
    let path: String
    let chunkMessages: Int
    let chunkBytes: Int
    /// The first message wanted.
    let from: UInt64
    let absentIsEmpty: Bool
    private var reader: JournalReader?
    private var skipThrough: UInt64 = 0
    private var started = false
    private var finished = false
    private var pendingDigest: StateDigest?
    /// Where a frame's messages resume: byte offset in its payload, sequence, messages left.
    struct Rest {
        var offset: Int
        var sequence: UInt64
        var left: Int
    }
    /// The rest of a frame that did not fit in the last chunk, as an owned copy.
    private var carry: ([UInt8], Rest)?

    /// A chunk being read: its messages' bytes in one buffer, which the messages share.
    struct Chunk {
        var buffer: [UInt8] = []
        var entries: [(sequence: UInt64, range: Range<Int>)] = []

        var messages: [JournalMessage] {
            entries.map { JournalMessage(sequence: $0.sequence, bytes: buffer, in: $0.range) }
        }
    }

    /// Appends messages from `payload` at `rest` until the chunk is full or the frame ends.
    private func take(from payload: UnsafeRawBufferPointer, _ rest: inout Rest, into chunk: inout Chunk) {
        while rest.left > 0 && chunk.entries.count < chunkMessages && chunk.buffer.count < chunkBytes {
            // The frame was validated when read: every length prefix and message is in bounds.
            guard let length = payload.readVarint(at: &rest.offset) else {
                rest.left = 0
                return
            }
            let end = rest.offset + Int(length)
            if rest.sequence > skipThrough {
                let start = chunk.buffer.count
                chunk.buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[rest.offset..<end]))
                chunk.entries.append((rest.sequence, start..<chunk.buffer.count))
            }
            rest.offset = end
            rest.sequence += 1
            rest.left -= 1
        }
    }

    init(path: String, from: UInt64 = 1, chunkMessages: Int, chunkBytes: Int, absentIsEmpty: Bool = false) {
        self.path = path
        self.absentIsEmpty = absentIsEmpty
        self.from = Swift.max(1, from)
        self.chunkMessages = chunkMessages
        self.chunkBytes = chunkBytes
    }

    func next() throws(JournalError) -> ReplayElement? {
        if finished { return nil }
        if !started {
            started = true
            // The journal first, then the snapshot: a snapshot taken in between
            // is newer than the journal's base, which is safe (the reverse is not).
            let reader: JournalReader
            do throws(JournalError) { reader = try JournalReader(path: path) } catch {
                guard absentIsEmpty, error.code == .notFound else { throw error }
                finished = true
                return nil
            }
            self.reader = reader
            let snapshot = try JournalSnapshot.read(at: JournalSnapshot.path(forJournal: path))
            try JournalSnapshot.checkContinuity(reader.header, with: snapshot, path: path)
            let floor = snapshot?.sequence ?? 0
            skipThrough = Swift.max(floor, from - 1)
            if let snapshot, snapshot.sequence >= from { return .snapshot(snapshot) }
        }
        guard let reader else { return nil }
        if let digest = pendingDigest {
            pendingDigest = nil
            return .stateDigest(digest)
        }
        var chunk = Chunk()
        if case (let payload, var rest)? = carry {
            // A frame larger than a chunk is yielded in chunks too (memory stays bounded by the
            // chunk, not by the frame's message count).
            payload.withUnsafeBytes { take(from: $0, &rest, into: &chunk) }
            carry = rest.left > 0 ? (payload, rest) : nil
            if carry != nil { return .messages(chunk.messages) }
        }
        while chunk.entries.count < chunkMessages && chunk.buffer.count < chunkBytes {
            guard let (header, _, payload) = try reader.nextRawFrame() else { break }
            if header.type.isMark { continue }
            if header.type.isStateDigest {
                let digest = StateDigest(payload: payload, type: header.type)
                if digest.sequence <= skipThrough { continue }
                if chunk.entries.isEmpty { return .stateDigest(digest) }
                pendingDigest = digest
                break
            }
            var rest = Rest(offset: 0, sequence: header.firstSequence, left: header.messageCount)
            take(from: payload, &rest, into: &chunk)
            if rest.left > 0 {
                // The chunk is full inside this frame: keep the rest of its payload for the next call.
                carry = (
                    Array(UnsafeRawBufferPointer(rebasing: payload[rest.offset...])),
                    Rest(offset: 0, sequence: rest.sequence, left: rest.left)
                )
                break
            }
        }
        if chunk.entries.isEmpty {
            finished = true
            self.reader = nil
            return nil
        }
        return .messages(chunk.messages)
    }
}
