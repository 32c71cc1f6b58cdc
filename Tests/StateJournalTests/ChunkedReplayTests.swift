import Foundation
import StateJournal
@_spi(JournalStores) import StateJournalStorage
import Testing

/// Replay reads a journal in chunks (4,096 messages at most) and applies each chunk in one call.
/// Whatever the chunk a failure falls in, the outcome is that of applying the messages one by
/// one: the state of every message before the first that does not decode or apply, the failure
/// named at its sequence, and the determinism check's digests compared with the state right after
/// their message, at every chunk boundary. Each test runs twice: over the file store, whose cursor
/// reads ahead by itself, and over a store whose cursor does not, which a replay reads ahead of
/// in a child task while it applies (`JournalReplay.deliver`).
@Suite struct ChunkedReplayTests {
    /// The file store, with replays whose cursor does not read ahead by itself.
    final class NoReadAheadStore: ForwardingStore, @unchecked Sendable {
        final class Journal: ForwardingJournal, @unchecked Sendable {
            override func replay(chunkMessages: Int) -> JournalReplay {
                let inner = self.inner.replay(chunkMessages: chunkMessages)
                return JournalReplay { IteratorCursor(inner.makeAsyncIterator()) }
            }
        }
        override func wrap(_ journal: any OwnedJournal) -> any OwnedJournal { Journal(inner: journal) }
    }

    /// A cursor over another replay's iterator; `readsAhead` is the protocol's default (false).
    final class IteratorCursor: JournalReplayCursor, @unchecked Sendable {
        // Unchecked: `next()` is never called concurrently (the cursor's contract).
        var iterator: JournalReplay.Iterator
        init(_ iterator: JournalReplay.Iterator) { self.iterator = iterator }
        func next() async throws(JournalError) -> ReplayElement? { try await iterator.next() }
    }

    static func supervisor(_ directory: TemporaryDirectory, readAhead: Bool) -> Supervisor {
        readAhead
            ? Supervisor(store: NoReadAheadStore(directory: directory.path), logger: quietLogger)
            : Supervisor(directory: directory.path, logger: quietLogger)
    }

    /// An `Int` codec whose decoding refuses some values (a message that no longer decodes).
    struct RefusingCodec: ValueCodec {
        var refused: Set<Int> = []
        struct Refused: Error {}

        func encode(_ value: Int) throws -> [UInt8] { withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) } }
        func decode(_ bytes: UnsafeRawBufferPointer) throws -> Int {
            guard bytes.count == 8 else { throw Refused() }
            let value = Int(Int64(littleEndian: bytes.loadUnaligned(as: Int64.self)))
            if refused.contains(value) { throw Refused() }
            return value
        }
    }

    /// 10,000 messages, 1...10,000: three chunks of replay (4,096 messages each at most).
    static let count = 10_000

    func write(_ directory: TemporaryDirectory, options: ProcessOptions) async throws {
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(
                ChildSpec(id: "c", process: Counter(), options: options, messageCodec: RefusingCodec()))
            for value in 1...Self.count { try await counter.send(value) }
        }
    }

    func restart(
        _ directory: TemporaryDirectory, options: ProcessOptions, readAhead: Bool, rejecting: Int? = nil,
        refusing: Set<Int> = []
    ) async throws -> (state: Int?, failure: ProcessError?) {
        let supervisor = Self.supervisor(directory, readAhead: readAhead)
        do {
            let counter = try await supervisor.start(
                ChildSpec(
                    id: "c", process: Counter(rejecting: rejecting), options: options,
                    messageCodec: RefusingCodec(refused: refusing)))
            let state = try await counter.state
            await supervisor.shutdown()
            return (state, nil)
        } catch let error as SupervisorError {
            await supervisor.shutdown()
            return (nil, try #require(error.cause as? ProcessError))
        }
    }

    static func sum(through last: Int) -> Int { last * (last + 1) / 2 }

    @Test(arguments: [false, true]) func failuresInAnyChunkStopAtTheirOwnSequence(readAhead: Bool) async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        try await write(directory, options: options)

        let whole = try await restart(directory, options: options, readAhead: readAhead)
        #expect(whole.state == Self.sum(through: Self.count))

        // A message that no longer decodes, in the first, second and last chunk.
        for refused in [3, 5_000, 9_999] {
            let result = try await restart(directory, options: options, readAhead: readAhead, refusing: [refused])
            #expect(result.failure?.code == .replayFailed)
            #expect(result.failure?.sequence == UInt64(refused))
        }
        // One that no longer applies, in the second chunk, before one that does not decode in the
        // third: the first in journal order is named.
        let both = try await restart(
            directory, options: options, readAhead: readAhead, rejecting: 6_000, refusing: [9_000])
        #expect(both.failure?.sequence == 6_000)
        // And the other way round: the decoding failure comes first.
        let reversed = try await restart(
            directory, options: options, readAhead: readAhead, rejecting: 9_000, refusing: [6_000])
        #expect(reversed.failure?.sequence == 6_000)

        // Quarantine keeps the state of every message before the failure.
        options.replayFailure = .quarantine
        let quarantined = try await restart(directory, options: options, readAhead: readAhead, refusing: [8_193])
        #expect(quarantined.state == Self.sum(through: 8_192))
    }

    @Test(arguments: [false, true]) func digestsBetweenChunksCompareWithTheStateAfterTheirMessage(readAhead: Bool)
        async throws
    {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        options.determinismCheckInterval = 1_000
        // The determinism check needs the state's codec: the process's state is an `Int`.
        let spec = ChildSpec(
            id: "c", process: Counter(), options: options, messageCodec: RefusingCodec(),
            stateCodec: CompactCodec<Int>())
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(spec)
            for value in 1...Self.count { try await counter.send(value) }
        }
        let again = Self.supervisor(directory, readAhead: readAhead)
        try await again.run {
            let counter = try await again.start(spec)
            #expect(try await counter.state == Self.sum(through: Self.count))
            let report = try #require(await counter.lastReplay)
            #expect(report.messages == Self.count)
            #expect(report.digestsChecked == Self.count / 1_000)
        }
    }
}
