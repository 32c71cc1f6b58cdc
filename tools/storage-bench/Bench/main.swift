// Measures the journal file layer on this machine: compression ratios,
// append rates per durability and concurrency, group commit across journals,
// replay rate and memory per journal.
//
//     swift run -c release statejournal-storage-bench [--quick] [--seconds S] [--only SECTION]... [--dir DIR]
//         [--processes 1,64,1024] [--method automatic,syncfs,fdatasync,written]   (--help lists the sections)
//
// Every figure is a median of three runs, all in this one process.
import ArgumentParser
import CBenchSupport
import CLZ4
import Foundation
import Logging
import StateJournalEncoding
import StateJournalMacros
import StateJournalStorage
import StateJournalSystem

#if canImport(Glibc)
    import Glibc
#endif

// MARK: Arguments

/// The command line (`--help` lists it).
struct Configuration: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statejournal-storage-bench",
        abstract: "Figures of the journal file layer: compression, append rates, sync rounds, replay, memory.")

    enum Section: String, CaseIterable, ExpressibleByArgument {
        case compression
        case lz4Cache = "lz4-cache"
        case encoding, append, limits, processes, neighbour, replay, memory
    }
    /// What the many-processes sections measure: `.synced` with a sync method, or `.written`.
    enum Method: String, CaseIterable, ExpressibleByArgument { case automatic, syncfs, fdatasync, written }

    @Flag(help: "A smoke run of seconds.")
    var quick = false
    @Option(name: .customLong("seconds"), help: "Length of each timed run in seconds (default 2, 0.3 with --quick).")
    var secondsOption: Double?
    @Option(name: .customLong("only"), help: "Run only this section (repeatable).")
    var sections: [Section] = []
    @Option(
        name: .customLong("processes"), help: "Journals for the many-processes sections (default 1,64,1024).",
        transform: positiveCounts)
    var processCounts: [Int]?
    @Option(
        name: .customLong("method"),
        help: "What the many-processes sections measure, separated by commas (default all).",
        transform: methods)
    var syncMethods: Set<String>?
    @Option(name: .customLong("dir"), help: "Where the journals go (default: a new folder in the temporary directory).")
    var directory: String?
    @Option(
        name: .customLong("write-journal"), parsing: .upToNextOption,
        help: "PATH COUNT: write a journal of COUNT events (batches of 64) for CLI measurements, then exit.")
    var writeJournal: [String] = []

    var seconds: Double { secondsOption ?? (quick ? 0.3 : 2) }
    var only: Set<String> { Set(sections.map(\.rawValue)) }
    var baseDirectory: String { directory ?? FileManager.default.temporaryDirectory.path + "/sj-bench-\(getpid())" }

    func validate() throws {
        if let secondsOption, !(secondsOption > 0) { throw ValidationError("--seconds needs a positive number") }
        if !writeJournal.isEmpty && (writeJournal.count != 2 || Int(writeJournal[1]) == nil) {
            throw ValidationError("--write-journal takes a path and a count")
        }
    }
}

/// "1,64,1024" as counts, each positive.
func positiveCounts(_ text: String) throws -> [Int] {
    let counts = text.split(separator: ",").map { Int($0) }
    guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw ValidationError("needs positive counts separated by commas, not \(text)")
    }
    return counts.map { $0! }
}

/// "automatic,written" as the methods' names, each one of ``Configuration/Method``.
func methods(_ text: String) throws -> Set<String> {
    let names = text.split(separator: ",").map(String.init)
    guard !names.isEmpty, names.allSatisfy({ Configuration.Method(rawValue: $0) != nil }) else {
        throw ValidationError(
            "takes \(Configuration.Method.allCases.map(\.rawValue).joined(separator: ", ")) separated by commas, not \(text)"
        )
    }
    return Set(names)
}

let configuration = Configuration.parseOrExit()
let seconds = configuration.seconds
let quick = configuration.quick
let only = configuration.only
let baseDirectory = configuration.baseDirectory
let repetitions = quick ? 1 : 3
let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
func enabled(_ name: String) -> Bool { only.isEmpty || only.contains(name) }
try? FileManager.default.removeItem(atPath: baseDirectory)
try FileManager.default.createDirectory(atPath: baseDirectory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: baseDirectory) }

// MARK: Data

/// Realistic JSON-like events; `target` picks a size around 150 bytes.
func makeEvents(_ count: Int, seed: UInt64 = 42) -> [[UInt8]] {
    var g = SplitMix(seed: seed)
    let kinds = [
        "message.posted", "member.joined", "member.left", "typing.started", "reaction.added", "message.edited",
    ]
    let words = [
        "hello", "world", "state", "journal", "replay", "crash", "again", "swift", "actor", "batch", "ok", "thanks",
        "see", "you", "soon",
    ]
    return (0..<count).map { i in
        let kind = kinds[Int(g.next() % UInt64(kinds.count))]
        let n = 2 + Int(g.next() % 8)
        let text = (0..<n).map { _ in words[Int(g.next() % UInt64(words.count))] }.joined(separator: " ")
        let json =
            #"{"type":"\#(kind)","room":"room-\#(g.next() % 300)","user":"user-\#(g.next() % 10000)","id":\#(i),"ts":\#(1_763_700_000_000 + i * 41),"text":"\#(text)"}"#
        return Array(json.utf8)
    }
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
func format(_ value: Double) -> String {
    if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
    if value >= 1e3 { return String(format: "%.1fk", value / 1e3) }
    return String(format: "%.0f", value)
}

let events = makeEvents(200_000)

// `--write-journal PATH COUNT`: writes a journal of COUNT events (batches of 64) for CLI measurements, then exits.
if configuration.writeJournal.count == 2, let count = Int(configuration.writeJournal[1]) {
    let path = configuration.writeJournal[0]
    let writer = try await JournalWriter.open(
        path: path, processID: "big", options: JournalOptions(durability: .written, idleTimeout: nil), logger: logger)
    var i = 0
    while i < count {
        let batch = (i..<min(i + 64, count)).map { events[$0 % events.count] }
        try await writer.append(contentsOf: batch)
        i += batch.count
    }
    try await writer.close(discard: false)
    print("wrote \(count) messages to \(path)")
    exit(0)
}
let averageSize = Double(events.reduce(0) { $0 + $1.count }) / Double(events.count)
print(
    "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, CRC32C \(CRC32C.implementation), directory \(baseDirectory)"
)
print("events: \(events.count), average \(String(format: "%.0f", averageSize)) B\n")

// MARK: Compression ratios

if enabled("compression") {
    print("== Compression ratio on the events (raw payload bytes / stored payload bytes)")
    /// Raw payload bytes / stored payload bytes, and the compression time per message (µs).
    /// `level` 0 is LZ4's fast compressor; 2 and more are LZ4HC's levels.
    func ratio(batchSize: Int, linked: Bool, level: Int32 = 0) -> (ratio: Double, microseconds: Double) {
        let stream = LZ4_createStream()!
        let highStream = LZ4_createStreamHC()!
        defer {
            LZ4_freeStream(stream)
            LZ4_freeStreamHC(highStream)
        }
        func reset() {
            if level == 0 { LZ4_resetStream_fast(stream) } else { LZ4_resetStreamHC_fast(highStream, level) }
        }
        reset()
        let ring = UnsafeMutablePointer<CChar>.allocate(capacity: 1 << 20)
        defer { ring.deallocate() }
        var out = [CChar](repeating: 0, count: 1 << 20)
        var raw = 0
        var stored = 0
        var position = 0
        var index = 0
        var seconds = 0.0
        let sample = Array(events.prefix(50_000))
        while index < sample.count {
            var payload: [UInt8] = []
            for m in sample[index..<min(index + batchSize, sample.count)] {
                var v = m.count
                while v >= 0x80 {
                    payload.append(UInt8(v & 0x7F) | 0x80)
                    v >>= 7
                }
                payload.append(UInt8(v))
                payload += m
            }
            index += batchSize
            if !linked || position + payload.count > (1 << 20) {
                if linked && position > 0 {
                    position = Int(
                        level == 0 ? LZ4_saveDict(stream, ring, 65536) : LZ4_saveDictHC(highStream, ring, 65536))
                } else {
                    reset()
                    position = 0
                }
            }
            payload.withUnsafeBytes { p in
                (ring + position).update(from: p.baseAddress!.assumingMemoryBound(to: CChar.self), count: p.count)
            }
            let start = now()
            let n = out.withUnsafeMutableBufferPointer {
                level == 0
                    ? LZ4_compress_fast_continue(
                        stream, ring + position, $0.baseAddress, Int32(payload.count), Int32($0.count), 1)
                    : LZ4_compress_HC_continue(
                        highStream, ring + position, $0.baseAddress, Int32(payload.count), Int32($0.count))
            }
            seconds += now() - start
            position += payload.count
            raw += payload.count
            stored += (n > 0 && Int(n) < payload.count) ? Int(n) : payload.count
            if !(n > 0 && Int(n) < payload.count) && linked {
                reset()
                position = 0
            }
        }
        return (Double(raw) / Double(stored), seconds / Double(sample.count) * 1e6)
    }
    func row(_ label: String, batchSize: Int, linked: Bool, level: Int32 = 0) {
        let (r, us) = ratio(batchSize: batchSize, linked: linked, level: level)
        print(
            "  \(label.padding(toLength: 44, withPad: " ", startingAt: 0)) \(String(format: "%.2f   %.2f µs per message", r, us))"
        )
    }
    print("  how                                          ratio  compression time")
    row("linked, one message per frame", batchSize: 1, linked: true)
    row("independent, one message per frame", batchSize: 1, linked: false)
    row("independent, 16 messages per frame", batchSize: 16, linked: false)
    row("independent, 256 messages per frame", batchSize: 256, linked: false)
    row("linked, 16 messages per frame", batchSize: 16, linked: true)
    for level: Int32 in [2, 4, 9] {
        row("LZ4HC \(level), linked, one message per frame", batchSize: 1, linked: true, level: level)
        row("LZ4HC \(level), linked, 16 messages per frame", batchSize: 16, linked: true, level: level)
    }
    // What the writer produces, file bytes included (headers, frame headers), at each level.
    for level in [CompressionLevel.fast, .high, .high(level: 4)] {
        let path = baseDirectory + "/ratio.journal"
        var options = JournalOptions(durability: .written, idleTimeout: nil)
        options.compressionLevel = level
        let writer = try await JournalWriter.open(path: path, processID: "ratio", options: options, logger: logger)
        for m in events.prefix(50_000) { try await writer.append(m) }
        try await writer.close(discard: false)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let payload = events.prefix(50_000).reduce(0) { $0 + $1.count }
        print(
            "  writer at \(level), one message per append: "
                + String(
                    format: "%.1f B on disk per message (%.0f B raw), file ratio %.2f", Double(size) / 50_000,
                    Double(payload) / 50_000, Double(payload) / Double(size)))
        try FileManager.default.removeItem(atPath: path)
    }
    print("")
}

func measure(_ label: String, _ body: () async throws -> Double) async rethrows {
    var values: [Double] = []
    for _ in 0..<repetitions { values.append(try await body()) }
    print(
        "  \(label.padding(toLength: 58, withPad: " ", startingAt: 0)) \(format(median(values)).padding(toLength: 8, withPad: " ", startingAt: 0)) msg/s   (runs: \(values.map(format).joined(separator: ", ")))"
    )
}

// MARK: Message encoding

struct ChatEvent: Codable, Equatable {
    var type: String
    var room: String
    var user: String
    var id: Int
    var ts: Int64
    var text: String
}

enum ChatMessage: Codable, Equatable {
    case join(user: String)
    case post(user: String, room: String, text: String, ts: Int64)
}

/// The same shapes with `@CompactCodable`: the same bytes, written and read without `Codable`.
@CompactCodable
struct FastChatEvent: Codable, Equatable {
    var type: String
    var room: String
    var user: String
    var id: Int
    var ts: Int64
    var text: String
}

@CompactCodable
enum FastChatMessage: Codable, Equatable {
    case join(user: String)
    case post(user: String, room: String, text: String, ts: Int64)
}

if enabled("lz4-cache") {
    // What LZ4 costs per one-message frame when many journals take turns: each journal's own stream
    // (64 KiB window and 16 KiB of room, as the writer keeps it), with 8 MiB of other memory
    // touched between two frames of one journal (as the kernel and other threads do between two
    // appends in a sync round); beside it, a per-thread state with only the journal's last 2 KiB
    // loaded as the dictionary (output a reader decodes the same way).
    print("== LZ4 per one-message frame, journals taking turns, 8 MiB touched between turns")
    func measure(journals: Int, loadedDictionary: Int?, touching: Bool = true) -> (nanoseconds: Double, bytes: Double) {
        let window = 64 << 10
        let capacity = window + (16 << 10)
        let streams = (0..<journals).map { _ in LZ4_createStream()! }
        let histories = (0..<journals).map { _ in UnsafeMutablePointer<CChar>.allocate(capacity: capacity) }
        var positions = [Int](repeating: 0, count: journals)
        let hot = LZ4_createStream()!
        let junk = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 64)
        var out = [CChar](repeating: 0, count: 1024)
        defer {
            for stream in streams { LZ4_freeStream(stream) }
            for history in histories { history.deallocate() }
            LZ4_freeStream(hot)
            junk.deallocate()
        }
        let rounds = quick ? 10 : max(20, 40_000 / journals)
        var elapsed = 0.0
        var frames = 0
        var stored = 0
        var next = 0
        for round in 0..<rounds {
            if touching {
                junk.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: round), count: 8 << 20)
            }
            for j in 0..<journals {
                let event = events[next % events.count]
                next += 1
                let start = now()
                let history = histories[j]
                if positions[j] + event.count > capacity {
                    if loadedDictionary == nil {
                        positions[j] = Int(LZ4_saveDict(streams[j], history, Int32(window)))
                    } else {
                        history.update(from: history + positions[j] - window, count: window)
                        positions[j] = window
                    }
                }
                event.withUnsafeBytes { bytes in
                    (history + positions[j]).update(
                        from: bytes.baseAddress!.assumingMemoryBound(to: CChar.self), count: bytes.count)
                }
                let source = history + positions[j]
                let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    if let size = loadedDictionary {
                        LZ4_resetStream_fast(hot)
                        let dictionary = min(positions[j], size)
                        LZ4_loadDict(hot, source - dictionary, Int32(dictionary))
                        return LZ4_compress_fast_continue(
                            hot, source, buffer.baseAddress, Int32(event.count), Int32(buffer.count), 1)
                    }
                    return LZ4_compress_fast_continue(
                        streams[j], source, buffer.baseAddress, Int32(event.count), Int32(buffer.count), 1)
                }
                let end = now()
                positions[j] += event.count
                if round > 0 {
                    elapsed += end - start
                    frames += 1
                    stored += Int(written)
                }
            }
        }
        return (elapsed / Double(frames) * 1e9, Double(stored) / Double(frames))
    }
    for dictionary in [nil, 2048] as [Int?] {
        let (nanoseconds, bytes) = measure(journals: 1, loadedDictionary: dictionary, touching: false)
        let how = dictionary == nil ? "own stream, nothing between" : "last 2 KiB, nothing between"
        print(
            "  1     journal(s), \(how.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(format: "%6.0f", nanoseconds)) ns per frame, \(String(format: "%.1f", bytes)) B stored"
        )
    }
    for journals in [1, 64, 1024] {
        for dictionary in [nil, 2048] as [Int?] {
            let (nanoseconds, bytes) = measure(journals: journals, loadedDictionary: dictionary)
            let how = dictionary == nil ? "each journal's own stream" : "last 2 KiB loaded per frame"
            print(
                "  \(String(journals).padding(toLength: 5, withPad: " ", startingAt: 0)) journal(s), \(how.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(format: "%6.0f", nanoseconds)) ns per frame, \(String(format: "%.1f", bytes)) B stored"
            )
        }
    }
    print("")
}

if enabled("encoding") {
    var g = SplitMix(seed: 7)
    let words = ["hello", "world", "state", "journal", "replay", "crash", "again", "swift", "actor", "batch"]
    let values = (0..<10_000).map { i in
        ChatEvent(
            type: ["message.posted", "member.joined", "reaction.added"][i % 3], room: "room-\(g.next() % 300)",
            user: "user-\(g.next() % 10000)", id: i, ts: 1_763_700_000_000 + Int64(i) * 41,
            text: (0..<(2 + Int(g.next() % 6))).map { _ in words[Int(g.next() % 10)] }.joined(separator: " "))
    }
    let jsonSize = try values.reduce(0) { $0 + (try JSONEncoder().encode($1)).count } / values.count
    let compactSize = try values.reduce(0) { $0 + (try CompactEncoder().encode($1)).count } / values.count
    print("== Message encoding, 6-field chat events (JSON \(jsonSize) B, compact \(compactSize) B), one thread")
    let encoded = try values.map { try CompactEncoder().encode($0) }
    let jsonEncoded = try values.map { try JSONEncoder().encode($0) }
    func rate(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        var n = 0
        while now() - start < seconds / 2 {
            try body()
            n += values.count
        }
        return Double(n) / (now() - start)
    }
    /// Encodes `items` into one reused buffer, as the journal's writer does.
    func encodeRate<T: Encodable>(_ items: [T]) throws -> Double {
        var buffer: [UInt8] = []
        let encoder = CompactEncoder()
        return try rate {
            for v in items {
                buffer.removeAll(keepingCapacity: true)
                try encoder.encode(v, into: &buffer)
            }
        }
    }
    try await measure("CompactEncoder.encode (reused buffer)") { try encodeRate(values) }
    try await measure("CompactEncodingSession.encode (buffers kept)") {
        let session = CompactEncodingSession()
        return try rate { for v in values { _ = try session.encode(v) } }
    }
    try await measure("CompactDecoder.decode") {
        let decoder = CompactDecoder()
        return try rate { for b in encoded { _ = try decoder.decode(ChatEvent.self, from: b) } }
    }
    let enumValues = values.map { ChatMessage.post(user: $0.user, room: $0.room, text: $0.text, ts: $0.ts) }
    let enumEncoded = try enumValues.map { try CompactEncoder().encode($0) }
    try await measure("CompactDecoder.decode, enum with associated values") {
        let decoder = CompactDecoder()
        return try rate { for b in enumEncoded { _ = try decoder.decode(ChatMessage.self, from: b) } }
    }
    // A state with collections whose iteration order is not their value: a Set and a Dictionary
    // with non-String keys are written in a canonical (sorted) order.
    struct CartState: Codable, Equatable {
        var lines: [String: Int]
        var seen: Set<Int>
        var byID: [Int: String]
    }
    let carts = (0..<200).map { i in
        CartState(
            lines: Dictionary(uniqueKeysWithValues: (0..<20).map { ("sku-\(i * 20 + $0)", $0) }),
            seen: Set((0..<20).map { i * 1000 + $0 * 7 }),
            byID: Dictionary(uniqueKeysWithValues: (0..<20).map { (i * 100 + $0, "user-\($0)") }))
    }
    let cartBytes = try carts.map { try CompactEncoder().encode($0) }
    func cartRate(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        var n = 0
        while now() - start < seconds / 2 {
            try body()
            n += carts.count
        }
        return Double(n) / (now() - start)
    }
    try await measure("CompactEncoder.encode, state with 3×20-entry Set/Dictionary") {
        let encoder = CompactEncoder()
        return try cartRate { for c in carts { _ = try encoder.encode(c) } }
    }
    try await measure("CompactDecoder.decode, state with 3×20-entry Set/Dictionary") {
        let decoder = CompactDecoder()
        return try cartRate { for b in cartBytes { _ = try decoder.decode(CartState.self, from: b) } }
    }
    try await measure("Foundation JSONEncoder.encode, state with 3×20-entry Set/Dictionary") {
        let encoder = JSONEncoder()
        return try cartRate { for c in carts { _ = try encoder.encode(c) } }
    }
    try await measure("Foundation JSONEncoder.encode") {
        let encoder = JSONEncoder()
        return try rate { for v in values { _ = try encoder.encode(v) } }
    }
    try await measure("Foundation JSONDecoder.decode") {
        let decoder = JSONDecoder()
        return try rate { for b in jsonEncoded { _ = try decoder.decode(ChatEvent.self, from: b) } }
    }
    let fastValues = values.map {
        FastChatEvent(type: $0.type, room: $0.room, user: $0.user, id: $0.id, ts: $0.ts, text: $0.text)
    }
    let fastEnums = values.map { FastChatMessage.post(user: $0.user, room: $0.room, text: $0.text, ts: $0.ts) }
    let fastEncoded = try fastValues.map { try CompactEncoder().encode($0) }
    let fastEnumEncoded = try fastEnums.map { try CompactEncoder().encode($0) }
    precondition(fastEncoded == encoded && fastEnumEncoded == enumEncoded, "@CompactCodable bytes differ")
    try await measure("@CompactCodable: CompactEncoder.encode (reused buffer)") { try encodeRate(fastValues) }
    try await measure("@CompactCodable: CompactDecoder.decode") {
        let decoder = CompactDecoder()
        return try rate { for b in encoded { _ = try decoder.decode(FastChatEvent.self, from: b) } }
    }
    try await measure("@CompactCodable: CompactEncoder.encode, enum") { try encodeRate(fastEnums) }
    try await measure("@CompactCodable: CompactDecoder.decode, enum") {
        let decoder = CompactDecoder()
        return try rate { for b in enumEncoded { _ = try decoder.decode(FastChatMessage.self, from: b) } }
    }
    let decodedBack = try encoded.map { try CompactDecoder().decode(ChatEvent.self, from: $0) }
    precondition(decodedBack == values)
    let fastDecoded = try encoded.map { try CompactDecoder().decode(FastChatEvent.self, from: $0) }
    let fastEnumDecoded = try enumEncoded.map { try CompactDecoder().decode(FastChatMessage.self, from: $0) }
    precondition(fastDecoded == fastValues && fastEnumDecoded == fastEnums, "@CompactCodable values differ")
    print("")
}

// MARK: Physical limits

/// One round: a 150-byte-ish append to each of `files` files, then one sync of them all.
/// Returns messages/s when each round carries one message per file.
func syncRoundLimit(files: Int, method: String) throws -> Double {
    let directory = baseDirectory + "/limit-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let fds = (0..<files).map { open("\(directory)/f\($0)", O_WRONLY | O_CREAT | O_APPEND, 0o644) }
    defer { for fd in fds { close(fd) } }
    let dirFD = open(directory, O_RDONLY | O_DIRECTORY)
    defer { close(dirFD) }
    let deadline = now() + seconds
    let start = now()
    var rounds = 0
    var i = 0
    while now() < deadline {
        for fd in fds {
            events[i % events.count].withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            i += 1
        }
        if method == "syncfs" { _ = sj_bench_syncfs(dirFD) } else { for fd in fds { _ = fdatasync(fd) } }
        rounds += 1
    }
    return Double(rounds * files) / (now() - start)
}

if enabled("limits") {
    print("== Physical limits: rounds of one append per file then one sync (no library)")
    for files in [1, 64, 1024] {
        try await measure("\(files) file(s), write each then syncfs") {
            try syncRoundLimit(files: files, method: "syncfs")
        }
        if files <= 64 {
            try await measure("\(files) file(s), write each then fdatasync each") {
                try syncRoundLimit(files: files, method: "fdatasync")
            }
        }
    }
    print("")
}

// MARK: Append rates

/// `processes` tasks, each with its own journal (or all sharing one when `shared`),
/// each awaiting one append at a time, for `seconds`. Returns messages/s.
func appendRate(processes: Int, shared: Bool, durability: Durability, syncMethod: SyncMethod = .automatic) async throws
    -> Double
{
    let directory = baseDirectory + "/append-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let options = JournalOptions(durability: durability, syncMethod: syncMethod, idleTimeout: nil)
    var writers: [JournalWriter] = []
    for p in 0..<(shared ? 1 : processes) {
        writers.append(
            try await JournalWriter.open(
                path: "\(directory)/p\(p).journal", processID: "p\(p)", options: options, logger: logger))
    }
    let writersCopy = writers
    let roundsBefore = syncRoundStatistics(forDirectory: directory)
    let deadline = now() + seconds
    let start = now()
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for p in 0..<processes {
            group.addTask {
                let writer = writersCopy[shared ? 0 : p]
                var sent = 0
                var i = p * 7919
                while now() < deadline {
                    try await writer.append(events[i % events.count])
                    i += 1
                    sent += 1
                }
                return sent
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = now() - start
    if ProcessInfo.processInfo.environment["SJ_BENCH_ROUNDS"] != nil,
        let after = syncRoundStatistics(forDirectory: directory), let before = roundsBefore,
        after.rounds > before.rounds
    {
        print("    " + after.summary(since: before, seconds: elapsed))
    }
    for w in writers { try await w.close(discard: true) }
    return Double(total) / elapsed
}

if enabled("append") {
    print(
        "== One journal, 1 and 64 concurrent appenders, each awaiting one append at a time (~\(Int(averageSize)) B events)"
    )
    for durability in [Durability.buffered(within: .milliseconds(10)), .written, .synced] {
        for appenders in [1, 64] {
            try await measure("\(durability), \(appenders) appender(s)") {
                try await appendRate(processes: appenders, shared: true, durability: durability)
            }
        }
    }
    print("")
}

if enabled("processes") {
    print("== Many processes, one journal each, each awaiting one append at a time, .synced")
    for processes in configuration.processCounts ?? [1, 64, 1024] {
        for method in [SyncMethod.automatic, .fileSystem, .perFile] {
            if processes == 1 && method == .fileSystem { continue }
            if let methods = configuration.syncMethods, !methods.contains(method.description) { continue }
            try await measure("\(processes) process(es), sync \(method)") {
                try await appendRate(processes: processes, shared: false, durability: .synced, syncMethod: method)
            }
        }
    }
    print("== Many processes, .written")
    for processes in configuration.processCounts ?? [1, 64, 1024] {
        if let methods = configuration.syncMethods, !methods.contains("written") { continue }
        try await measure("\(processes) process(es), written") {
            try await appendRate(processes: processes, shared: false, durability: .written)
        }
    }
    print("")
}

// MARK: Neighbour cost

if enabled("neighbour") {
    print(
        "== Cost of syncfs to a neighbour: a thread writing 1 MiB blocks (no sync) to another file of the same file system"
    )
    final class Neighbour: @unchecked Sendable {
        // Safe: `stop` and `written` are touched by the neighbour thread and read after it ends.
        var stop = false
        var written = 0
        var thread: Thread?
        func start(path: String) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let block = [UInt8](repeating: 0x5A, count: 1 << 20)
            thread = Thread {
                var offset: off_t = 0
                while !self.stop {
                    block.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, offset) }
                    offset += off_t(block.count)
                    self.written += block.count
                    if offset > 512 << 20 {
                        offset = 0
                        ftruncate(fd, 0)
                    }
                }
                close(fd)
            }
            thread!.start()
        }
    }
    for method in [SyncMethod.fileSystem, .perFile] {
        let neighbour = Neighbour()
        neighbour.start(path: baseDirectory + "/neighbour.bin")
        let t0 = now()
        var values: [Double] = []
        for _ in 0..<repetitions {
            values.append(try await appendRate(processes: 64, shared: false, durability: .synced, syncMethod: method))
        }
        neighbour.stop = true
        let elapsed = now() - t0
        try await Task.sleep(for: .milliseconds(200))
        print(
            "  64 processes, sync \(method): \(format(median(values))) msg/s; neighbour wrote \(String(format: "%.0f", Double(neighbour.written) / elapsed / 1e6)) MB/s"
        )
        try? FileManager.default.removeItem(atPath: baseDirectory + "/neighbour.bin")
    }
    print("")
}

// MARK: Replay

if enabled("replay") {
    let count = quick ? 100_000 : 1_000_000
    print("== Replay of \(count) messages from one journal")
    let path = baseDirectory + "/replay.journal"
    let writer = try await JournalWriter.open(
        path: path, processID: "replay", options: JournalOptions(durability: .written, idleTimeout: nil), logger: logger
    )
    var i = 0
    while i < count {
        let batch = (i..<min(i + 64, count)).map { events[$0 % events.count] }
        try await writer.append(contentsOf: batch)
        i += batch.count
    }
    try await writer.close(discard: false)
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    print(String(format: "  file: %.1f MB, %.1f B per message", Double(size) / 1e6, Double(size) / Double(count)))
    try await measure("JournalReader.forEachMessage (blocking, zero-copy)") {
        let start = now()
        let reader = try JournalReader(path: path)
        var n = 0
        var bytes = 0
        try reader.forEachMessage { _, m in
            n += 1
            bytes += m.count
        }
        precondition(n == count)
        return Double(n) / (now() - start)
    }
    try await measure("JournalReplay (async, chunks of 4096, copied)") {
        let start = now()
        var n = 0
        for try await element in JournalReplay(path: path) {
            if case .messages(let m) = element { n += m.count }
        }
        precondition(n == count)
        return Double(n) / (now() - start)
    }
    try FileManager.default.removeItem(atPath: path)
    print("")
}

// MARK: Memory

if enabled("memory") {
    let journals = quick ? 100 : 1000
    print("== Memory per journal (\(journals) journals, malloc in-use bytes)")
    func inUse() -> Int { sj_bench_malloc_in_use() }
    let directory = baseDirectory + "/memory"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    // Active: file open, compression state allocated (no idle release during the measurement).
    var before = inUse()
    var writers: [JournalWriter] = []
    for p in 0..<journals {
        let w = try await JournalWriter.open(
            path: "\(directory)/a\(p).journal", processID: "a\(p)",
            options: JournalOptions(durability: .written, idleTimeout: nil), logger: logger)
        try await w.append(events[p])
        writers.append(w)
    }
    let active = inUse() - before
    for w in writers { try await w.close(discard: true) }
    writers.removeAll()
    // Idle: the same, then released after 200 ms without work.
    before = inUse()
    for p in 0..<journals {
        let w = try await JournalWriter.open(
            path: "\(directory)/i\(p).journal", processID: "i\(p)",
            options: JournalOptions(durability: .written, idleTimeout: .milliseconds(200)), logger: logger)
        try await w.append(events[p])
        writers.append(w)
    }
    while writers.contains(where: \.isFileOpen) { try await Task.sleep(for: .milliseconds(50)) }
    let idle = inUse() - before
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    print("  active (file open, LZ4 state): \(format(Double(active) / Double(journals))) B per journal")
    print(
        "  idle (released):               \(format(Double(idle) / Double(journals))) B per journal; descriptors open in the process: \(descriptors)"
    )
    for w in writers { try await w.close(discard: true) }
}
