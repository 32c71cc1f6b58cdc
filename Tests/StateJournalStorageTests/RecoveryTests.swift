import Foundation
import StateJournalStorage
import Testing

/// Builds a journal of `frames` frames (one append each) and returns its messages and frame offsets.
func buildJournal(at path: String, frames: Int, messagesPerFrame: Int = 2, processID: String = "p", seed: UInt64 = 1)
    async throws -> (messages: [[UInt8]], frameOffsets: [Int64], size: Int)
{
    var generator = SeededGenerator(seed: seed)
    let writer = try await JournalWriter.open(path: path, processID: processID, options: .testing(), logger: testLogger)
    var messages: [[UInt8]] = []
    for frame in 0..<frames {
        let batch = (0..<messagesPerFrame).map { sampleEvent(frame * 10 + $0, using: &generator) }
        try await writer.append(contentsOf: batch)
        messages.append(contentsOf: batch)
    }
    try await writer.close(discard: false)
    let reader = try JournalReader(path: path)
    var offsets: [Int64] = []
    while let frame = try reader.nextFrame() { offsets.append(frame.offset) }
    return (messages, offsets, fileBytes(path).count)
}

@Suite struct RecoveryTests {
    @Test func truncationAtEveryByteOfTheLastTwoFramesKeepsExactlyTheCompleteFrames() async throws {
        let directory = TemporaryDirectory()
        let original = directory.file("original.journal")
        let (messages, offsets, size) = try await buildJournal(at: original, frames: 6)
        let bytes = fileBytes(original)
        let boundaries = offsets + [Int64(size)]
        let firstCut = Int(offsets[offsets.count - 2])
        for cut in firstCut..<size {
            let path = directory.file("cut-\(cut).journal")
            writeBytes(Array(bytes[0..<cut]), to: path)
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(), logger: testLogger)
            let complete = boundaries.lastIndex { $0 <= Int64(cut) }!
            let keptEnd = Int(boundaries[complete])
            #expect(writer.recovery.messagesToReplay == UInt64(complete * 2), "cut at \(cut)")
            if keptEnd == cut {
                #expect(writer.recovery.tornTail == nil)
                #expect(writer.recovery.savedTo == nil)
            } else {
                #expect(writer.recovery.tornTail?.offset == Int64(keptEnd), "cut at \(cut)")
                let saved = try #require(writer.recovery.savedTo)
                #expect(fileBytes(saved) == Array(bytes[keptEnd..<cut]), "the cut bytes are kept aside")
            }
            #expect(writer.recovery.nextSequence == UInt64(complete * 2 + 1))
            try await writer.close(discard: false)
            #expect(fileBytes(path) == Array(bytes[0..<keptEnd]))
            let (read, end) = try readAll(path)
            #expect(end == .clean)
            #expect(read.map(\.bytes) == Array(messages[0..<(complete * 2)]))
        }
    }

    @Test func everyBitFlipIsDetectedAndClassified() async throws {
        let directory = TemporaryDirectory()
        let original = directory.file("original.journal")
        let (messages, offsets, size) = try await buildJournal(at: original, frames: 4, messagesPerFrame: 1)
        let bytes = fileBytes(original)
        let headerLength = Int(offsets[0])
        let path = directory.file("flipped.journal")
        var headerErrors = 0
        var middleErrors = 0
        var tornTails = 0
        for byte in 0..<size {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[byte] ^= UInt8(1 << bit)
                writeBytes(flipped, to: path)
                let frameIndex = offsets.lastIndex { $0 <= Int64(byte) }
                let outcome = readClassified(path)
                #expect(
                    outcome.messages.map(\.bytes) == Array(messages.prefix(outcome.messages.count)),
                    "byte \(byte) bit \(bit): yielded messages are an exact prefix")
                switch outcome.verdict {
                case .headerError(let error):
                    #expect(byte < headerLength, "byte \(byte) bit \(bit): \(error)")
                    #expect(
                        [.corruptHeader, .notAJournal, .unsupportedVersion, .unsupportedFeature, .truncatedHeader]
                            .contains(error.code), "\(error)")
                    headerErrors += 1
                case .frameError(let error):
                    #expect(error.code == .corruptFrame, "byte \(byte) bit \(bit): \(error)")
                    #expect(frameIndex != nil && frameIndex! < offsets.count - 1, "byte \(byte) bit \(bit)")
                    #expect(error.offset == offsets[frameIndex ?? 0], "byte \(byte) bit \(bit)")
                    #expect(error.sequence == UInt64((frameIndex ?? 0) + 1))
                    middleErrors += 1
                case .end(.tornTail(let tail)):
                    #expect(
                        frameIndex == offsets.count - 1,
                        "only the last frame reads as a torn tail (byte \(byte) bit \(bit))")
                    #expect(tail.offset == offsets.last!)
                    #expect(outcome.messages.count == messages.count - 1)
                    tornTails += 1
                case .end(let end):
                    Issue.record("byte \(byte) bit \(bit): the flip went undetected (\(end))")
                }
            }
        }
        #expect(headerErrors == headerLength * 8)
        #expect(headerErrors + middleErrors + tornTails == size * 8)
    }

    enum Verdict {
        case headerError(JournalError)
        case frameError(JournalError)
        case end(JournalEnd)
    }

    func readClassified(_ path: String) -> (messages: [JournalMessage], verdict: Verdict) {
        let reader: JournalReader
        do { reader = try JournalReader(path: path) } catch { return ([], .headerError(error)) }
        var read: [JournalMessage] = []
        do {
            while let frame = try reader.nextFrame() { read.append(contentsOf: frame.messages) }
        } catch {
            return (read, .frameError(error))
        }
        return (read, .end(reader.end ?? .clean))
    }

    @Test func flipInTheMiddleStopsRecoveryUnlessPointInTime() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("m.journal")
        let (messages, offsets, _) = try await buildJournal(at: path, frames: 5)
        var bytes = fileBytes(path)
        bytes[Int(offsets[2]) + 40] ^= 0x10
        writeBytes(bytes, to: path)
        do {
            _ = try await JournalWriter.open(path: path, processID: "p", options: .testing(), logger: testLogger)
            Issue.record("damage in the middle was accepted")
        } catch {
            #expect(error.code == .corruptFrame)
            #expect(error.path == path)
            #expect(error.offset == offsets[2])
            #expect(error.sequence == 5)
        }
        #expect(fileBytes(path) == bytes, "a failed recovery changes nothing")
        var options = JournalOptions.testing()
        options.recovery = .pointInTime
        let writer = try await JournalWriter.open(path: path, processID: "p", options: options, logger: testLogger)
        #expect(writer.recovery.pointInTimeCut?.offset == offsets[2])
        #expect(writer.recovery.messagesToReplay == 4)
        let saved = try #require(writer.recovery.savedTo)
        #expect(fileBytes(saved) == Array(bytes[Int(offsets[2])...]))
        #expect(try await writer.append([7]) == 5)
        try await writer.close(discard: false)
        let (read, _) = try readAll(path)
        #expect(read.map(\.bytes) == Array(messages[0..<4]) + [[7]])
    }

    @Test func aFrameFromAnotherFileIsNotAccepted() async throws {
        let directory = TemporaryDirectory()
        let a = directory.file("a.journal")
        let b = directory.file("b.journal")
        let (messagesA, _, sizeA) = try await buildJournal(at: a, frames: 3, seed: 1)
        // b has the same process id and one more frame, whose sequence numbers follow a's.
        let (_, offsetsB, _) = try await buildJournal(at: b, frames: 4, seed: 2)
        let staleFrame = Array(fileBytes(b)[Int(offsetsB[3])...])
        writeBytes(fileBytes(a) + staleFrame, to: a)
        let (read, end) = try readAll(a)
        #expect(read.map(\.bytes) == messagesA)
        guard case .tornTail(let tail) = end else {
            Issue.record("the stale frame was accepted: \(end)")
            return
        }
        #expect(tail.offset == Int64(sizeA))
        let writer = try await JournalWriter.open(path: a, processID: "p", options: .testing(), logger: testLogger)
        #expect(writer.recovery.messagesToReplay == UInt64(messagesA.count))
        #expect(writer.recovery.tornTail != nil)
        try await writer.close(discard: false)
    }

    @Test func recoveryIsIdempotent() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("i.journal")
        let (messages, _, size) = try await buildJournal(at: path, frames: 3)
        writeBytes(Array(fileBytes(path)[0..<(size - 5)]), to: path)
        for round in 0..<2 {
            let writer = try await JournalWriter.open(
                path: path, processID: "p", options: .testing(), logger: testLogger)
            #expect((writer.recovery.tornTail != nil) == (round == 0))
            try await writer.close(discard: false)
        }
        #expect(try readAll(path).messages.map(\.bytes) == Array(messages[0..<4]))
    }
}

@Suite struct ExhaustiveDamageTests {
    /// Cut a small journal at every byte: the reader yields an exact prefix of
    /// the messages and ends cleanly, with a torn tail, or with a header error;
    /// never a crash, a hang or a wrong message.
    @Test func cutAtEveryByteGivesAnExactPrefixOrAClearError() async throws {
        let directory = TemporaryDirectory()
        let original = directory.file("original.journal")
        let (messages, offsets, size) = try await buildJournal(at: original, frames: 5, messagesPerFrame: 3)
        let bytes = fileBytes(original)
        let path = directory.file("cut.journal")
        let boundaries = offsets + [Int64(size)]
        for cut in 0..<size {
            writeBytes(Array(bytes[0..<cut]), to: path)
            let (read, end, failure) = readAllCapturing(path)
            if let failure {
                #expect(cut < Int(offsets[0]), "only a cut inside the header is an error (cut at \(cut): \(failure))")
                #expect([.emptyFile, .truncatedHeader].contains(failure.code))
                continue
            }
            let complete = boundaries.lastIndex { $0 <= Int64(cut) } ?? 0
            #expect(read == Array(messages.prefix(complete * 3)), "cut at \(cut)")
            if boundaries.contains(Int64(cut)) {
                #expect(end == .clean, "cut at a frame boundary \(cut)")
            } else if case .tornTail? = end {
            } else {
                Issue.record("cut at \(cut): \(String(describing: end))")
            }
        }
    }
}

func readAllCapturing(_ path: String) -> (messages: [[UInt8]], end: JournalEnd?, failure: JournalError?) {
    let reader: JournalReader
    do { reader = try JournalReader(path: path) } catch { return ([], nil, error) }
    var read: [[UInt8]] = []
    do {
        while let frame = try reader.nextFrame() { read += frame.messages.map(\.bytes) }
    } catch {
        return (read, nil, error)
    }
    return (read, reader.end, nil)
}
