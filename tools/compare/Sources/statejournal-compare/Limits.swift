import CCompareSupport
import Foundation
import StateJournal

#if canImport(Glibc)
    import Glibc
#endif

/// What this machine allows, measured in the same run: every other figure reads as a fraction of these.
struct Limits: Sendable, Codable {
    var sequentialWriteMBPerSecond: Double
    var fdatasyncAfter4KiBP50Microseconds: Double
    var fdatasyncAfter4KiBP99Microseconds: Double
    /// One small write per file, then one sync round (fdatasync for one file, syncfs for several): messages/s by file count.
    var syncRoundMessagesPerSecond: [String: Double]
    /// One small `write` per message, no sync, spread over that many files: messages/s by file count.
    var writeMessagesPerSecond: [String: Double]
    var lz4CompressMBPerSecond: Double
    var lz4DecompressMBPerSecond: Double
    var lz4Ratio: Double
    var compactEncodesPerSecond: Double
    var compactDecodesPerSecond: Double
    /// The same events as `@CompactCodable` values through `CompactCodec` (the same bytes).
    var macroEncodesPerSecond: Double?
    var macroDecodesPerSecond: Double?
    var jsonEncodesPerSecond: Double
    var jsonDecodesPerSecond: Double
}

func measureLimits(settings: Settings) throws -> Limits {
    let directory = settings.directory + "/limits"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let records = try Corpus.templates.map { try FileStore.record($0, encoding: .json) }
    let stream: [UInt8] = records.flatMap { $0 }

    // Sequential write bandwidth, one fdatasync at the end.
    let total = settings.quick ? 16 << 20 : 256 << 20
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    for i in 0..<chunk.count { chunk[i] = stream[i % stream.count] }
    let bandwidth = try median(
        (0..<settings.repetitions).map { run in
            let path = "\(directory)/sequential-\(run)"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemCallError(call: "open", code: errno) }
            defer {
                close(fd)
                unlink(path)
            }
            let start = ContinuousClock.now
            for _ in 0..<(total / chunk.count) { try chunk.withUnsafeBytes { try writeAll(fd, $0) } }
            guard fdatasync(fd) == 0 else { throw SystemCallError(call: "fdatasync", code: errno) }
            return Double(total) / inSeconds(ContinuousClock.now - start) / 1e6
        })

    // fdatasync latency after a 4 KiB append.
    var syncs: [Double] = []
    do {
        let path = "\(directory)/latency"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemCallError(call: "open", code: errno) }
        defer {
            close(fd)
            unlink(path)
        }
        let page = Array(chunk.prefix(4096))
        for _ in 0..<(settings.quick ? 50 : 500) {
            try page.withUnsafeBytes { try writeAll(fd, $0) }
            let start = ContinuousClock.now
            guard fdatasync(fd) == 0 else { throw SystemCallError(call: "fdatasync", code: errno) }
            syncs.append(inSeconds(ContinuousClock.now - start))
        }
        syncs.sort()
    }

    // Sync rounds and bare writes over 1, 64 and 1,024 files, one ~150 B record per file per round.
    var rounds: [String: Double] = [:]
    var writes: [String: Double] = [:]
    for files in settings.processCounts {
        let fds: [Int32] = try (0..<files).map { f in
            let fd = open("\(directory)/round-\(f)", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemCallError(call: "open", code: errno) }
            return fd
        }
        defer {
            for (f, fd) in fds.enumerated() {
                close(fd)
                unlink("\(directory)/round-\(f)")
            }
        }
        var roundTimes: [Double] = []
        var writeTimes: [Double] = []
        let budget = ContinuousClock.now + .milliseconds(settings.quick ? 200 : 1000)
        var round = 0
        while roundTimes.count < 5 || ContinuousClock.now < budget {
            let start = ContinuousClock.now
            for (f, fd) in fds.enumerated() {
                try records[(f &* 7919 &+ round) % records.count].withUnsafeBytes { try writeAll(fd, $0) }
            }
            let written = ContinuousClock.now
            let status = files == 1 ? fdatasync(fds[0]) : sj_compare_syncfs(fds[0])
            guard status == 0 else { throw SystemCallError(call: files == 1 ? "fdatasync" : "syncfs", code: errno) }
            roundTimes.append(inSeconds(ContinuousClock.now - start))
            writeTimes.append(inSeconds(written - start))
            round += 1
        }
        rounds["\(files)"] = Double(files) / median(roundTimes)
        writes["\(files)"] = Double(files) / median(writeTimes)
    }

    // LZ4 on the events (64 KiB blocks, as a journal's batches are at most that linked window).
    let block = 64 << 10
    let blocks = stride(from: 0, to: stream.count - block, by: block).map { Array(stream[$0..<$0 + block]) }
    var compressed = [[CChar]](repeating: [], count: blocks.count)
    let passes = settings.quick ? 3 : 20
    var compressedBytes = 0
    var start = ContinuousClock.now
    for _ in 0..<passes {
        compressedBytes = 0
        for (i, source) in blocks.enumerated() {
            var out = [CChar](repeating: 0, count: Int(sj_compare_lz4_bound(Int32(block))))
            let n = source.withUnsafeBytes { s in
                out.withUnsafeMutableBufferPointer {
                    sj_compare_lz4_compress(
                        s.baseAddress!.assumingMemoryBound(to: CChar.self), $0.baseAddress!, Int32(block),
                        Int32($0.count))
                }
            }
            out.removeLast(out.count - Int(n))
            compressed[i] = out
            compressedBytes += Int(n)
        }
    }
    let lz4Compress = Double(passes * blocks.count * block) / inSeconds(ContinuousClock.now - start) / 1e6
    var back = [CChar](repeating: 0, count: block)
    start = ContinuousClock.now
    for _ in 0..<passes {
        for source in compressed {
            let n = source.withUnsafeBufferPointer { s in
                back.withUnsafeMutableBufferPointer {
                    sj_compare_lz4_decompress(s.baseAddress!, $0.baseAddress!, Int32(s.count), Int32(block))
                }
            }
            guard n == block else { throw CheckFailure("LZ4 round trip failed") }
        }
    }
    let lz4Decompress = Double(passes * blocks.count * block) / inSeconds(ContinuousClock.now - start) / 1e6

    // The message encodings, both ways, on the same events.
    let events = Corpus.templates
    func rate(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        var count = 0
        repeat {
            try body()
            count += events.count
        } while ContinuousClock.now - start < .milliseconds(settings.quick ? 100 : 500)
        return Double(count) / inSeconds(ContinuousClock.now - start)
    }
    let compact = try events.map { try CompactEncoder().encode($0) }
    let json = try events.map { try JSONEncoder().encode($0) }
    let compactEncodes = try rate { for e in events { _ = try CompactEncoder().encode(e) } }
    let compactDecodes = try rate {
        for bytes in compact { _ = try bytes.withUnsafeBytes { try CompactDecoder().decode(Event.self, from: $0) } }
    }
    let macroEvents = events.map {
        MacroEvent(type: $0.type, room: $0.room, user: $0.user, id: $0.id, ts: $0.ts, text: $0.text)
    }
    let codec = CompactCodec<MacroEvent>()
    for (event, bytes) in zip(macroEvents, compact) where try codec.encode(event) != bytes {
        throw CheckFailure("@CompactCodable does not write the bytes of the Codable conformance")
    }
    let macroEncodes = try rate { for e in macroEvents { _ = try codec.encode(e) } }
    let macroDecodes = try rate {
        for bytes in compact { _ = try bytes.withUnsafeBytes { try codec.decode($0) } }
    }
    let encoder = JSONEncoder()
    let decoder = JSONDecoder()
    let jsonEncodes = try rate { for e in events { _ = try encoder.encode(e) } }
    let jsonDecodes = try rate { for data in json { _ = try decoder.decode(Event.self, from: data) } }

    return Limits(
        sequentialWriteMBPerSecond: bandwidth,
        fdatasyncAfter4KiBP50Microseconds: percentile(syncs, 0.5) * 1e6,
        fdatasyncAfter4KiBP99Microseconds: percentile(syncs, 0.99) * 1e6,
        syncRoundMessagesPerSecond: rounds, writeMessagesPerSecond: writes,
        lz4CompressMBPerSecond: lz4Compress, lz4DecompressMBPerSecond: lz4Decompress,
        lz4Ratio: Double(blocks.count * block) / Double(max(compressedBytes, 1)),
        compactEncodesPerSecond: compactEncodes, compactDecodesPerSecond: compactDecodes,
        macroEncodesPerSecond: macroEncodes, macroDecodesPerSecond: macroDecodes,
        jsonEncodesPerSecond: jsonEncodes, jsonDecodesPerSecond: jsonDecodes)
}
