import ArgumentParser
import Foundation
import StateJournalStorage

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Totals, compression per chain, histograms of batch and message sizes, messages over time.",
        discussion: """
            Examples:
              statejournal stats room-42.journal
              statejournal stats room-42.journal --json
            """)

    @Argument(help: "The journal file.")
    var file: String

    @OptionGroup var options: CommonOptions

    func validate() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError(
                "\(file) is a directory: stats reads one journal (`statejournal verify` and `list` take a directory)")
        }
    }

    static func bucket(_ value: Int) -> Int {
        value <= 1 ? 0 : Int(log2(Double(value)).rounded(.down))
    }

    func run() throws {
        _ = openReader(file)
        let terminal = options.terminal
        var batchHistogram = [Int](repeating: 0, count: 32)
        var messageHistogram = [Int](repeating: 0, count: 32)
        var chainRaw: [Int64] = []
        var chainStored: [Int64] = []
        var rawFrames = (raw: Int64(0), count: 0)
        var positions: [(Int64, Int)] = []
        var perSecond: [Int: Int] = [:]
        var currentSecond: Int?
        var check = MessageCheck()
        let progress = ProgressBar("reading", terminal: terminal)
        let inspection = JournalInspection.inspect(
            file,
            visit: { frame in
                if let mark = frame.timeMarkNanoseconds { currentSecond = Int(mark / 1_000_000_000) }
                guard frame.header.type == .messages else { return }
                if let second = currentSecond { perSecond[second, default: 0] += frame.header.messageCount }
                batchHistogram[Self.bucket(frame.header.messageCount)] += 1
                frame.forEachMessage { sequence, bytes in
                    messageHistogram[Self.bucket(bytes.count)] += 1
                    check.check(sequence: sequence, bytes)
                }
                if frame.header.flags.contains(.compressed) {
                    if frame.header.flags.contains(.chainStart) || chainRaw.isEmpty {
                        chainRaw.append(0)
                        chainStored.append(0)
                    }
                    chainRaw[chainRaw.count - 1] += Int64(frame.header.rawLength)
                    chainStored[chainStored.count - 1] += Int64(frame.header.storedLength)
                } else {
                    rawFrames.raw += Int64(frame.header.rawLength)
                    rawFrames.count += 1
                }
                positions.append((frame.offset, frame.header.messageCount))
                if positions.count > 100_000 {
                    // Keep memory bounded: merge neighbours.
                    positions = stride(from: 0, to: positions.count - 1, by: 2).map {
                        (positions[$0].0, positions[$0].1 + positions[$0 + 1].1)
                    }
                }
            }, progress: { progress.update($0, of: $1) })
        progress.finish()
        if let error = inspection.error, inspection.header == nil { fail(error) }
        let columns = 60
        var spark = [Int](repeating: 0, count: columns)
        let overTime = !perSecond.isEmpty
        let firstSecond = perSecond.keys.min() ?? 0
        let lastSecond = perSecond.keys.max() ?? 0
        if overTime {
            let span = max(1, lastSecond - firstSecond + 1)
            for (second, count) in perSecond {
                spark[min(columns - 1, (second - firstSecond) * columns / span)] += count
            }
        } else {
            for (offset, count) in positions {
                let column = min(
                    columns - 1, Int(Double(offset) / Double(max(inspection.fileSize, 1)) * Double(columns)))
                spark[column] += count
            }
        }
        if options.json {
            print(
                jsonLine(
                    [
                        "messages": inspection.messages, "frames": inspection.messageFrames,
                        "bytes": inspection.fileSize,
                        "messageBytes": inspection.messageBytes, "compressionRatio": inspection.compressionRatio,
                        "chains": zip(chainRaw, chainStored).map {
                            ["raw": $0, "stored": $1, "ratio": Double($0) / Double(max($1, 1))]
                        },
                        "rawFrames": rawFrames.count,
                        "batchSizeHistogram": histogramObject(batchHistogram),
                        "messageSizeHistogram": histogramObject(messageHistogram),
                        overTime ? "messagesOverTime" : "messagesAcrossFile": spark,
                        "messageCheck": check.jsonObject(for: inspection.header),
                    ] as [String: Any]))
            terminate(inspection.exitStatus(with: check))
        }
        print(terminal.paint(file, .bold))
        print(
            "messages      \(inspection.messages) in \(inspection.messageFrames) batches (\(String(format: "%.1f", Double(inspection.messages) / Double(max(inspection.messageFrames, 1)))) per batch)"
        )
        print(
            "message bytes \(Format.bytes(inspection.messageBytes)) (\(inspection.messages > 0 ? inspection.messageBytes / Int64(inspection.messages) : 0) B on average)"
        )
        print(
            "on disk       \(Format.bytes(inspection.fileSize)) (\(String(format: "%.1f", Double(inspection.fileSize) / Double(max(inspection.messages, 1)))) B per message), payload ratio \(String(format: "%.2f", inspection.compressionRatio))"
        )
        print("chains        \(chainRaw.count) compressed, \(rawFrames.count) raw frame(s)")
        let findings = check.findings(for: inspection.header)
        if let summary = check.summary(for: inspection.header) {
            print("well-formed   " + terminal.paint(summary, .red))
        } else if findings.checked > 0 {
            print(
                "well-formed   \(findings.checked == inspection.messages ? "every message" : plural(Int(findings.checked), "message") + " checked"): one compact value each"
            )
        }
        for (index, (raw, stored)) in zip(chainRaw, chainStored).enumerated().prefix(20) {
            print(
                "  chain \(Format.pad(String(index + 1), 4)) \(Format.pad(Format.bytes(raw), 10, right: true)) → \(Format.pad(Format.bytes(stored), 10, right: true))  ratio \(String(format: "%.2f", Double(raw) / Double(max(stored, 1))))"
            )
        }
        if chainRaw.count > 20 { print("  … \(chainRaw.count - 20) more") }
        print("\nmessages per batch")
        printHistogram(batchHistogram, terminal: terminal)
        print("\nmessage size (bytes)")
        printHistogram(messageHistogram, terminal: terminal)
        let ticks = Array("▁▂▃▄▅▆▇█")
        let peak = max(spark.max() ?? 1, 1)
        let line = String(spark.map { $0 == 0 ? " " : ticks[min(ticks.count - 1, $0 * (ticks.count - 1) / peak)] })
        if overTime {
            print("\nmessages over time (\(Format.time(firstSecond)) → \(Format.time(lastSecond)), \(columns) columns)")
        } else {
            print("\nmessages across the file (start → end, \(columns) columns; the journal holds no time marks)")
        }
        print("  \(terminal.paint(line, .blue))")
        terminate(inspection.exitStatus(with: check))
    }

    func histogramObject(_ histogram: [Int]) -> [[String: Int]] {
        histogram.enumerated().filter { $0.element > 0 }.map {
            ["from": $0.offset == 0 ? 0 : 1 << $0.offset, "to": (1 << ($0.offset + 1)) - 1, "count": $0.element]
        }
    }

    func printHistogram(_ histogram: [Int], terminal: Terminal) {
        guard let last = histogram.lastIndex(where: { $0 > 0 }) else {
            print("  (none)")
            return
        }
        let first = histogram.firstIndex(where: { $0 > 0 })!
        let peak = histogram.max()!
        for bucket in first...last {
            let low = bucket == 0 ? 0 : 1 << bucket
            let high = (1 << (bucket + 1)) - 1
            let bar = String(repeating: "█", count: histogram[bucket] == 0 ? 0 : max(1, 40 * histogram[bucket] / peak))
            print(
                "  \(Format.pad("\(low)–\(high)", 16)) \(terminal.paint(Format.pad(bar, 40), .green)) \(histogram[bucket])"
            )
        }
    }
}
