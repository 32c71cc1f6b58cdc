import Logging
import StateJournalSystem

/// A journal opened for writing, locked and recovered.
struct OpenedJournal {
    var path: String
    var fd: Int32
    var header: JournalHeader
    var endOffset: Int64
    var inode: UInt64
    var report: RecoveryReport
}

/// Opening a journal for writing: lock it, check it, cut a torn tail, apply
/// the clean-stop marker, or create it. Every call here blocks; it runs on
/// the I/O threads.
enum JournalRecovery {
    static func open(path: String, processID: String, options: JournalOptions, logger: Logger) throws(JournalError)
        -> OpenedJournal
    {
        guard processID.utf8.count <= JournalFormat.maxProcessIDLength else {
            throw JournalError(
                code: .invalidArgument,
                message: "the process id must have at most \(JournalFormat.maxProcessIDLength) UTF-8 bytes", path: path)
        }
        // The directory was created (with `createDirectory`) by the writer, before it claimed the journal.
        let directory = FileNames.directory(of: path)
        var report = RecoveryReport()
        for _ in 0..<3 {
            let fd: Int32
            do {
                fd = try Syscall.open(path, .readWrite)
            } catch  where error.errno == .noSuchFileOrDirectory {
                let snapshotPath = JournalSnapshot.path(forJournal: path)
                if (try? Syscall.status(ofPath: snapshotPath)) != nil {
                    throw JournalError(
                        code: .corruptSnapshot,
                        message:
                            "a snapshot exists but its journal does not; refusing to start over (move the snapshot away to start empty)",
                        path: snapshotPath)
                }
                if let created = try create(path: path, processID: processID, options: options, report: report) {
                    logger.debug("journal created", metadata: ["path": "\(path)"])
                    return created
                }
                continue  // another opener created it first: open theirs
            } catch {
                throw JournalError.system(error, path: path, message: JournalReader.openMessage(error, path: path))
            }
            var keep = false
            defer { if !keep { Syscall.close(fd) } }
            let opened: Syscall.FileStatus
            do { opened = try Syscall.fstat(fd) } catch { throw JournalError.system(error, path: path) }
            try JournalReader.requireRegularFile(opened, path: path)
            let locked: Bool
            do { locked = try Syscall.tryLockExclusive(fd) } catch { throw JournalError.system(error, path: path) }
            guard locked else {
                throw JournalError(
                    code: .locked, message: "the journal is locked by another writer (in this or another OS process)",
                    path: path)
            }
            removeTemporaries(path: path, logger: logger)
            let status: Syscall.FileStatus
            do { status = try Syscall.fstat(fd) } catch { throw JournalError.system(error, path: path) }
            let reader: JournalReader
            do {
                reader = try JournalReader(fd: fd, ownsDescriptor: false, path: path, limit: status.size)
            } catch  where options.durability != .synced && isLostCreation(error, fd: fd, size: status.size, path: path)
            {
                // A snapshot beside it was made durable (synced, renamed, its directory synced)
                // while this journal never was: the snapshot holds the state, and the journal
                // starts again after it, replaced in one rename (never a moment without a journal
                // beside the snapshot, which would refuse to start). Read first: a snapshot that
                // does not read is an error, and the journal stays where it is.
                let snapshot = try snapshot(ofJournal: path, processID: processID)
                report.lostCreation = true
                report.savedTo = try setAside(path: path, keepingName: snapshot != nil)
                logger.warning(
                    "the journal's creation did not reach the disk (a power cut): set aside, created anew",
                    metadata: [
                        "path": "\(path)", "savedTo": "\(report.savedTo ?? "")",
                        "snapshot": "\(snapshot.map { String($0.sequence) } ?? "none")",
                    ])
                if let snapshot {
                    try restartAfterSnapshot(
                        path: path, processID: processID, codec: options.compression ? .lz4 : .none,
                        messagesAreCompact: options.compactMessages, sequence: snapshot.sequence)
                }
                continue
            }
            reader.writtenWithoutSyncs = options.durability != .synced
            guard reader.header.processID == processID else {
                throw JournalError(
                    code: .invalidArgument,
                    message: "the journal belongs to process \"\(reader.header.processID)\", not \"\(processID)\"",
                    path: path)
            }
            let snapshot = try snapshot(ofJournal: path, processID: processID)
            let snapshotSequence = snapshot?.sequence ?? 0
            var firstReplayed: UInt64?
            var lastReplayed: UInt64?
            var count: UInt64 = 0
            var end: Int64 = reader.offset
            do {
                // The structure only: the payloads are decompressed and checked once, by the replay
                // (point-in-time recovery checks them here, to keep the prefix before a bad one).
                try reader.scanStructure(checkingPayloads: options.recovery == .pointInTime) { first, messages in
                    let last = first + UInt64(messages) - 1
                    guard last > snapshotSequence else { return }
                    let from = max(first, snapshotSequence + 1)
                    if firstReplayed == nil { firstReplayed = from }
                    lastReplayed = last
                    count += last - from + 1
                }
                end = reader.offset
            } catch
                where options.recovery == .pointInTime && (error.code == .corruptFrame || error.code == .sequenceGap)
            {
                end = reader.offset
                report.pointInTimeCut = error
                report.savedTo = try cutTail(fd: fd, path: path, from: end, size: status.size)
                logger.warning(
                    "point-in-time recovery kept the prefix before damage",
                    metadata: [
                        "path": "\(path)", "offset": "\(error.offset ?? end)", "sequence": "\(error.sequence ?? 0)",
                        "savedTo": "\(report.savedTo ?? "")",
                    ])
            }
            switch reader.end {
            case .cleanStop?:
                logger.debug("journal was stopped normally; discarding it", metadata: ["path": "\(path)"])
                try discard(path: path, directory: directory)
                report.discardedCleanStop = true
                continue
            case .tornTail(let tail)?:
                report.tornTail = tail
                report.savedTo = try cutTail(fd: fd, path: path, from: tail.offset, size: status.size)
                end = tail.offset
                logger.notice(
                    "cut a torn tail",
                    metadata: [
                        "path": "\(path)", "offset": "\(tail.offset)", "bytes": "\(tail.length)",
                        "savedTo": "\(report.savedTo ?? "")",
                    ])
            default:
                break
            }
            try JournalSnapshot.checkContinuity(reader.header, with: snapshot, path: path)
            if let snapshot, reader.nextSequence <= snapshot.sequence {
                // The journal ends before its snapshot: a `.written` journal whose unsynced frames
                // a power cut took, beside a snapshot made durable before the compaction that
                // would have synced it. The snapshot holds everything the journal did; appending
                // after it here would leave a gap in the file. Finish that compaction: an empty
                // journal after the snapshot, renamed over this one.
                try restartAfterSnapshot(
                    path: path, processID: processID, codec: reader.header.codec,
                    messagesAreCompact: reader.header.messagesAreCompact, sequence: snapshot.sequence)
                logger.warning(
                    "the journal ended before its snapshot (a power cut): started again after the snapshot",
                    metadata: [
                        "path": "\(path)", "journalEnd": "\(reader.nextSequence - 1)",
                        "snapshot": "\(snapshot.sequence)",
                    ])
                continue
            }
            report.snapshotSequence = snapshot?.sequence
            report.messagesToReplay = count
            report.firstSequence = firstReplayed
            report.lastSequence = lastReplayed
            report.nextSequence = max(reader.nextSequence, snapshotSequence + 1)
            report.size = end
            keep = true
            return OpenedJournal(
                path: path, fd: fd, header: reader.header, endOffset: end, inode: status.inode, report: report)
        }
        throw JournalError(
            code: .locked,
            message: "the journal kept changing while being opened (another process is creating and removing it)",
            path: path)
    }

    /// Whether the journal at `path`, whose header could not be read (`error`), is one whose
    /// creation never reached the disk: empty, or its first bytes (where the magic number goes)
    /// zeros. A `.written` or `.buffered` journal is created without syncing; a file that was
    /// ever synced has its header on the disk (it is written once, at creation, and sector writes
    /// do not tear it; a compacted journal is synced before it is renamed into place). So a lost
    /// header means nothing in the file was ever synced: after a power cut, its bytes are
    /// whatever unsynced sectors persisted. A snapshot beside it may be durable: it was synced
    /// and renamed, and its directory synced, before the journal would have been compacted.
    /// A file that starts with anything else is not a journal, or a damaged one.
    private static func isLostCreation(_ error: JournalError, fd: Int32, size: Int64, path: String) -> Bool {
        guard error.code == .emptyFile || error.code == .notAJournal else {
            return false
        }
        var magic = (UInt64(0), UInt64(0))
        let count = min(Int(size), JournalFormat.magic.count)
        let read = withUnsafeMutableBytes(of: &magic) { raw in
            try? Syscall.preadFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: 0)
        }
        return read == count && magic == (0, 0)
    }

    /// The snapshot beside the journal at `path`, if any; an error if it does not read or is
    /// another process's.
    private static func snapshot(ofJournal path: String, processID: String) throws(JournalError) -> JournalSnapshot? {
        let snapshot = try JournalSnapshot.read(at: JournalSnapshot.path(forJournal: path))
        if let snapshot, snapshot.processID != processID {
            throw JournalError(
                code: .corruptSnapshot, message: "the snapshot belongs to process \"\(snapshot.processID)\"",
                path: JournalSnapshot.path(forJournal: path))
        }
        return snapshot
    }

    /// Replaces the journal at `path` by an empty one that starts after the snapshot's
    /// `sequence` (written to the compaction's temporary, synced, renamed over the journal, the
    /// directory synced: an interrupted one leaves the old journal and a temporary that the next
    /// open removes).
    private static func restartAfterSnapshot(
        path: String, processID: String, codec: JournalCodec, messagesAreCompact: Bool, sequence: UInt64
    ) throws(JournalError) {
        var header = JournalHeader(
            processID: processID, codec: codec, salt: JournalEngine.randomSalt(),
            createdNanoseconds: JournalEngine.wallClockNanoseconds(), baseSequence: sequence + 1)
        header.messagesAreCompact = messagesAreCompact
        let temporary = FileNames.compactTemporary(path)
        do throws(SystemCallError) {
            let fd = try Syscall.open(temporary, [.writeOnly, .create, .truncate])
            defer { Syscall.close(fd) }
            try Syscall.pwriteAll(fd, header.encoded(), at: 0)
            try Syscall.fsync(fd)
            try Syscall.rename(temporary, path)
            try Syscall.syncDirectory(FileNames.directory(of: path))
        } catch {
            throw JournalError.system(error, path: path)
        }
    }

    /// Renames the file at `path` to a free `.cut-0-<seconds>` name beside it (or, `keepingName`,
    /// links it there, for the caller to replace it in one rename); returns that name.
    private static func setAside(path: String, keepingName: Bool = false) throws(JournalError) -> String {
        let seconds = Int(JournalEngine.wallClockNanoseconds() / 1_000_000_000)
        var target = FileNames.cut(path, offset: 0, seconds: seconds)
        var suffix = 0
        while (try? Syscall.status(ofPath: target)) != nil {
            suffix += 1
            target = FileNames.cut(path, offset: 0, seconds: seconds) + ".\(suffix)"
        }
        do throws(SystemCallError) {
            if keepingName { try Syscall.link(path, target) } else { try Syscall.rename(path, target) }
        } catch {
            throw JournalError.system(error, path: path)
        }
        return target
    }

    /// Creates a new journal: header written to a temporary file, then linked
    /// into place (atomic, and never over an existing journal). Nil when
    /// another opener created the journal first. A `.synced` journal's file
    /// and directory are synced before it is used; a `.written` or `.buffered`
    /// one's are not (two `fsync`s, milliseconds, for a guarantee its messages
    /// do not have: after a power cut, ``isLostCreation(_:fd:size:path:)``).
    private static func create(path: String, processID: String, options: JournalOptions, report: RecoveryReport)
        throws(JournalError) -> OpenedJournal?
    {
        let directory = FileNames.directory(of: path)
        let temporary =
            FileNames.createTemporaryPrefix(path)
            + "\(Syscall.processID).\(JournalEngine.randomSalt() & 0xFFFF_FFFF).tmp"
        var header = JournalHeader(
            processID: processID, codec: options.compression ? .lz4 : .none, salt: JournalEngine.randomSalt(),
            createdNanoseconds: JournalEngine.wallClockNanoseconds(), baseSequence: report.nextSequence)
        header.messagesAreCompact = options.compactMessages
        let fd: Int32
        do { fd = try Syscall.open(temporary, [.readWrite, .create, .exclusive]) } catch {
            throw JournalError.system(error, path: temporary)
        }
        var keep = false
        defer {
            if !keep { Syscall.close(fd) }
            _ = try? Syscall.unlink(temporary)
        }
        do throws(SystemCallError) {
            // Locked until the journal is linked and opened: a sweep leaves a locked temporary
            // alone, and one that took the lock first is about to remove it (try again).
            guard try Syscall.tryLockExclusive(fd) else { return nil }
            try Syscall.pwriteAll(fd, header.encoded(), at: 0)
            let synced = options.durability == .synced
            if synced { try Syscall.fsync(fd) }
            do { try Syscall.link(temporary, path) } catch  where error.errno == .fileExists { return nil }
            try Syscall.unlink(temporary)
            if synced { try Syscall.syncDirectory(directory) }
        } catch {
            throw JournalError.system(error, path: path)
        }
        let inode: UInt64
        do { inode = try Syscall.fstat(fd).inode } catch { throw JournalError.system(error, path: path) }
        var report = report
        report.created = true
        report.nextSequence = header.baseSequence
        report.size = Int64(header.headerLength)
        keep = true
        return OpenedJournal(
            path: path, fd: fd, header: header, endOffset: Int64(header.headerLength), inode: inode, report: report)
    }

    /// Copies the bytes from `from` to the end into a file beside the journal,
    /// syncs it, then truncates the journal. Returns the copy's path.
    static func cutTail(fd: Int32, path: String, from offset: Int64, size: Int64) throws(JournalError) -> String {
        let seconds = Int(JournalEngine.wallClockNanoseconds() / 1_000_000_000)
        var target = FileNames.cut(path, offset: offset, seconds: seconds)
        var suffix = 0
        while (try? Syscall.status(ofPath: target)) != nil {
            suffix += 1
            target = FileNames.cut(path, offset: offset, seconds: seconds) + ".\(suffix)"
        }
        var created = false
        do throws(SystemCallError) {
            let out = try Syscall.open(target, [.writeOnly, .create, .exclusive])
            created = true
            defer { Syscall.close(out) }
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { chunk.deallocate() }
            var position = offset
            while position < size {
                let want = Int(min(Int64(chunk.count), size - position))
                let n = try Syscall.preadFully(
                    fd, into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), at: position)
                if n == 0 { break }
                try Syscall.pwriteAll(out, UnsafeRawBufferPointer(rebasing: chunk[0..<n]), at: position - offset)
                position += Int64(n)
            }
            try Syscall.fsync(out)
            try Syscall.syncDirectory(FileNames.directory(of: path))
        } catch {
            // No partial copy left behind to be mistaken for the cut bytes (the journal is untouched).
            if created { _ = try? Syscall.unlink(target) }
            throw JournalError.system(error, path: target, message: "saving the cut bytes failed: \(error)")
        }
        do throws(SystemCallError) {
            try Syscall.ftruncate(fd, offset)
            try Syscall.fsync(fd)
        } catch {
            throw JournalError.system(error, path: path)
        }
        return target
    }

    /// Removes a clean-stopped journal: snapshot first, then the journal.
    private static func discard(path: String, directory: String) throws(JournalError) {
        try removeSnapshot(ofJournal: path, directory: directory)
        do throws(SystemCallError) {
            try Syscall.unlink(path)
            try Syscall.syncDirectory(directory)
        } catch { throw JournalError.system(error, path: path) }
    }

    /// Removes the journal's snapshot, if any, and syncs the directory. Done
    /// before removing a journal, so a crash in between never leaves a
    /// snapshot without its journal.
    static func removeSnapshot(ofJournal path: String, directory: String) throws(JournalError) {
        let snapshotPath = JournalSnapshot.path(forJournal: path)
        do throws(SystemCallError) {
            try Syscall.unlink(snapshotPath)
            try Syscall.syncDirectory(directory)
        } catch  where error.errno == .noSuchFileOrDirectory {
        } catch { throw JournalError.system(error, path: snapshotPath) }
    }

    /// Removes what an interrupted snapshot or creation left (only the lock holder calls this).
    private static func removeTemporaries(path: String, logger: Logger) {
        for temporary in [FileNames.snapshotTemporary(path), FileNames.compactTemporary(path)] {
            if (try? Syscall.unlink(temporary)) != nil {
                logger.debug("removed an interrupted snapshot's temporary file", metadata: ["path": "\(temporary)"])
            }
        }
        let directory = FileNames.directory(of: path)
        if sweptDirectories.withLock({ $0.insert(directory).inserted }) {
            sweepCreationTemporaries(in: directory, logger: logger)
        }
    }

    /// The directories whose creation temporaries this OS process has swept: each is listed
    /// once, at its first open, not at every open (a listing costs as much as the directory
    /// holds journals, and a restart opens them all).
    private static let sweptDirectories = LockedValue<Set<String>>([])

    /// Removes the creation temporaries (`<journal>.create.<pid>.<n>.tmp`) that creators which
    /// died before finishing left in `directory`. A creator holds its temporary locked until it
    /// is done, so a locked one belongs to a creation at work (here or in another OS process)
    /// and is left alone.
    static func sweepCreationTemporaries(in directory: String, logger: Logger) {
        for (name, _) in (try? Syscall.directoryEntries(directory)) ?? [] where FileNames.isCreateTemporary(name) {
            let temporary = directory + "/" + name
            guard let fd = try? Syscall.open(temporary, .readOnly) else { continue }
            defer { Syscall.close(fd) }
            guard (try? Syscall.tryLockExclusive(fd)) == true else { continue }
            if (try? Syscall.unlink(temporary)) != nil {
                logger.debug("removed an interrupted creation's temporary file", metadata: ["path": "\(temporary)"])
            }
        }
    }

    static func createDirectories(_ directory: String) throws(JournalError) {
        if (try? Syscall.status(ofPath: directory))?.isDirectory == true { return }
        let parent = FileNames.directory(of: directory)
        if parent != directory && parent != "/" && parent != "." { try createDirectories(parent) }
        do { try Syscall.mkdir(directory) } catch  where error.errno == .fileExists {
        } catch { throw JournalError.system(error, path: directory) }
    }
}
