import Logging
public import StateJournalStorage

/// The promises every ``JournalStore`` keeps, checked against the store itself: the suite a
/// store must pass before the runtime may use it. ``FileJournalStore`` passes it in
/// StateJournal's own tests; run it for a store of your own:
///
/// ```swift
/// @Test(arguments: JournalStoreConformance.Check.allCases)
/// func conforms(_ check: JournalStoreConformance.Check) async throws {
///     let directory = TemporaryJournalDirectory()
///     let suite = JournalStoreConformance(makeStore: { FileJournalStore(directory: directory.path) })
///     try await suite.run(check)
/// }
/// ```
///
/// Each check opens journals under names of its own in the store `makeStore` returns; every
/// expectation is written from the protocol's documentation, not from any store's code, and a
/// failed one throws ``Failure`` saying what was expected and what the store did.
public struct JournalStoreConformance: Sendable {
    /// One promise of ``JournalStore``.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Every payload — empty, one byte, large, binary — comes back equal, with its sequence
        /// number, from the owner's replay and from a reader's, after a close and a reopen.
        case roundTrip
        /// Concurrent submitters get disjoint sequence numbers covering 1…n without a gap; a
        /// replay yields each payload at the sequence number its acknowledgement gave; one
        /// submit's messages are contiguous.
        case ordering
        /// What is acknowledged at `.written` and `.synced` (and at `.buffered` after a flush)
        /// is replayed after the owner dies without closing; numbering goes on after it.
        case durability
        /// A second open of an owned journal — also while the owner is idle — throws `locked`,
        /// and so does a discard; after a close or an abandon it opens.
        case ownership
        /// A discarding close removes the journal and its snapshot: it is no longer listed and
        /// opens empty. A keeping close keeps it, listed.
        case discard
        /// After a snapshot through *s*, a replay yields the snapshot, then only the messages
        /// after *s*; replays from a later sequence skip the snapshot; out-of-range snapshots
        /// are refused.
        case snapshots
        /// Distinct names are distinct journals (case, slashes, dots, empty, very long); names
        /// equal as Swift strings are one journal; a journal removed under its owner
        /// acknowledges nothing more (when the suite can remove one).
        case identity
        /// Quarantine moves the messages from a sequence on aside; numbering resumes there.
        case quarantine
        /// State digests are replayed, in order, after the message they follow.
        case digests
        /// A failed durable write is final (when the suite can make one fail): the submit in
        /// flight and every later one fail, also once the fault is gone; a new owner finds every
        /// message acknowledged before, and appends after them.
        case failure

        public var description: String { rawValue }
    }

    /// An expectation the store did not meet.
    public struct Failure: Error, CustomStringConvertible {
        /// The promise broken.
        public var check: Check
        /// What was expected and what the store did.
        public var message: String
        public var description: String { "\(check): \(message)" }
    }

    private let makeStore: @Sendable () async throws -> any JournalStore
    private let removeBehindOwner: (@Sendable (any JournalStore, String) async throws -> Void)?
    private let failDurableWrites: (@Sendable (any JournalStore, String) async throws -> @Sendable () -> Void)?

    /// - Parameters:
    ///   - makeStore: a new, empty store for each check.
    ///   - removeBehindOwner: removes journal `name` from `store` behind its owner's back (for
    ///     files, `unlink` of its path; for a database, deleting its rows). Nil leaves that
    ///     part of ``Check/identity`` out.
    ///   - failDurableWrites: makes every durable write of journal `name` in `store` fail (for
    ///     files, `fdatasync` failing with `EIO` through `FileFaults`; for a database, a
    ///     dropped connection) until the closure it returns is called. Nil leaves
    ///     ``Check/failure`` out.
    public init(
        makeStore: @escaping @Sendable () async throws -> any JournalStore,
        removeBehindOwner: (@Sendable (any JournalStore, String) async throws -> Void)? = nil,
        failDurableWrites: (@Sendable (any JournalStore, String) async throws -> @Sendable () -> Void)? = nil
    ) {
        self.makeStore = makeStore
        self.removeBehindOwner = removeBehindOwner
        self.failDurableWrites = failDurableWrites
    }

    /// Runs every check; throws the first failure.
    public func runAll() async throws {
        for check in Check.allCases { try await run(check) }
    }

    /// Runs one check.
    public func run(_ check: Check) async throws {
        let store = try await makeStore()
        var context = Context(check: check, store: store)
        switch check {
        case .roundTrip: try await context.roundTrip()
        case .ordering: try await context.ordering()
        case .durability: try await context.durability()
        case .ownership: try await context.ownership()
        case .discard: try await context.discard()
        case .snapshots: try await context.snapshots()
        case .identity: try await context.identity(removeBehindOwner: removeBehindOwner)
        case .quarantine: try await context.quarantine()
        case .digests: try await context.digests()
        case .failure: try await context.failure(failDurableWrites: failDurableWrites)
        }
    }
}

/// One check's store, helpers and expectations.
private struct Context {
    let check: JournalStoreConformance.Check
    let store: any JournalStore
    let logger: Logger = {
        var logger = Logger(label: "statejournal.conformance")
        logger.logLevel = .critical
        return logger
    }()
    var random = SplitMix64(seed: 0x5EED_C0DE)

    init(check: JournalStoreConformance.Check, store: any JournalStore) {
        self.check = check
        self.store = store
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw JournalStoreConformance.Failure(check: check, message: message()) }
    }

    func options(_ durability: Durability = .written) -> JournalOptions {
        var options = JournalOptions(durability: durability)
        options.timeMarkInterval = nil
        return options
    }

    func open(_ name: String, _ durability: Durability = .written) async throws -> any OwnedJournal {
        try await store.open(name, options: options(durability), logger: logger)
    }

    /// Everything a replay yields, with messages flattened.
    struct Replayed {
        var snapshot: JournalSnapshot?
        var messages: [JournalMessage] = []
        var digests: [(digest: StateDigest, afterMessages: Int)] = []
        var snapshotCameFirst = true
    }

    func collect(_ replay: JournalReplay) async throws -> Replayed {
        var replayed = Replayed()
        for try await element in replay {
            switch element {
            case .snapshot(let snapshot):
                if !replayed.messages.isEmpty || replayed.snapshot != nil { replayed.snapshotCameFirst = false }
                replayed.snapshot = snapshot
            case .messages(let messages): replayed.messages += messages
            case .stateDigest(let digest): replayed.digests.append((digest, replayed.messages.count))
            }
        }
        return replayed
    }

    mutating func payload(_ length: Int) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        while bytes.count < length {
            var word = random.next()
            for _ in 0..<min(8, length - bytes.count) {
                bytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return bytes
    }

    func expectMessages(_ replayed: Replayed, _ expected: [[UInt8]], from first: UInt64 = 1, _ what: String) throws {
        try expect(
            replayed.messages.count == expected.count,
            "\(what): replayed \(replayed.messages.count) messages, expected \(expected.count)")
        for (index, message) in replayed.messages.enumerated() {
            let sequence = first + UInt64(index)
            try expect(
                message.sequence == sequence,
                "\(what): message \(index) has sequence \(message.sequence), expected \(sequence)")
            try expect(
                message.bytes == expected[index],
                "\(what): message \(sequence) has \(message.bytes.count) bytes that differ from the \(expected[index].count) submitted"
            )
        }
    }

    func expectCode(_ code: JournalError.Code, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as JournalError {
            try expect(error.code == code, "\(what): threw \(error.code), expected \(code) (\(error))")
            return
        }
        throw JournalStoreConformance.Failure(check: check, message: "\(what): succeeded, expected \(code)")
    }

    // MARK: Checks

    mutating func roundTrip() async throws {
        var payloads: [[UInt8]] = [[], [0], [0x0A], Array("0123456789".utf8), [UInt8](repeating: 0, count: 4096)]
        for length in [1, 7, 10, 100, 1000, 65_536, (1 << 20) + 3] { payloads.append(payload(length)) }
        for _ in 0..<200 { payloads.append(payload(Int(random.next() % 300))) }
        let journal = try await open("round-trip")
        try expect(journal.nextSequence == 1, "a new journal's next sequence is \(journal.nextSequence), expected 1")
        var index = 0
        var batch = 1
        while index < payloads.count {
            let end = min(payloads.count, index + batch)
            let range = try await journal.submit(contentsOf: Array(payloads[index..<end])).value()
            try expect(
                range == UInt64(index + 1)...UInt64(end),
                "a submit of messages \(index + 1)…\(end) was acknowledged as \(range)")
            index = end
            batch = batch % 7 + 1
        }
        try expectMessages(try await collect(journal.replay()), payloads, "the owner's replay")
        try await journal.close(discard: false)
        try expectMessages(try await collect(store.replay("round-trip")), payloads, "a reader's replay after close")
        let reopened = try await open("round-trip")
        try expect(
            reopened.nextSequence == UInt64(payloads.count + 1),
            "reopened, the next sequence is \(reopened.nextSequence), expected \(payloads.count + 1)")
        try expectMessages(try await collect(reopened.replay()), payloads, "the replay after a reopen")
        try await reopened.close(discard: true)
    }

    mutating func ordering() async throws {
        let journal = try await open("ordering")
        let senders = 8
        let each = 60
        let outcomes = try await withThrowingTaskGroup(of: [([UInt8], ClosedRange<UInt64>)].self) { group in
            for sender in 0..<senders {
                group.addTask {
                    var mine: [([UInt8], ClosedRange<UInt64>)] = []
                    for index in 0..<each {
                        let count = index % 3 + 1
                        let messages = (0..<count).map { part in Array("\(sender)-\(index)-\(part)".utf8) }
                        let range = try await journal.submit(contentsOf: messages).value()
                        for (offset, message) in messages.enumerated() {
                            mine.append(
                                (message, (range.lowerBound + UInt64(offset))...(range.lowerBound + UInt64(offset))))
                        }
                        guard range.count == count else { return [] }
                    }
                    return mine
                }
            }
            var all: [([UInt8], ClosedRange<UInt64>)] = []
            for try await mine in group { all += mine }
            return all
        }
        let total = (0..<each).reduce(0) { $0 + $1 % 3 + 1 } * senders
        try expect(outcomes.count == total, "\(total) messages submitted, \(outcomes.count) acknowledged as submitted")
        var bySequence: [UInt64: [UInt8]] = [:]
        for (message, range) in outcomes {
            try expect(bySequence[range.lowerBound] == nil, "sequence \(range.lowerBound) was acknowledged twice")
            bySequence[range.lowerBound] = message
        }
        try expect(
            Set(bySequence.keys) == Set(1...UInt64(total)), "the acknowledged sequences do not cover 1…\(total)")
        let replayed = try await collect(journal.replay())
        try expectMessages(replayed, (1...UInt64(total)).map { bySequence[$0]! }, "the replay")
        try await journal.close(discard: true)
    }

    mutating func durability() async throws {
        for (index, durability) in [Durability.written, .synced, .buffered(within: .milliseconds(20))].enumerated() {
            let name = "durability-\(index)"
            let journal = try await open(name, durability)
            var sent: [[UInt8]] = []
            for round in 0..<20 {
                let messages = (0..<(round % 4 + 1)).map { _ in payload(Int(random.next() % 200)) }
                _ = try await journal.submit(contentsOf: messages).value()
                sent += messages
            }
            if case .buffered = durability { try await journal.flush() }
            await journal.abandon()
            let reopened = try await open(name, durability)
            try expectMessages(
                try await collect(reopened.replay()), sent, "at \(durability), after the owner died without closing")
            try expect(
                reopened.nextSequence == UInt64(sent.count + 1),
                "at \(durability), reopened after a crash, the next sequence is \(reopened.nextSequence), expected \(sent.count + 1)"
            )
            let more = try await reopened.submit(contentsOf: [[1, 2, 3]]).value()
            try expect(more == UInt64(sent.count + 1)...UInt64(sent.count + 1), "numbering after a crash gave \(more)")
            try await reopened.close(discard: true)
        }
    }

    func ownership() async throws {
        var idle = options()
        idle.idleTimeout = .milliseconds(5)
        let first = try await store.open("owned", options: idle, logger: logger)
        _ = try await first.submit(contentsOf: [[7]]).value()
        try await expectCode(.locked, "a second open while owned") { _ = try await open("owned") }
        // Idle long past the timeout: the store may release resources, never ownership.
        try await Task.sleep(for: .milliseconds(100))
        try await expectCode(.locked, "a second open while the owner is idle") { _ = try await open("owned") }
        let listed = try await store.list().first { $0.name == "owned" }
        try expect(listed != nil, "an owned journal is not listed")
        if let listed {
            try await expectCode(.locked, "a discard of an owned journal") {
                try await store.discard(listed, logger: logger)
            }
        }
        try expectMessages(try await collect(first.replay()), [[7]], "the journal after a refused discard")
        try await first.close(discard: false)
        let second = try await open("owned")
        try expect(second.nextSequence == 2, "after a close, the next owner's next sequence is \(second.nextSequence)")
        await second.abandon()
        let third = try await open("owned")
        try await third.close(discard: true)
    }

    func discard() async throws {
        let kept = try await open("kept")
        _ = try await kept.submit(contentsOf: [[1], [2]]).value()
        try await kept.writeSnapshot([9, 9], through: 1)
        try await kept.close(discard: false)
        let discarded = try await open("discarded")
        _ = try await discarded.submit(contentsOf: [[3], [4]]).value()
        try await discarded.writeSnapshot([8], through: 2)
        try await discarded.close(discard: true)
        let names = try await store.list().map(\.name)
        try expect(names.contains("kept"), "a journal closed without discard is not listed (\(names))")
        try expect(!names.contains("discarded"), "a discarded journal is still listed (\(names))")
        let reader = try await collect(store.replay("discarded"))
        try expect(
            reader.messages.isEmpty && reader.snapshot == nil,
            "a discarded journal still replays \(reader.messages.count) messages, snapshot \(String(describing: reader.snapshot?.sequence))"
        )
        let reopened = try await open("discarded")
        try expect(reopened.nextSequence == 1, "a discarded journal reopens at \(reopened.nextSequence), expected 1")
        let replayed = try await collect(reopened.replay())
        try expect(replayed.snapshot == nil && replayed.messages.isEmpty, "a discarded journal reopens with content")
        try await reopened.close(discard: true)
        // Listed journals that nobody owns can be discarded without opening them by name.
        if let entry = try await store.list().first(where: { $0.name == "kept" }) {
            try await store.discard(entry, logger: logger)
        }
        let after = try await store.list().map(\.name)
        try expect(!after.contains("kept"), "a store discard left the journal listed (\(after))")
        let gone = try await collect(store.replay("kept"))
        try expect(gone.messages.isEmpty && gone.snapshot == nil, "a store discard left the journal readable")
    }

    mutating func snapshots() async throws {
        let journal = try await open("snapshots")
        let before = (0..<10).map { _ in payload(50) }
        _ = try await journal.submit(contentsOf: before).value()
        let state = payload(5000)
        try await journal.writeSnapshot(state, through: 6)
        let after = (0..<4).map { _ in payload(50) }
        _ = try await journal.submit(contentsOf: after).value()
        try await expectCode(.invalidArgument, "a snapshot past the last message") {
            try await journal.writeSnapshot([1], through: 100)
        }
        try await expectCode(.invalidArgument, "a snapshot before the latest one") {
            try await journal.writeSnapshot([1], through: 3)
        }
        let expected = Array(before[6...]) + after
        for (what, replay) in [
            ("the owner's replay", journal.replay()), ("a reader's replay", store.replay("snapshots")),
        ] {
            let replayed = try await collect(replay)
            try expect(replayed.snapshotCameFirst, "\(what): the snapshot did not come first")
            try expect(
                replayed.snapshot?.sequence == 6 && replayed.snapshot?.bytes == state,
                "\(what): snapshot \(String(describing: replayed.snapshot?.sequence)), expected the state through 6")
            try expectMessages(replayed, expected, from: 7, what)
        }
        let later = try await collect(store.replay("snapshots", from: 9, chunkMessages: 2))
        try expect(later.snapshot == nil, "a replay from 9 yielded the snapshot through 6")
        try expectMessages(later, Array(expected[2...]), from: 9, "a replay from 9")
        let requested: Result<Void, JournalError> = await withCheckedContinuation { continuation in
            journal.requestSnapshot(state, through: 12) { continuation.resume(returning: $0) }
        }
        try expect((try? requested.get()) != nil, "a requested snapshot failed: \(requested)")
        try await journal.close(discard: false)
        let reopened = try await open("snapshots")
        let replayed = try await collect(reopened.replay())
        try expect(
            replayed.snapshot?.sequence == 12,
            "after a reopen the snapshot is \(String(describing: replayed.snapshot?.sequence)), expected 12")
        try expectMessages(replayed, Array(expected[6...]), from: 13, "the replay after a reopen")
        try expect(
            reopened.nextSequence == 15, "after a snapshot and a reopen the next sequence is \(reopened.nextSequence)")
        try await reopened.close(discard: true)
    }

    func identity(removeBehindOwner: (@Sendable (any JournalStore, String) async throws -> Void)?) async throws {
        let names = [
            "a", "A", "a/b", "a%2Fb", "..", ".", "", " ", "a.journal", "\u{1F6D2} cart",
            String(repeating: "long-", count: 1000),
            String(repeating: "long-", count: 1000) + "x",
        ]
        var journals: [any OwnedJournal] = []
        for (index, name) in names.enumerated() {
            let journal = try await open(name)
            _ = try await journal.submit(contentsOf: [Array("journal \(index)".utf8)]).value()
            journals.append(journal)
        }
        for (index, name) in names.enumerated() {
            let replayed = try await collect(journals[index].replay())
            try expectMessages(replayed, [Array("journal \(index)".utf8)], "journal \(index) (\(name.prefix(20)))")
        }
        // "\u{E9}" and "e\u{301}" are equal Swift strings: one journal.
        let composed = try await open("caf\u{E9}")
        try await expectCode(.locked, "opening \"cafe\\u{301}\" while \"caf\\u{E9}\" is owned") {
            _ = try await open("cafe\u{301}")
        }
        try await composed.close(discard: true)
        for journal in journals { try await journal.close(discard: true) }

        guard let removeBehindOwner else { return }
        let journal = try await open("removed")
        _ = try await journal.submit(contentsOf: [[1]]).value()
        try await removeBehindOwner(store, "removed")
        do {
            let range = try await journal.submit(contentsOf: [[2]]).value()
            throw JournalStoreConformance.Failure(
                check: check, message: "a message was acknowledged (\(range)) into a journal removed under its owner")
        } catch let error as JournalError {
            try expect(error.code == .replaced, "an append after removal threw \(error.code), expected replaced")
        }
        try? await journal.close(discard: false)
    }

    func quarantine() async throws {
        let journal = try await open("quarantine")
        _ = try await journal.submit(contentsOf: (1...5).map { [UInt8($0)] }).value()
        let aside = try await journal.quarantine(from: 3)
        try expect(!aside.isEmpty, "quarantine said nothing of where the messages went")
        try expect(journal.nextSequence == 3, "after quarantine from 3 the next sequence is \(journal.nextSequence)")
        let range = try await journal.submit(contentsOf: [[30]]).value()
        try expect(range == 3...3, "the first message after quarantine got \(range), expected 3")
        try expectMessages(try await collect(journal.replay()), [[1], [2], [30]], "the replay after quarantine")
        try await journal.close(discard: true)
    }

    func digests() async throws {
        let journal = try await open("digests")
        _ = try await journal.submit(contentsOf: [[1], [2]]).value()
        journal.recordStateDigest(StateDigest(sequence: 2, value: 0xABCD))
        _ = try await journal.submit(contentsOf: [[3]]).value()
        try await journal.flush()
        let replayed = try await collect(journal.replay())
        try expectMessages(replayed, [[1], [2], [3]], "the replay")
        try expect(
            replayed.digests.count == 1 && replayed.digests[0].digest.sequence == 2
                && replayed.digests[0].digest.value == 0xABCD,
            "replayed digests \(replayed.digests.map(\.digest)), expected one after message 2")
        try expect(
            (2...3).contains(replayed.digests.first?.afterMessages ?? -1),
            "the digest of message 2 came after \(replayed.digests.first?.afterMessages ?? -1) messages")
        try await journal.close(discard: true)
    }

    func failure(
        failDurableWrites: (@Sendable (any JournalStore, String) async throws -> @Sendable () -> Void)?
    ) async throws {
        guard let failDurableWrites else { return }
        let journal = try await open("failing", .synced)
        let acknowledged: [[UInt8]] = [[1], [2], [3]]
        _ = try await journal.submit(contentsOf: acknowledged).value()
        let restore = try await failDurableWrites(store, "failing")
        do {
            let range = try await journal.submit(contentsOf: [[4]]).value()
            restore()
            throw JournalStoreConformance.Failure(
                check: check, message: "a message was acknowledged (\(range)) while durable writes failed")
        } catch is JournalError {}
        restore()
        // The failure is final: nothing is acknowledged after it, though the fault is gone.
        for attempt in 0..<3 {
            do {
                let range = try await journal.submit(contentsOf: [[5 + UInt8(attempt)]]).value()
                throw JournalStoreConformance.Failure(
                    check: check, message: "after a failed durable write, a later message was acknowledged (\(range))")
            } catch is JournalError {}
        }
        await journal.abandon()
        let reopened = try await open("failing", .synced)
        let replayed = try await collect(reopened.replay())
        // The message whose sync failed may or may not be there (it was written, never
        // acknowledged); every acknowledged one is, in order, and nothing refused after.
        try expect(
            replayed.messages.count >= acknowledged.count && replayed.messages.count <= acknowledged.count + 1,
            "after a failed durable write the new owner replays \(replayed.messages.count) messages, expected the 3 acknowledged and at most the one that failed"
        )
        try expectMessages(
            Replayed(messages: Array(replayed.messages.prefix(3))), acknowledged, "the acknowledged messages")
        if replayed.messages.count == 4 {
            try expect(replayed.messages[3].bytes == [4], "the fourth message replayed is not the one that failed")
        }
        let next = try await reopened.submit(contentsOf: [[9]]).value()
        try expect(
            next.lowerBound == UInt64(replayed.messages.count + 1),
            "the new owner's first message got \(next), expected \(replayed.messages.count + 1)")
        try await reopened.close(discard: true)
    }
}
