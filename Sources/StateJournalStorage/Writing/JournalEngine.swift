import Logging
import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// The I/O side of one journal: its descriptor, end offset, compression
/// chain and every blocking step (write, sync, snapshot, close, recovery).
///
/// Only one job uses an engine at a time: ``JournalWriter`` hands it to the
/// job that holds its worker token, so no lock is needed here.
final class JournalEngine: @unchecked Sendable {
    // Safe: used by one I/O job at a time (the writer's worker token), and
    // every hand-over goes through the writer's Mutex, which orders memory.
    let path: String
    let directory: String
    let processID: String
    let compression: Bool
    let compressionLevel: CompressionLevel
    private(set) var fd: Int32
    private(set) var header: JournalHeader
    private(set) var endOffset: Int64
    private var inode: UInt64
    /// Watches the journal's directory while the descriptor is open (nil: check by path).
    private var watch: NamespaceWatch.Registration?
    /// The watch's generation when the path last named this file (nil: look it up next time).
    private var checkedGeneration: UInt64?
    private var encoder: LZ4ChainEncoder?
    private var builder = FrameBuilder()
    private var payload: [UInt8] = []
    /// The latest snapshot's sequence number, 0 when none.
    private(set) var snapshotSequence: UInt64
    /// The last sequence number written to the file (0 when none).
    private(set) var writtenThrough: UInt64
    var snapshotHook: (@Sendable (SnapshotStep) throws -> Void)?
    var closeHook: (@Sendable (CloseStep) throws -> Void)?

    /// Nanoseconds between time marks, 0 for none.
    var timeMarkInterval: UInt64 = 0
    /// Whether a flush first appends a synced watermark: for a journal whose writes are not
    /// synced (`.written`, `.buffered`).
    var marksSyncs = false
    private var lastTimeMark: UInt64 = 0

    init(opened: OpenedJournal, processID: String, compression: Bool, compressionLevel: CompressionLevel) {
        self.path = opened.path
        self.directory = FileNames.directory(of: opened.path)
        self.processID = processID
        self.compression = compression
        self.compressionLevel = compressionLevel
        self.fd = opened.fd
        self.header = opened.header
        self.endOffset = opened.endOffset
        self.inode = opened.inode
        self.snapshotSequence = opened.report.snapshotSequence ?? 0
        self.writtenThrough = opened.report.nextSequence - 1
        startWatching()
    }

    deinit {
        if fd >= 0 { Syscall.close(fd) }
        stopWatching()
    }

    /// Watches the directory for the open descriptor's time (an idle journal holds no watch).
    private func startWatching() {
        guard watch == nil, fd >= 0, let shared = NamespaceWatch.shared,
            let type = try? Syscall.fileSystemType(fd)
        else { return }
        watch = shared.register(directory: directory, fileSystemType: type)
        checkedGeneration = nil
    }

    private func stopWatching() {
        if let watch { NamespaceWatch.shared?.unregister(watch) }
        watch = nil
        checkedGeneration = nil
    }

    var isOpen: Bool { fd >= 0 }

    // MARK: Idle release

    /// Closes the descriptor (releasing the lock) and frees the compression state.
    func release() {
        guard fd >= 0 else { return }
        Syscall.close(fd)
        fd = -1
        stopWatching()
        encoder = nil
        builder = FrameBuilder()
        payload = []
    }

    /// Throws ``JournalError/Code/replaced`` unless `path` still names the file this engine
    /// writes: checked before every acknowledgement, so that nothing is acknowledged into a file
    /// that was removed or renamed over, where no replay would ever find it. The path is looked
    /// up (`statx`) unless the directory's ``NamespaceWatch`` saw no change since it last was.
    func checkIdentity(sequence: UInt64? = nil) throws(JournalError) {
        guard fd >= 0 else { return }  // released: `ensureOpen` checks when it reopens
        guard let watch, let shared = NamespaceWatch.shared else {
            return try checkIdentityByPath(sequence: sequence)
        }
        guard let generation = shared.generation(of: watch) else {
            checkedGeneration = nil
            return try checkIdentityByPath(sequence: sequence)
        }
        if generation == checkedGeneration { return }
        try checkIdentityByPath(sequence: sequence)
        checkedGeneration = generation
    }

    /// ``checkIdentity(sequence:)`` by looking the path up.
    private func checkIdentityByPath(sequence: UInt64?) throws(JournalError) {
        let status: (device: UInt64, inode: UInt64)
        do { status = try Syscall.identity(ofPath: path) } catch {
            guard error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory else {
                throw JournalError.system(error, path: path)
            }
            throw JournalError(
                code: .replaced,
                message:
                    "the journal file was removed while its writer had it open; nothing written to it since is acknowledged",
                path: path, sequence: sequence)
        }
        guard status.inode == inode else {
            throw JournalError(
                code: .replaced,
                message:
                    "another file (inode \(status.inode)) was moved over the journal its writer holds (inode \(inode)); nothing written since is acknowledged",
                path: path, sequence: sequence)
        }
    }

    /// Reopens a released journal, checking nobody changed it meanwhile.
    func ensureOpen() throws(JournalError) {
        guard fd < 0 else { return }
        // Still this OS process's while the descriptor was closed (its owners file not removed).
        try JournalOwnership.verify(path)
        let newFD: Int32
        do { newFD = try Syscall.open(path, .readWrite) } catch {
            throw JournalError.system(
                error, path: path, code: error.errno == .noSuchFileOrDirectory ? .changedWhileIdle : nil,
                message: "reopening the idle journal failed: \(error)")
        }
        do throws(JournalError) {
            let locked: Bool
            do { locked = try Syscall.tryLockExclusive(newFD) } catch { throw JournalError.system(error, path: path) }
            guard locked else {
                throw JournalError(
                    code: .locked, message: "another writer took the journal while this one was idle", path: path)
            }
            let status: Syscall.FileStatus
            do { status = try Syscall.fstat(newFD) } catch { throw JournalError.system(error, path: path) }
            guard status.inode == inode, status.size == endOffset else {
                throw JournalError(
                    code: .changedWhileIdle,
                    message:
                        "the journal changed on disk while its writer was idle (expected \(endOffset) bytes, found \(status.size))",
                    path: path, offset: endOffset)
            }
            fd = newFD
            startWatching()
        } catch {
            Syscall.close(newFD)
            throw error
        }
    }

    // MARK: Appending

    /// Encodes `messages` (sequence numbers from `firstSequence`) into frames
    /// and writes them with one `pwrite` at the end of the journal.
    ///
    /// With `syncedThrough` (a `.synced` journal), the write ends with a synced-watermark frame:
    /// the highest sequence known durable before this write, for recovery after a power cut.
    ///
    /// Then, unless `checkingIdentity` is false, the file must still be the journal at `path`
    /// (``checkIdentity(sequence:)``). A caller that passes false checks it itself, after
    /// this write and before it acknowledges any message of it (a sync round does, while it
    /// waits for the file system).
    func write(
        _ messages: [[UInt8]], firstSequence: UInt64, syncedThrough: UInt64? = nil, checkingIdentity: Bool = true
    ) throws(JournalError) {
        try ensureOpen()
        builder.reset()
        if timeMarkInterval > 0 {
            let now = Self.wallClockNanoseconds()
            if now &- lastTimeMark >= timeMarkInterval {
                lastTimeMark = now
                appendMark(.timeMark, now, firstSequence: firstSequence)
            }
        }
        payload.removeAll(keepingCapacity: true)
        var frameFirst = firstSequence
        var inFrame = 0
        var sequence = firstSequence
        for message in messages {
            let needed = message.count + 10
            if inFrame > 0 && payload.count + needed > JournalFormat.targetFramePayload {
                appendMessageFrame(firstSequence: frameFirst, count: inFrame)
                payload.removeAll(keepingCapacity: true)
                frameFirst = sequence
                inFrame = 0
            }
            payload.appendVarint(UInt64(message.count))
            payload.append(contentsOf: message)
            inFrame += 1
            sequence += 1
        }
        if inFrame > 0 { appendMessageFrame(firstSequence: frameFirst, count: inFrame) }
        if let syncedThrough { appendMark(.syncedThrough, syncedThrough, firstSequence: sequence) }
        try writeBuilt(
            describing: "\(messages.count) message(s) from sequence \(firstSequence)", sequence: firstSequence)
        writtenThrough = sequence - 1
        // Written into the file this writer holds; before it is acknowledged, that file must
        // still be the journal at `path` (not removed, not replaced by another file).
        if checkingIdentity { try checkIdentity(sequence: firstSequence) }
        if payload.capacity > 4 * JournalFormat.targetFramePayload { payload = [] }
        if builder.bytes.capacity > 4 * JournalFormat.targetFramePayload { builder = FrameBuilder() }
    }

    /// Appends a frame of one little-endian 8-byte value and no message (a time mark or a
    /// synced watermark) to the batch being built.
    /// Writes a synced watermark through ``writtenThrough``, alone; the caller syncs it.
    private func writeSyncedMark() throws(JournalError) {
        let sequence = writtenThrough
        builder.reset()
        appendMark(.syncedThrough, sequence, firstSequence: sequence + 1)
        try writeBuilt(describing: "a synced watermark through sequence \(sequence)", sequence: sequence + 1)
    }

    private func appendMark(_ type: FrameType, _ value: UInt64, firstSequence: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            builder.append(
                type: type, flags: [], firstSequence: firstSequence, messageCount: 0, rawLength: 8,
                payloadChecksum: CRC32C.checksum(raw), stored: raw, seed: header.frameSeed)
        }
    }

    private func appendMessageFrame(firstSequence: UInt64, count: Int) {
        if compression && encoder == nil { encoder = LZ4ChainEncoder(level: compressionLevel) }
        payload.withUnsafeBytes { raw in
            builder.appendMessages(
                payload: raw, firstSequence: firstSequence, messageCount: count, encoder: encoder,
                seed: header.frameSeed)
        }
    }

    /// `what` names the bytes in the error only: it is not built unless the write fails.
    private func writeBuilt(describing what: @autoclosure () -> String, sequence: UInt64) throws(JournalError) {
        do {
            try Syscall.pwriteAll(fd, builder.bytes, at: endOffset)
        } catch {
            // What part of the write landed (a disk that filled up mid-write) was never
            // acknowledged: cut it now, so that the next open finds the journal whole and needs
            // no space to set a torn tail aside (on a full disk, that would keep the process
            // from starting). Best effort: recovery cuts whatever is left.
            try? Syscall.ftruncate(fd, endOffset)
            let code: JournalError.Code =
                (error.errno == .noSpace || error.errno == .diskQuotaExceeded) ? .noSpace : .writeFailed
            throw JournalError(
                code: code, message: "\(error); \(what()) not acknowledged", path: path, offset: endOffset,
                sequence: sequence,
                systemCall: error.call, errno: error.errno, cause: error)
        }
        endOffset += Int64(builder.bytes.count)
    }

    /// Writes a state digest frame (optional type, raw 16-byte payload).
    func writeDigest(_ digest: StateDigest) throws(JournalError) {
        try ensureOpen()
        var payload: [UInt8] = []
        payload.appendLE(digest.sequence)
        payload.appendLE(digest.value)
        builder.reset()
        payload.withUnsafeBytes { raw in
            builder.append(
                type: .canonicalStateDigest, flags: [], firstSequence: digest.sequence + 1, messageCount: 0,
                rawLength: 16,
                payloadChecksum: CRC32C.checksum(raw), stored: raw, seed: header.frameSeed)
        }
        try writeBuilt(describing: "the state digest after sequence \(digest.sequence)", sequence: digest.sequence + 1)
    }

    /// `fdatasync` of the journal. A failure is final for this file. With `marking` (a journal
    /// not synced on every write), first appends a synced watermark saying that everything
    /// written so far is durable, so that recovery tells damage to these bytes (an error) from
    /// a tear of later, unsynced ones.
    func syncFile(marking: Bool = false) throws(JournalError) {
        try ensureOpen()
        if marking { try writeSyncedMark() }
        do { try Syscall.fdatasync(fd) } catch {
            throw JournalError(
                code: .syncFailed, message: "\(error); the journal is not synced again", path: path, offset: endOffset,
                systemCall: error.call, errno: error.errno, cause: error)
        }
    }

    // MARK: Snapshots

    /// A snapshot that was not stored, and whether the journal is as it was.
    ///
    /// A snapshot writes two files of its own before it touches the journal: the snapshot's
    /// temporary file, then the compacted journal's. A failure while writing either (a full
    /// disk, most often: the state is a file's worth of bytes at once) leaves the journal as it
    /// was, every byte of it acknowledged and its writer able to go on; the temporary file is
    /// removed, so that it does not hold the space it took. A failure after a rename, or a
    /// simulated crash, stops the writer as before.
    struct SnapshotFailure: Error {
        var error: JournalError
        /// The journal file, its descriptor and this engine are as before the snapshot.
        var journalIntact: Bool
    }

    /// Stores `state` as the snapshot at `sequence`, then drops the frames
    /// before it. Every step is atomic; a crash between steps leaves either
    /// arrangement, and both replay to the same state.
    func writeSnapshot(_ state: [UInt8], sequence: UInt64) throws(SnapshotFailure) {
        do { try ensureOpen() } catch { throw SnapshotFailure(error: error, journalIntact: false) }
        // 1. The snapshot: temp file, fsync, rename, directory fsync.
        let snapshot = JournalSnapshot(sequence: sequence, bytes: state, processID: processID)
        let snapshotPath = JournalSnapshot.path(forJournal: path)
        let temporary = FileNames.snapshotTemporary(path)
        try writeFileAtomically(
            snapshot.encoded(createdNanoseconds: Self.wallClockNanoseconds()), temporary: temporary,
            final: snapshotPath, step: .snapshotTemporaryWritten)
        snapshotSequence = sequence
        try hook(.snapshotRenamed)
        // 2. The journal without the frames the snapshot covers.
        try compact(after: sequence)
    }

    private func writeFileAtomically(_ bytes: [UInt8], temporary: String, final: String, step: SnapshotStep)
        throws(SnapshotFailure)
    {
        do throws(SystemCallError) {
            let tfd = try Syscall.open(temporary, [.writeOnly, .create, .truncate])
            defer { Syscall.close(tfd) }
            try Syscall.pwriteAll(tfd, bytes, at: 0)
            try Syscall.fsync(tfd)
        } catch {
            try? Syscall.unlink(temporary)
            throw SnapshotFailure(error: JournalError.system(error, path: temporary), journalIntact: true)
        }
        try hook(step)
        do { try Syscall.rename(temporary, final) } catch {
            try? Syscall.unlink(temporary)
            throw SnapshotFailure(error: JournalError.system(error, path: final), journalIntact: true)
        }
        do { try Syscall.syncDirectory(directory) } catch {
            throw SnapshotFailure(error: JournalError.system(error, path: final), journalIntact: false)
        }
    }

    /// A simulated crash (tests): the writer stops.
    private func hook(_ step: SnapshotStep) throws(SnapshotFailure) {
        do { try snapshotHook?(step) } catch {
            throw SnapshotFailure(
                error: JournalError(
                    code: .ioFailure, message: "stopped at \(step) (test hook)", path: path, cause: error),
                journalIntact: false)
        }
    }

    /// Rewrites the journal keeping only messages after `sequence`: a new file
    /// (new salt, base sequence `sequence + 1`) written, synced, locked and
    /// renamed over the old one.
    private func compact(after sequence: UInt64) throws(SnapshotFailure) {
        try rewrite(base: sequence + 1, keeping: { $0 > sequence }, temporary: FileNames.compactTemporary(path))
    }

    /// Moves the messages from `sequence` on into `NAME.quarantine-SEQUENCE-SECONDS`
    /// (a journal of their own) and rewrites the journal without them.
    func quarantine(from sequence: UInt64) throws(JournalError) -> String {
        try ensureOpen()
        let seconds = Int(Self.wallClockNanoseconds() / 1_000_000_000)
        var target = "\(path).quarantine-\(sequence)-\(seconds)"
        var suffix = 0
        while (try? Syscall.status(ofPath: target)) != nil {
            suffix += 1
            target = "\(path).quarantine-\(sequence)-\(seconds).\(suffix)"
        }
        var quarantined: [[UInt8]] = []
        let reader = try JournalReader(fd: fd, ownsDescriptor: false, path: path, limit: endOffset)
        try reader.forEachMessageTyped { s, bytes in
            if s >= sequence { quarantined.append(Array(bytes)) }
        }
        var quarantineHeader = JournalHeader(
            processID: processID, codec: compression ? .lz4 : .none, salt: Self.randomSalt(),
            createdNanoseconds: Self.wallClockNanoseconds(), baseSequence: sequence)
        quarantineHeader.messagesAreCompact = header.messagesAreCompact
        var composer = JournalComposer(header: quarantineHeader)
        var index = 0
        while index < quarantined.count {
            let end = min(index + 1024, quarantined.count)
            composer.append(batch: Array(quarantined[index..<end]))
            index = end
        }
        do throws(SystemCallError) {
            let qfd = try Syscall.open(target, [.writeOnly, .create, .exclusive])
            defer { Syscall.close(qfd) }
            try Syscall.pwriteAll(qfd, composer.bytes, at: 0)
            try Syscall.fsync(qfd)
            try Syscall.syncDirectory(directory)
        } catch {
            throw JournalError.system(error, path: target)
        }
        do {
            try rewrite(
                base: header.baseSequence, keeping: { $0 < sequence }, temporary: FileNames.compactTemporary(path))
        } catch {
            throw error.error
        }
        return target
    }

    /// Writes a new journal file holding the messages `keeping` accepts, then
    /// syncs it, locks it and renames it over the journal. Until the rename the journal is
    /// untouched: a failure before it removes the new file and leaves this engine writing the
    /// journal as before (`journalIntact`).
    private func rewrite(base: UInt64, keeping: (UInt64) -> Bool, temporary: String) throws(SnapshotFailure) {
        var newHeader = JournalHeader(
            processID: processID, codec: compression ? .lz4 : .none, salt: Self.randomSalt(),
            createdNanoseconds: Self.wallClockNanoseconds(), baseSequence: base)
        // The kept messages are the old file's: the new file says what the old one said of them.
        newHeader.messagesAreCompact = header.messagesAreCompact
        // Collect the messages to keep, streaming from the current file.
        var kept: [[UInt8]] = []
        var keptFirst: UInt64 = 0
        do throws(JournalError) {
            let reader = try JournalReader(fd: fd, ownsDescriptor: false, path: path, limit: endOffset)
            try reader.forEachMessageTyped { s, bytes in
                if keeping(s) {
                    if kept.isEmpty { keptFirst = s }
                    kept.append(Array(bytes))
                }
            }
        } catch {
            throw SnapshotFailure(error: error, journalIntact: false)
        }
        /// A failure before the rename: the new file goes, the journal stays as it was.
        func abandoned(_ error: JournalError) -> SnapshotFailure {
            try? Syscall.unlink(temporary)
            return SnapshotFailure(error: error, journalIntact: true)
        }
        let newFD: Int32
        do { newFD = try Syscall.open(temporary, [.readWrite, .create, .truncate]) } catch {
            throw abandoned(JournalError.system(error, path: temporary))
        }
        var success = false
        defer { if !success { Syscall.close(newFD) } }
        do throws(SystemCallError) {
            guard try Syscall.tryLockExclusive(newFD) else { throw SystemCallError(call: "flock", errno: .wouldBlock) }
            try Syscall.pwriteAll(newFD, newHeader.encoded(), at: 0)
        } catch {
            throw abandoned(JournalError.system(error, path: temporary))
        }
        // Switch the engine to the new file, then write the kept messages as a new chain.
        let oldFD = fd
        let oldHeader = header
        let oldEnd = endOffset
        let oldInode = inode
        let oldWritten = writtenThrough
        fd = newFD
        header = newHeader
        endOffset = Int64(newHeader.headerLength)
        writtenThrough = max(base, 1) - 1
        encoder?.reset()
        var renamed = false
        do throws(SnapshotFailure) {
            do throws(JournalError) {
                var index = 0
                while index < kept.count {
                    let end = min(index + 4096, kept.count)
                    try write(Array(kept[index..<end]), firstSequence: keptFirst + UInt64(index))
                    index = end
                }
                // Synced below: a watermark says so, so that damage to these bytes is an error and
                // not taken for a tear of later, unsynced writes.
                if !kept.isEmpty { try writeSyncedMark() }
                do { try Syscall.fsync(newFD) } catch { throw JournalError.system(error, path: temporary) }
            } catch {
                throw SnapshotFailure(error: error, journalIntact: true)
            }
            try hook(.compactedTemporaryWritten)
            do { try Syscall.rename(temporary, path) } catch {
                throw SnapshotFailure(error: JournalError.system(error, path: path), journalIntact: true)
            }
            renamed = true
            do {
                inode = try Syscall.fstat(newFD).inode
                checkedGeneration = nil
            } catch { throw SnapshotFailure(error: JournalError.system(error, path: path), journalIntact: false) }
            try hook(.compactedRenamed)
            do { try Syscall.syncDirectory(directory) } catch {
                throw SnapshotFailure(error: JournalError.system(error, path: directory), journalIntact: false)
            }
        } catch {
            fd = oldFD
            header = oldHeader
            endOffset = oldEnd
            inode = oldInode
            checkedGeneration = nil
            writtenThrough = oldWritten
            // The old file's chain goes on from a fresh dictionary: its next frame refers to no
            // earlier bytes, which every reader decodes with or without them.
            encoder?.reset()
            if error.journalIntact && !renamed { try? Syscall.unlink(temporary) }
            throw error
        }
        success = true
        Syscall.close(oldFD)
    }

    // MARK: Closing

    /// A normal stop. With `discard`, records the clean-stop marker, syncs it,
    /// removes the snapshot and the journal and syncs the directory: a crash at
    /// any point leaves either the whole journal or a clean-stopped one.
    /// Without, syncs and closes.
    func close(discard: Bool, nextSequence: UInt64) throws(JournalError) {
        try ensureOpen()
        if discard {
            builder.reset()
            builder.append(
                type: .cleanStop, flags: [], firstSequence: nextSequence, messageCount: 0, rawLength: 0,
                payloadChecksum: 0, stored: UnsafeRawBufferPointer(start: nil, count: 0), seed: header.frameSeed)
            try writeBuilt(describing: "the clean-stop marker", sequence: nextSequence)
            try closeHook(.markerWritten)
            try syncFile()
            try closeHook(.markerSynced)
            try JournalRecovery.removeSnapshot(ofJournal: path, directory: directory)
            try closeHook(.snapshotRemoved)
            do { try Syscall.unlink(path) } catch { throw JournalError.system(error, path: path) }
            try closeHook(.journalRemoved)
            do { try Syscall.syncDirectory(directory) } catch { throw JournalError.system(error, path: directory) }
        } else {
            try syncFile()
        }
        release()
    }

    private func closeHook(_ step: CloseStep) throws(JournalError) {
        do { try closeHook?(step) } catch {
            throw JournalError(code: .ioFailure, message: "stopped at \(step) (test hook)", path: path, cause: error)
        }
    }

    // MARK: Helpers

    static func randomSalt() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        var salt: UInt64 = 0
        while salt == 0 { salt = generator.next() }
        return salt
    }

    static func wallClockNanoseconds() -> UInt64 { Syscall.wallClockNanoseconds() }
}
