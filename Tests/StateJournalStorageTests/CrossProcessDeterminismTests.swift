import Foundation
import StateJournalEncoding
import StateJournalStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The same values give the same bytes in another OS process, whose hash seed (and so the
/// iteration order of every `Set` and `Dictionary`) differs from this one's.
@Suite struct CrossProcessDeterminismTests {
    /// Values rich in sets and dictionaries, from fixed tapes.
    static func values() -> [Node] {
        var generator = SeededGenerator(seed: 0xD37E_2026)
        var values: [Node] = []
        for i in 0..<600 {
            var tape = Tape((0..<(20 + i % 300)).map { _ in generator.next() })
            values.append(Node.build(&tape))
        }
        // Collections large enough that two hash seeds all but surely iterate them differently.
        values.append(.intSet(Set(0..<200)))
        values.append(.stringSet(Set((0..<200).map { "k\($0)" })))
        values.append(.intMap(Dictionary(uniqueKeysWithValues: (0..<100).map { ($0 * 31, Node.int($0)) })))
        let points: [(Point, Node)] = (0..<100).map { (i: Int) -> (Point, Node) in
            (Point(x: Int16(i), y: UInt8(i)), Node.bool(i % 2 == 0))
        }
        values.append(.pointMap(Dictionary(uniqueKeysWithValues: points)))
        values.append(.set(Set((0..<50).map { Node.set([.int($0), .string("\($0)")]) })))
        return values
    }

    /// Length-prefixed encodings of every value, and this process's hash of a fixed integer.
    static func encodings() throws -> [UInt8] {
        var out: [UInt8] = []
        var hasher = Hasher()
        hasher.combine(42)
        withUnsafeBytes(of: hasher.finalize().littleEndian) { out += $0 }
        for value in values() {
            let bytes = try CompactEncoder().encode(value)
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { out += $0 }
            out += bytes
        }
        return out
    }

    @Test func anotherOSProcessWritesTheSameBytes() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sj-determinism-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let mine = try Self.encodings()
        try Data(mine).write(to: URL(fileURLWithPath: path))
        // The child exits 0 when its bytes equal ours, 3 when its hash seed is ours (the check would
        // prove nothing), 4 when a value's bytes differ.
        await #expect(processExitsWith: .success) { [path = path as String] in
            let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let mine = try CrossProcessDeterminismTests.encodings()
            if mine.prefix(8) == theirs.prefix(8) { exit(3) }
            if mine.dropFirst(8) != theirs.dropFirst(8) { exit(4) }
            exit(0)
        }
    }
}
