import Logging
import PostgresNIO
@_spi(JournalStores) import StateJournalStorage

/// One reading of a journal from PostgreSQL: the snapshot when it covers the start, then the
/// frames in keyset pages (16 rows first, four times more per page up to `replayPageRows`, so
/// that the first messages come soon), read through the client's row callbacks (not its async
/// row sequence, which is an order of magnitude slower per row). The next page is fetched while
/// one is decoded; memory holds at most two pages of frames and one of messages. It does not
/// read ahead of its consumer by itself: a process's replay reads it in a child task while it
/// applies what came before (`JournalReplayCursor.readsAhead`).
final class PostgresReplayCursor: JournalReplayCursor, @unchecked Sendable {
    // Safe: a replay's `next()` calls are never concurrent (JournalReplayCursor's contract).
    enum Journal {
        case name(String)
        case owned(id: Int64, salt: UInt64, location: String)
    }

    private let store: PostgresJournalStore
    private var journal: Journal
    private let from: UInt64
    private let chunkMessages: Int
    private var started = false
    private var finished = false
    private var id: Int64 = 0
    private var codec: StoredFrameCodec?
    private var location = ""
    /// Messages at or below it are not yielded (the snapshot's, or before `from`).
    private var skipThrough: UInt64 = 0
    /// The next message's sequence number, once the first frame is read.
    private var expected: UInt64?
    /// Where the next page starts: after (first sequence, kind).
    private var after: (Int64, Int16) = (0, -1)
    private var exhausted = false
    /// The decoded page, as the elements `next()` returns: chunks of messages and digests.
    private var ready: [ReplayElement] = []
    private var readyStart = 0
    private var salt: UInt64 = 0
    /// The page after the one decoded last, fetched while it was decoded.
    private var ahead: [FrameRow]?
    /// Rows of the next page fetched: 16 at first, four times more per page up to the store's
    /// `replayPageRows`.
    private var pageRows: Int

    init(store: PostgresJournalStore, journal: Journal, from: UInt64, chunkMessages: Int) {
        self.store = store
        self.journal = journal
        self.from = max(1, from)
        self.chunkMessages = max(1, chunkMessages)
        self.pageRows = min(16, max(1, store.configuration.replayPageRows))
    }

    func next() async throws(JournalError) -> ReplayElement? {
        if finished { return nil }
        do {
            if !started {
                started = true
                guard let snapshot = try await start() else {
                    finished = true
                    return nil
                }
                if case .some(let snapshot) = snapshot, snapshot.sequence >= from { return .snapshot(snapshot) }
            }
            while readyStart == ready.count && !exhausted { try await readPage() }
            if readyStart == ready.count {
                finished = true
                return nil
            }
            // Handed out, not kept: the page's memory goes with the last of its elements.
            let element = ready[readyStart]
            ready[readyStart] = .messages([])
            readyStart += 1
            return element
        } catch {
            finished = true
            throw journalError(error, "replaying", location: location)
        }
    }

    /// Finds the journal and its snapshot; nil when the store does not hold the journal.
    private func start() async throws -> JournalSnapshot?? {
        let tables = store.tables
        let salt: UInt64
        switch journal {
        case .name(let name):
            location = store.location(of: name)
            let rows = try await store.rows(
                """
                SELECT id, salt FROM \(unescaped: tables.journals) WHERE name_key = sha256(convert_to(\(name), 'UTF8'))
                """)
            var found: (Int64, Int64)?
            for row in rows { found = try row.decode((Int64, Int64).self) }
            guard let found else { return nil }
            id = found.0
            salt = UInt64(bitPattern: found.1)
        case .owned(let owned, let ownedSalt, let ownedLocation):
            id = owned
            salt = ownedSalt
            location = ownedLocation
        }
        codec = StoredFrameCodec(salt: salt)
        self.salt = salt
        let rows = try await store.rows(
            """
            SELECT s.sequence, s.state, j.name FROM \(unescaped: tables.snapshots) s
            JOIN \(unescaped: tables.journals) j ON j.id = s.journal WHERE s.journal = \(id)
            """)
        var snapshot: JournalSnapshot?
        for row in rows {
            let (sequence, state, name) = try row.decode((Int64, ByteBuffer, String).self)
            snapshot = JournalSnapshot(
                sequence: UInt64(sequence), bytes: Array(state.readableBytesView), processID: name)
        }
        skipThrough = max(snapshot?.sequence ?? 0, from - 1)
        // Start at the frame holding the first message wanted.
        let first = try await store.rows(
            """
            SELECT coalesce(max(first_sequence), 0) FROM \(unescaped: tables.frames)
            WHERE journal = \(id) AND kind = 1 AND first_sequence <= \(Int64(skipThrough + 1))
            """)
        for row in first { after = (try row.decode(Int64.self), -1) }
        return .some(snapshot)
    }

    /// Reads the next page of frames and decodes it into `ready`. While one page is decoded, the
    /// next is already being fetched (its start is known as soon as this one arrived), so the
    /// server's sending and the client's decoding overlap; memory holds at most two pages.
    private func readPage() async throws {
        guard let codec else { return }
        ready.removeAll(keepingCapacity: true)
        readyStart = 0
        // The first pages are small, so that the first messages come soon; the pages after
        // them grow to `replayPageRows`. `ahead` was fetched with `pageRows` rows at most.
        let limit = pageRows
        let page: [FrameRow]
        if let fetched = ahead {
            ahead = nil
            page = fetched
        } else {
            page = try await Self.fetch(store, journal: id, after: after, limit: limit)
        }
        guard page.count == limit, let last = page.last else {
            exhausted = true
            try await decode(page, codec)
            return
        }
        pageRows = min(max(1, store.configuration.replayPageRows), limit * 4)
        // The fetch touches nothing of `self`, which `decode` changes meanwhile.
        async let next = Self.fetch(store, journal: id, after: (last.first, last.kind), limit: pageRows)
        try await decode(page, codec)
        let following = try await next
        if following.isEmpty { exhausted = true } else { ahead = following }
    }

    /// Decodes `page` into `ready`. A page of many rows is decoded in two halves at once (the
    /// second in a child task with a codec of its own); the halves' elements are joined in order,
    /// and where they meet the sequence numbers must follow on, as they must from frame to frame.
    private func decode(_ page: [FrameRow], _ codec: StoredFrameCodec) async throws {
        guard let last = page.last else { return }
        after = (last.first, last.kind)
        var first = PageDecoder(
            codec: codec, location: location, skipThrough: skipThrough, chunkMessages: chunkMessages,
            expected: expected)
        guard page.count >= 16 else {
            try first.decode(page[...])
            expected = first.expected
            ready += first.ready
            return
        }
        let half = page.count / 2
        let secondRows = page[half...]
        let (salt, location, skipThrough, chunkMessages) = (self.salt, self.location, self.skipThrough, chunkMessages)
        async let decodedSecond = {
            var second = PageDecoder(
                codec: StoredFrameCodec(salt: salt), location: location, skipThrough: skipThrough,
                chunkMessages: chunkMessages, expected: nil, continuing: true)
            try second.decode(secondRows)
            return (second.ready, second.firstFrame, second.expected)
        }()
        try first.decode(page[..<half])
        let (secondReady, secondFirst, secondExpected) = try await decodedSecond
        if let secondFirst {
            try PageDecoder.checkFollows(
                secondFirst, expected: first.expected, skipThrough: skipThrough, location: location)
        }
        expected = secondExpected ?? first.expected
        ready += first.ready
        ready += secondReady
    }

    private typealias FrameRow = (first: Int64, kind: Int16, bytes: [UInt8])

    /// The rows of `journal` after `after`, in key order, at most `limit`.
    private static func fetch(
        _ store: PostgresJournalStore, journal id: Int64, after: (Int64, Int16), limit: Int
    ) async throws -> [FrameRow] {
        let query: PostgresQuery = """
            SELECT first_sequence, kind, frame FROM \(unescaped: store.tables.frames)
            WHERE journal = \(id) AND (first_sequence, kind) > (\(after.0), \(after.1))
            ORDER BY first_sequence, kind LIMIT \(limit)
            """
        return try await store.rows(query).map { row in
            let (first, kind, frame) = try row.decode((Int64, Int16, ByteBuffer).self)
            return (first, kind, Array(frame.readableBytesView))
        }
    }
}

/// Decodes rows of frames into replay elements: each message straight from its frame's payload
/// into the chunk being filled (no array per frame), chunks of at most `chunkMessages` messages
/// and 1 MiB; checks that each frame sits in its row and follows the one before.
private struct PageDecoder {
    let codec: StoredFrameCodec
    let location: String
    let skipThrough: UInt64
    let chunkMessages: Int
    /// The next message's sequence number, once a frame of messages was read.
    var expected: UInt64?
    /// Rows that continue others decoded apart: their first frame is checked by the caller.
    var continuing = false
    /// The first sequence number of the first frame of messages decoded.
    var firstFrame: UInt64?
    var ready: [ReplayElement] = []
    private var chunk: [JournalMessage] = []
    private var chunkBytes = 0

    init(
        codec: StoredFrameCodec, location: String, skipThrough: UInt64, chunkMessages: Int, expected: UInt64?,
        continuing: Bool = false
    ) {
        self.codec = codec
        self.location = location
        self.skipThrough = skipThrough
        self.chunkMessages = chunkMessages
        self.expected = expected
        self.continuing = continuing
    }

    /// Throws unless a frame of messages starting at `first` follows on from `expected` (or, as
    /// the journal's first, holds message `skipThrough + 1`).
    static func checkFollows(_ first: UInt64, expected: UInt64?, skipThrough: UInt64, location: String)
        throws(JournalError)
    {
        if let expected, first != expected {
            throw JournalError(
                code: .sequenceGap,
                message:
                    "the frame after sequence \(expected - 1) starts at \(first) (a snapshot may have compacted the journal past this reader: replay again)",
                path: location, sequence: expected)
        }
        if expected == nil, first > skipThrough + 1 {
            throw JournalError(
                code: .sequenceGap,
                message: "the journal's frames start at \(first), after the \(skipThrough + 1) wanted",
                path: location, sequence: skipThrough + 1)
        }
    }

    mutating func decode(_ rows: ArraySlice<(first: Int64, kind: Int16, bytes: [UInt8])>) throws {
        for (first, kind, bytes) in rows {
            let location = self.location
            let summary = try codec.decode(bytes, location: location) { firstSequence, count throws(JournalError) in
                guard kind == 1, firstSequence == UInt64(first) else {
                    throw JournalError(
                        code: .corruptFrame,
                        message: "a frame of sequence \(firstSequence) sits in the row of sequence \(first)",
                        path: location, sequence: UInt64(first))
                }
                if firstFrame != nil || !continuing {
                    try Self.checkFollows(
                        firstSequence, expected: expected, skipThrough: skipThrough, location: location)
                }
                if firstFrame == nil { firstFrame = firstSequence }
                expected = firstSequence + UInt64(count)
            } message: { sequence, bytes in
                guard sequence > skipThrough else { return }
                if chunk.isEmpty { chunk.reserveCapacity(min(chunkMessages, 4096)) }
                chunk.append(JournalMessage(sequence: sequence, bytes: Array(bytes)))
                chunkBytes += bytes.count
                if chunk.count >= chunkMessages || chunkBytes >= 1 << 20 { endChunk() }
            }
            if case .stateDigest(let digest) = summary {
                guard kind == 0, digest.sequence + 1 == UInt64(first) else {
                    throw JournalError(
                        code: .corruptFrame, message: "a state digest frame sits in the row of sequence \(first)",
                        path: location, sequence: UInt64(first))
                }
                if digest.sequence > skipThrough {
                    endChunk()
                    ready.append(.stateDigest(digest))
                }
            }
        }
        endChunk()
    }

    private mutating func endChunk() {
        guard !chunk.isEmpty else { return }
        ready.append(.messages(chunk))
        chunk = []
        chunkBytes = 0
    }
}
