import Foundation
import Logging
import StateJournalStorage
import StateJournalSystem
import StateJournalTesting
import Synchronization
import Testing

/// A directory for one test (the test kit's), removed when released.
typealias TemporaryDirectory = TemporaryJournalDirectory

extension TemporaryJournalDirectory {
    /// Every entry of the directory, sorted.
    var entries: [String] { files }
}

let testLogger = Logger(label: "statejournal.tests") { _ in SwiftLogNoOpLogHandler() }

/// A deterministic generator (SplitMix64), so failures reproduce.
typealias SeededGenerator = SplitMix

/// A realistic small JSON-like event, 100–250 bytes.
func sampleEvent(_ index: Int, using generator: inout SeededGenerator) -> [UInt8] {
    let kinds = ["message.posted", "member.joined", "member.left", "typing.started", "reaction.added"]
    let kind = kinds[Int(generator.next() % UInt64(kinds.count))]
    let user = generator.next() % 5000
    let room = generator.next() % 200
    let words = [
        "hello", "world", "state", "journal", "replay", "crash", "again", "swift", "actor", "batch", "ok", "thanks",
    ]
    let count = 3 + Int(generator.next() % 12)
    let text = (0..<count).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
    let json =
        #"{"type":"\#(kind)","room":"room-\#(room)","user":"user-\#(user)","seq":\#(index),"ts":\#(1_700_000_000_000 + index * 37),"text":"\#(text)"}"#
    return Array(json.utf8)
}

/// Every message of the journal at `path` (snapshot excluded), read with the blocking reader.
func readAll(_ path: String) throws -> (messages: [JournalMessage], end: JournalEnd) {
    let reader = try JournalReader(path: path)
    var messages: [JournalMessage] = []
    while let frame = try reader.nextFrame() { messages.append(contentsOf: frame.messages) }
    return (messages, reader.end ?? .clean)
}

/// Replays through the async API: the snapshot and the messages after it.
func replayAll(_ path: String) async throws -> (snapshot: JournalSnapshot?, messages: [JournalMessage]) {
    var snapshot: JournalSnapshot?
    var messages: [JournalMessage] = []
    for try await element in JournalReplay(path: path, chunkMessages: 100) {
        switch element {
        case .snapshot(let s): snapshot = s
        case .messages(let m): messages.append(contentsOf: m)
        case .stateDigest: break
        }
    }
    return (snapshot, messages)
}

func fileBytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

func writeBytes(_ bytes: [UInt8], to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

extension JournalOptions {
    static func testing(
        _ durability: Durability = .written, compression: Bool = true, level: CompressionLevel = .fast
    ) -> JournalOptions {
        var options = JournalOptions(durability: durability, compression: compression, idleTimeout: nil)
        options.timeMarkInterval = nil  // frame layouts in tests are exactly the message batches
        options.compressionLevel = level
        return options
    }
}

/// A value shared between tasks of a test: the library's own lock.
typealias Locked = LockedValue

extension LockedValue {
    var value: Value { withLock { $0 } }
}

/// Limits the files this OS process writes to `bytes` (`pwrite` past it fails with `EFBIG`, as a
/// full disk fails it with `ENOSPC`). For a child process of an exit test: the limit is the process's.
func limitFileSize(toBytes bytes: Int) {
    signal(SIGXFSZ, SIG_IGN)
    var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t(bytes))
    setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
}

/// Whether `work` finished before a bound of 30 s (so that a stall fails the test instead of
/// hanging it). Then calls `release`, which frees whatever held it, and waits for `work`.
func finishesBeforeBound(
    _ work: @escaping @Sendable () async throws -> Void, thenRelease release: () -> Void
) async throws -> Bool {
    try await withThrowingTaskGroup(of: Bool.self) { race in
        race.addTask {
            try await work()
            return true
        }
        race.addTask {
            try? await Task.sleep(for: .seconds(30))
            return false
        }
        let first = try await race.next() ?? false
        race.cancelAll()
        release()
        try await race.waitForAll()
        return first
    }
}
