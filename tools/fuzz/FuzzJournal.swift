// libFuzzer target for the journal reader, recovery and the compact decoder.
// Built by tools/fuzz/build.sh; run by tools/fuzz/run.sh (see README, "Fuzzing").
//
// Every input is written to a file and read as a journal (frame by frame,
// then as a snapshot, then through the CLI's inspection, then a dry-run
// repair), and decoded as a compact value. The only acceptable outcomes are values and errors: a
// crash, a hang, an unbounded allocation or a sanitizer report is a finding.
import Foundation
import StateJournalEncoding
import StateJournalStorage

let scratchPath: String = {
    let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(directory)/sj-fuzz-\(getpid()).journal"
}()

struct AnyValue: Decodable {
    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            while !array.isAtEnd { _ = try array.decode(AnyValue.self) }
        } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
            for key in object.allKeys { _ = try object.decode(AnyValue.self, forKey: key) }
        } else {
            let single = try decoder.singleValueContainer()
            if !single.decodeNil() {
                if (try? single.decode(String.self)) == nil, (try? single.decode(Int64.self)) == nil,
                    (try? single.decode(Bool.self)) == nil
                {
                    _ = try single.decode(Double.self)
                }
            }
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournal(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    _ = try? CompactJSON.render(bytes)
    _ = try? CompactDecoder().decode(AnyValue.self, from: bytes)

    guard FileManager.default.createFile(atPath: scratchPath, contents: Data(bytes)) else { return 0 }
    var damaged = false
    if let reader = try? JournalReader(path: scratchPath) {
        var previous: UInt64 = 0
        do {
            while let frame = try reader.nextFrame() {
                for message in frame.messages {
                    // Sequence numbers only ever increase by one.
                    precondition(
                        previous == 0 || message.sequence == previous + 1, "sequence numbers must be contiguous")
                    previous = message.sequence
                    _ = try? CompactJSON.render(message.bytes)
                }
            }
            if case .tornTail? = reader.end { damaged = true }
        } catch {
            damaged = true
        }
    }
    _ = try? JournalSnapshot.read(at: scratchPath)
    // The CLI's reading paths: `list`, `info`, `stats` and `verify` inspect frame by frame;
    // `dump` and `export` render every message.
    _ = JournalInspection.inspect(
        scratchPath,
        visit: { frame in
            frame.forEachMessage { _, bytes in _ = try? CompactJSON.render(bytes) }
        })
    // Recovery's classification and cut, without writing (reads /proc/locks: only when there is something to cut).
    if damaged { _ = try? JournalRepair.repair(scratchPath, pointInTime: true, dryRun: true) }
    return 0
}
