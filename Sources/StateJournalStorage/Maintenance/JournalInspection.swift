import StateJournalSystem

/// Everything an operator asks about one journal file, gathered in one
/// streamed pass (bounded memory) that never throws: problems are part of
/// the answer.
package struct JournalInspection: Sendable {
    /// What the file is, in one word.
    package enum Verdict: String, Sendable, Hashable, CustomStringConvertible {
        case clean
        case tornTail = "torn-tail"
        case corrupt
        case cleanStopped = "clean-stopped"
        case notAJournal = "not-a-journal"
        case unsupported
        case unreadable
        package var description: String { rawValue }
    }

    package var path: String
    package var header: JournalHeader?
    package var fileSize: Int64 = 0
    /// Modification time, seconds since the Unix epoch.
    package var modified: Int = 0
    package var verdict: Verdict = .clean
    /// The error that made the verdict, if any (with offset and sequence).
    package var error: JournalError?
    package var tornTail: TornTail?
    /// The OS process id of a live writer holding the journal.
    package var lockedBy: Int32?
    package var frames = 0
    package var messageFrames = 0
    package var compressedFrames = 0
    package var chains = 0
    package var digests = 0
    package var timeMarks = 0
    package var messages: UInt64 = 0
    package var firstSequence: UInt64?
    package var lastSequence: UInt64?
    /// Decompressed payload bytes of message frames, and what they occupy on disk.
    package var rawPayloadBytes: Int64 = 0
    package var storedPayloadBytes: Int64 = 0
    /// Bytes of message contents (without length prefixes).
    package var messageBytes: Int64 = 0
    package var snapshot: SnapshotSummary?

    package struct SnapshotSummary: Sendable, Hashable {
        package var sequence: UInt64
        package var stateBytes: Int
        package var fileBytes: Int64
    }

    /// Raw payload bytes per stored byte (1 when nothing was compressed).
    package var compressionRatio: Double {
        storedPayloadBytes > 0 ? Double(rawPayloadBytes) / Double(storedPayloadBytes) : 1
    }

    /// Inspects `path`. `visit` sees every frame (for statistics); `progress`
    /// is called with the bytes read so far, now and then.
    package static func inspect(
        _ path: String,
        visit: ((JournalFrameView) -> Void)? = nil,
        progress: ((Int64, Int64) -> Void)? = nil
    ) -> JournalInspection {
        var result = JournalInspection(path: path)
        if let status = try? Syscall.status(ofPath: path) {
            result.fileSize = status.size
            result.modified = status.modificationSeconds
        }
        result.lockedBy = JournalLockProbe.holder(of: path)
        let reader: JournalReader
        do {
            reader = try JournalReader(path: path)
        } catch {
            result.error = error
            switch error.code {
            case .notAJournal, .emptyFile, .truncatedHeader: result.verdict = .notAJournal
            case .unsupportedVersion, .unsupportedFeature: result.verdict = .unsupported
            case .corruptHeader: result.verdict = .corrupt
            default: result.verdict = .unreadable
            }
            return result
        }
        result.header = reader.header
        var lastProgress: Int64 = 0
        do {
            while try reader.readFrame({ (frame: JournalFrameView) -> Void in
                result.frames += 1
                switch frame.header.type {
                case .messages:
                    result.messageFrames += 1
                    if frame.header.flags.contains(.compressed) { result.compressedFrames += 1 }
                    if frame.header.flags.contains(.chainStart) { result.chains += 1 }
                    result.messages += UInt64(frame.header.messageCount)
                    if result.firstSequence == nil { result.firstSequence = frame.header.firstSequence }
                    result.lastSequence = frame.header.lastSequence
                    result.rawPayloadBytes += Int64(frame.header.rawLength)
                    result.storedPayloadBytes += Int64(frame.header.storedLength)
                    frame.forEachMessage { _, bytes in result.messageBytes += Int64(bytes.count) }
                case .stateDigest, .canonicalStateDigest:
                    result.digests += 1
                case .timeMark:
                    result.timeMarks += 1
                default:
                    break
                }
                visit?(frame)
                if let progress, frame.offset - lastProgress >= 16 << 20 {
                    lastProgress = frame.offset
                    progress(frame.offset, result.fileSize)
                }
            }) != nil {}
            switch reader.end {
            case .cleanStop?: result.verdict = .cleanStopped
            case .tornTail(let tail)?:
                result.verdict = .tornTail
                result.tornTail = tail
            default: result.verdict = .clean
            }
        } catch let error as JournalError {
            result.error = error
            result.verdict = (error.code == .unsupportedFrame) ? .unsupported : .corrupt
        } catch {
            result.verdict = .unreadable
        }
        progress?(result.fileSize, result.fileSize)
        let snapshotPath = JournalSnapshot.path(forJournal: path)
        if let snapshot = JournalSnapshot.summary(at: snapshotPath) {
            result.snapshot = SnapshotSummary(
                sequence: snapshot.sequence, stateBytes: snapshot.stateBytes,
                fileBytes: (try? Syscall.status(ofPath: snapshotPath).size) ?? 0)
        }
        return result
    }
}

/// Cutting a torn tail, or everything from damage on, out of a journal.
package enum JournalRepair {
    package struct Report: Sendable {
        /// Where the kept part ends (the new size).
        package var keptBytes: Int64
        /// Bytes cut.
        package var cutBytes: Int64
        /// Where the cut bytes were saved (nil for a dry run or nothing to cut).
        package var backup: String?
        /// Why: the torn tail, or the damage point-in-time recovery cut at.
        package var reason: String
        /// The first sequence number cut.
        package var sequence: UInt64?
    }

    /// Repairs `path`: cuts a torn tail; with `pointInTime`, also cuts from
    /// the first damage on. The cut bytes are always kept in a backup file
    /// named in the report. Refuses a journal held by a live writer, and
    /// damage in the middle without `pointInTime`. Blocks on file I/O.
    package static func repair(_ path: String, pointInTime: Bool, dryRun: Bool) throws(JournalError) -> Report {
        if let holder = JournalLockProbe.holder(of: path) {
            let who =
                holder < 0
                ? "a live OS process owns the journal (its writer is idle)"
                : "a live writer (OS process \(holder)) holds the journal"
            throw JournalError(code: .locked, message: "\(who); stop it first", path: path)
        }
        let fd: Int32
        do { fd = try Syscall.open(path, dryRun ? .readOnly : .readWrite) } catch {
            throw JournalError.system(error, path: path, message: JournalReader.openMessage(error, path: path))
        }
        defer { Syscall.close(fd) }
        let opened: Syscall.FileStatus
        do { opened = try Syscall.fstat(fd) } catch { throw JournalError.system(error, path: path) }
        try JournalReader.requireRegularFile(opened, path: path)
        if !dryRun {
            let locked: Bool
            do { locked = try Syscall.tryLockExclusive(fd) } catch { throw JournalError.system(error, path: path) }
            guard locked else {
                throw JournalError(code: .locked, message: "a live writer holds the journal; stop it first", path: path)
            }
        }
        let size: Int64
        do { size = try Syscall.fstat(fd).size } catch { throw JournalError.system(error, path: path) }
        let reader = try JournalReader(fd: fd, ownsDescriptor: false, path: path, limit: size)
        var cutAt: Int64?
        var reason = ""
        var sequence: UInt64?
        do {
            try reader.forEachMessageTyped { _, _ in }
            if case .tornTail(let tail)? = reader.end {
                cutAt = tail.offset
                reason = "torn tail: \(tail.reason)"
                sequence = tail.sequence
            }
        } catch  where pointInTime && (error.code == .corruptFrame || error.code == .sequenceGap) {
            cutAt = reader.offset
            reason = "damage: \(error.message)"
            sequence = error.sequence
        }
        guard let cutAt else {
            return Report(keptBytes: size, cutBytes: 0, backup: nil, reason: "nothing to repair", sequence: nil)
        }
        if dryRun {
            return Report(keptBytes: cutAt, cutBytes: size - cutAt, backup: nil, reason: reason, sequence: sequence)
        }
        let backup = try JournalRecovery.cutTail(fd: fd, path: path, from: cutAt, size: size)
        return Report(keptBytes: cutAt, cutBytes: size - cutAt, backup: backup, reason: reason, sequence: sequence)
    }
}
