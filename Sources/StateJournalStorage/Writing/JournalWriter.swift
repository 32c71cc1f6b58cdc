public import Logging
import StateJournalSystem
import Synchronization

/// The companion writer: the one owner of a journal file.
///
/// Appends are batched: every append that arrives while a batch is being
/// written or synced joins the next batch (group commit), which becomes one
/// or a few frames, compressed, written with one `pwrite` and — for
/// `.synced` — made durable in a sync round shared with the other journals
/// of the file system. An append returns its sequence numbers once its batch
/// is durable per the journal's ``Durability``. Sequence numbers follow the
/// order of arrival, strictly increasing, without gaps.
///
/// All blocking calls run on threads the library owns, never on Swift's
/// cooperative pool. A failed `write` or `fdatasync` fails every append of
/// its batch and every later one: nothing is acknowledged that is not on disk
/// per the durability, and a failed sync is never retried on the same file.
///
/// The writer holds an exclusive `flock` on the journal while it has the file
/// open. After ``JournalOptions/idleTimeout`` without work it closes the
/// file and frees its compression state; the next append reopens it.
public final class JournalWriter: Sendable {
    /// The journal's path.
    public let path: String
    /// The process the journal belongs to.
    public let processID: String
    /// The options it was opened with.
    public let options: JournalOptions
    /// What opening found and did.
    public let recovery: RecoveryReport

    typealias AppendResult = Result<ClosedRange<UInt64>, JournalError>
    typealias AppendContinuation = CheckedContinuation<AppendResult, Never>
    typealias DoneContinuation = Completion<Result<Void, JournalError>>
    typealias QuarantineContinuation = CheckedContinuation<Result<String, JournalError>, Never>

    private struct Batch {
        var messages: [[UInt8]] = []
        var firstSequence: UInt64
        var rawBytes = 0
        var waiters = BatchWaiters()
    }

    /// A batch's waiters, in order. The usual single waiter (one turn's submit) needs no array:
    /// this is on every append's path.
    struct BatchWaiters: Sequence {
        private var first: (Waiter, ClosedRange<UInt64>)?
        private var more: [(Waiter, ClosedRange<UInt64>)] = []

        init() {}

        mutating func append(_ waiter: Waiter, _ range: ClosedRange<UInt64>) {
            if first == nil { first = (waiter, range) } else { more.append((waiter, range)) }
        }

        func makeIterator() -> Iterator { Iterator(waiters: self) }

        struct Iterator: IteratorProtocol {
            let waiters: BatchWaiters
            var index = -1

            mutating func next() -> (Waiter, ClosedRange<UInt64>)? {
                defer { index += 1 }
                if index < 0 { return waiters.first }
                return index < waiters.more.count ? waiters.more[index] : nil
            }
        }
    }

    /// Who waits for an append: an `append` call, or an ``AppendTicket``.
    enum Waiter: Sendable {
        case continuation(AppendContinuation)
        case ticket(AppendTicket)

        func resume(_ result: AppendResult) {
            switch self {
            case .continuation(let continuation): continuation.resume(returning: result)
            case .ticket(let ticket): ticket.complete(result)
            }
        }
    }

    private enum Operation {
        case append(Batch)
        case flush(DoneContinuation)
        case digest(StateDigest)
        case quarantine(from: UInt64, QuarantineContinuation)
        case abandon(DoneContinuation)
        case snapshot([UInt8], UInt64, DoneContinuation)
        case close(discard: Bool, DoneContinuation)
        /// Holds a queue slot while its batch is mutated in place.
        case vacated

        /// Snapshots, closes, quarantines and flushes sync files and directories (milliseconds
        /// each); appends and digests only write (a `.synced` append's sync goes to the sync
        /// rounds).
        var waitsOnFileSyncs: Bool {
            switch self {
            case .snapshot, .close, .quarantine, .flush: true
            case .append, .digest, .abandon, .vacated: false
            }
        }
    }

    private enum Phase {
        case open
        case failed(JournalError)
        case closing
        case closed
    }

    private enum Worker {
        /// No job owns the engine.
        case idle
        /// A job owns the engine (queued, running, or waiting for a sync round).
        case busy
    }

    private struct State {
        var phase: Phase = .open
        var nextSequence: UInt64
        var queue: [Operation] = []
        var worker: Worker = .idle
        var bufferedTimerArmed = false
        var idleTimerArmed = false
        var lastActivity: UInt64 = 0
        var appendedMessages: UInt64 = 0
        var batchesWritten: UInt64 = 0
        var snapshotSequence: UInt64 = 0
        /// The highest sequence number known durable (a `.synced` journal's watermark).
        var syncedThrough: UInt64 = 0
    }

    private let state: LockedValue<State>
    private let engine: JournalEngine
    private let pool: IOThreadPool
    private let syncRounds: SyncRounds?
    /// This OS process owns the journal while the writer lives, idle or not.
    private let ownership: OwnershipClaim
    /// The sync method in use: ``JournalOptions/syncMethod`` as this journal's file system allows.
    package let syncMethod: SyncMethod
    private let logger: Logger

    private init(
        opened: OpenedJournal, processID: String, options: JournalOptions, pool: IOThreadPool,
        syncRounds: SyncRounds?, syncMethod: SyncMethod, ownership: OwnershipClaim, logger: Logger
    ) {
        self.ownership = ownership
        self.path = opened.path
        self.processID = processID
        self.options = options
        self.recovery = opened.report
        self.engine = JournalEngine(
            opened: opened, processID: processID, compression: options.compression,
            compressionLevel: options.compressionLevel)
        self.engine.timeMarkInterval = options.timeMarkInterval.map(Self.nanoseconds) ?? 0
        self.engine.marksSyncs = options.durability != .synced
        self.pool = pool
        self.syncRounds = syncRounds
        self.syncMethod = syncMethod
        self.logger = logger
        self.state = LockedValue(
            State(
                nextSequence: opened.report.nextSequence, lastActivity: IOThreadPool.now(),
                snapshotSequence: opened.report.snapshotSequence ?? 0,
                syncedThrough: options.durability == .synced ? opened.report.nextSequence - 1 : 0))
    }

    /// The directories' devices already warned about by ``warnIfSyncsAreIgnored(path:logger:)``.
    private static let warnedVolatile = LockedValue(Set<UInt64>())

    /// Logs a warning, once per file system and OS process, when the `.synced` journal at `path`
    /// is on an overlay that ignores syncs (mounted `volatile`): its acknowledgements then mean
    /// only `.written`. (CRI-O mounts every container's writable layer so, podman those of
    /// `--rm` containers: layers that are thrown away after a crash of the machine anyway.)
    private static func warnIfSyncsAreIgnored(path: String, logger: Logger) {
        guard let device = try? Syscall.status(ofPath: FileNames.directory(of: path)).device,
            MountTable.isVolatileOverlay(device: device),
            warnedVolatile.withLock({ $0.insert(device).inserted })
        else { return }
        logger.warning(
            "syncs are ignored on this file system",
            metadata: [
                "path": "\(path)",
                "reason":
                    "an overlay mounted volatile (a container's writable layer) returns from fdatasync without writing: .synced acknowledgements here do not survive a crash of the machine; keep .synced journals on a volume",
            ])
    }

    /// Opens the journal at `path` for writing, recovering it first (see
    /// ``RecoveryReport``), or creates it.
    ///
    /// - Throws: ``JournalError`` with ``JournalError/Code/locked`` when another
    ///   writer holds it, and the reader's codes for a damaged or foreign file.
    public static func open(
        path: String, processID: String, options: JournalOptions = JournalOptions(), logger: Logger
    ) async throws(JournalError) -> JournalWriter {
        let (opened, pool, rounds, method) = try await IOThreadPool.opening.run {
            () throws(JournalError) -> (OpenedJournalBox, IOThreadPool, SyncRounds?, SyncMethod) in
            if options.createDirectory { try JournalRecovery.createDirectories(FileNames.directory(of: path)) }
            try JournalOwnership.claim(path)
            let opened: OpenedJournal
            let pool: IOThreadPool
            do throws(JournalError) {
                opened = try JournalRecovery.open(path: path, processID: processID, options: options, logger: logger)
                do throws(SystemCallError) {
                    pool = try IOThreadPool.writing(onDevice: try Syscall.fstat(opened.fd).device)
                } catch {
                    Syscall.close(opened.fd)
                    throw JournalError.system(error, path: path)
                }
            } catch {
                JournalOwnership.release(path)
                throw error
            }
            guard options.durability == .synced else { return (OpenedJournalBox(opened), pool, nil, .perFile) }
            do throws(SystemCallError) {
                // What recovery kept is made durable now: the synced watermark starts from it.
                try Syscall.fdatasync(opened.fd)
                let fileSystemType = try Syscall.fileSystemType(opened.fd)
                let (method, downgraded) = options.syncMethod.effective(onFileSystemType: fileSystemType)
                if let downgraded {
                    logger.warning("sync method downgraded", metadata: ["path": "\(path)", "reason": "\(downgraded)"])
                }
                if fileSystemType == MountTable.overlayType { warnIfSyncsAreIgnored(path: path, logger: logger) }
                return (
                    OpenedJournalBox(opened), pool, try SyncRounds.forDirectory(FileNames.directory(of: path)), method
                )
            } catch {
                Syscall.close(opened.fd)
                JournalOwnership.release(path)
                throw JournalError.system(error, path: path)
            }
        }
        let writer = JournalWriter(
            opened: opened.value, processID: processID, options: options, pool: pool, syncRounds: rounds,
            syncMethod: method, ownership: OwnershipClaim(path), logger: logger)
        writer.armIdleTimer()
        return writer
    }

    /// The sequence number the next append will get.
    public var nextSequence: UInt64 { state.withLock { $0.nextSequence } }

    // MARK: Appending

    /// Appends one message; returns its sequence number once it is durable per the journal's durability.
    @discardableResult
    ///
    /// Called from an actor, the message is queued (and its sequence number
    /// assigned) before the call first suspends, still on the actor: messages
    /// an actor appends one after the other keep that order.
    public func append(_ message: [UInt8], isolation: isolated (any Actor)? = #isolation) async throws(JournalError)
        -> UInt64
    {
        try await append(contentsOf: [message], isolation: isolation).lowerBound
    }

    /// Appends messages as one contiguous run of sequence numbers; returns
    /// them once all are durable per the journal's durability.
    @discardableResult
    public func append(
        contentsOf messages: [[UInt8]], isolation: isolated (any Actor)? = #isolation
    ) async throws(JournalError) -> ClosedRange<UInt64> {
        if let invalid = validate(messages) { throw invalid }
        if case .buffered = options.durability {
            return try enqueueBuffered(messages)
        }
        let result: AppendResult = await withCheckedContinuation(isolation: isolation) { continuation in
            enqueue(messages, waiter: .continuation(continuation))
        }
        return try result.get()
    }

    /// How long an awaiting sender may poll for a `.written` acknowledgement (``AppendTicket``).
    static let writtenPollNanoseconds: UInt64 = 30_000

    /// Queues messages now — their sequence numbers are assigned before this
    /// returns — and hands back a ticket to await their acknowledgement. For
    /// callers that must do more work in order right after queueing (an actor
    /// recording a state digest after its message).
    public func submit(contentsOf messages: [[UInt8]]) -> AppendTicket {
        // A `.written` append is acknowledged once its `pwrite` returns, microseconds from now.
        let ticket =
            options.durability == .written
            ? AppendTicket(expectedWithinNanoseconds: Self.writtenPollNanoseconds) : AppendTicket()
        if let invalid = validate(messages) {
            ticket.complete(.failure(invalid))
        } else if case .buffered = options.durability {
            do throws(JournalError) {
                ticket.complete(.success(try enqueueBuffered(messages)))
            } catch {
                ticket.complete(.failure(error))
            }
        } else {
            enqueue(messages, waiter: .ticket(ticket))
        }
        return ticket
    }

    /// Why `messages` cannot be appended, if they cannot.
    private func validate(_ messages: [[UInt8]]) -> JournalError? {
        if messages.isEmpty {
            return JournalError(code: .invalidArgument, message: "append needs at least one message", path: path)
        }
        for message in messages where message.count > JournalFormat.maxMessageSize {
            return JournalError(
                code: .messageTooLarge,
                message: "a message of \(message.count) bytes exceeds the limit of \(JournalFormat.maxMessageSize)",
                path: path)
        }
        return nil
    }

    /// Assigns the next sequence numbers to `messages` and queues them.
    private static func assign(_ messages: [[UInt8]], waiter: Waiter?, in state: inout State) -> ClosedRange<UInt64> {
        let first = state.nextSequence
        let range = first...(first + UInt64(messages.count) - 1)
        state.nextSequence += UInt64(messages.count)
        state.appendedMessages += UInt64(messages.count)
        add(messages, range: range, waiter: waiter, to: &state.queue)
        return range
    }

    private func enqueue(_ messages: [[UInt8]], waiter: Waiter) {
        if let failure = queue({ state in _ = Self.assign(messages, waiter: waiter, in: &state) }) {
            waiter.resume(.failure(failure))
        }
    }

    /// Changes the state with `enqueue` unless the writer refuses work (then
    /// returns why), and starts the worker when it is idle.
    private func queue(_ enqueue: (inout State) -> Void) -> JournalError? {
        let outcome = state.withLock { state -> (start: Bool, failure: JournalError?) in
            if let failure = Self.refusal(state.phase, path: path) { return (false, failure) }
            enqueue(&state)
            if state.worker == .idle {
                state.worker = .busy
                return (true, nil)
            }
            return (false, nil)
        }
        if outcome.start { pool.execute(self) }
        return outcome.failure
    }

    private func enqueueBuffered(_ messages: [[UInt8]]) throws(JournalError) -> ClosedRange<UInt64> {
        guard case .buffered(let within) = options.durability else { preconditionFailure() }
        let outcome = state.withLock {
            state -> (range: ClosedRange<UInt64>?, failure: JournalError?, start: Bool, arm: Bool) in
            if let failure = Self.refusal(state.phase, path: path) { return (nil, failure, false, false) }
            let range = Self.assign(messages, waiter: nil, in: &state)
            guard state.worker == .idle else { return (range, nil, false, false) }
            let queued = state.queue.reduce(0) { total, operation in
                if case .append(let batch) = operation { return total + batch.rawBytes }
                return total
            }
            if queued >= JournalFormat.targetFramePayload {
                state.worker = .busy
                return (range, nil, true, false)
            }
            if !state.bufferedTimerArmed {
                state.bufferedTimerArmed = true
                return (range, nil, false, true)
            }
            return (range, nil, false, false)
        }
        if let failure = outcome.failure { throw failure }
        if outcome.start { pool.execute(self) }
        if outcome.arm {
            pool.execute(afterNanoseconds: Self.nanoseconds(within)) { self.bufferedDeadline() }
        }
        return outcome.range!
    }

    private func bufferedDeadline() {
        let start = state.withLock { state -> Bool in
            state.bufferedTimerArmed = false
            guard state.worker == .idle, !state.queue.isEmpty else { return false }
            state.worker = .busy
            return true
        }
        if start { work() }
    }

    private static func add(
        _ messages: [[UInt8]], range: ClosedRange<UInt64>, waiter: Waiter?, to queue: inout [Operation]
    ) {
        let bytes = messages.reduce(0) { $0 + $1.count + 2 }
        if case .append(var batch)? = queue.last, batch.rawBytes < 4 * JournalFormat.targetFramePayload {
            queue[queue.count - 1] = .vacated  // so the batch's arrays are uniquely referenced
            batch.messages.append(contentsOf: messages)
            batch.rawBytes += bytes
            if let waiter { batch.waiters.append(waiter, range) }
            queue[queue.count - 1] = .append(batch)
            return
        }
        var batch = Batch(firstSequence: range.lowerBound)
        batch.messages = messages
        batch.rawBytes = bytes
        if let waiter { batch.waiters.append(waiter, range) }
        queue.append(.append(batch))
    }

    private static func refusal(_ phase: Phase, path: String) -> JournalError? {
        switch phase {
        case .open: nil
        case .failed(let cause):
            // Named when the failure was in another file (a snapshot's, a compaction's): the
            // call and errno below are that file's, not the journal's.
            JournalError(
                code: .writerFailed,
                message: "the writer failed earlier: \(cause.message)"
                    + (cause.path.map { $0 == path ? "" : " (in \($0))" } ?? ""),
                path: path, sequence: cause.sequence, systemCall: cause.systemCall, errno: cause.errno, cause: cause)
        case .closing, .closed:
            JournalError(code: .closed, message: "the journal writer is closed", path: path)
        }
    }

    // MARK: Flush, snapshot, close

    /// Returns once everything appended before is written and synced
    /// (`fdatasync`), whatever the journal's durability. A `.written` or
    /// `.buffered` journal first gets a synced watermark (40 bytes): after a
    /// power cut, damage to what a flush synced is then an error, never taken
    /// for a tear of later, unsynced writes (docs/FORMAT.md).
    public func flush() async throws(JournalError) {
        try await control { .flush($0) }
    }

    /// Stores `state`, the process state after the message with `sequence`,
    /// as the journal's snapshot, then drops the frames before it. Replay then
    /// yields the snapshot and only the messages after `sequence`.
    ///
    /// Runs after every append made before it. Atomic at every step.
    public func writeSnapshot(_ state: [UInt8], through sequence: UInt64) async throws(JournalError) {
        try checkSnapshot(state, through: sequence)
        try await control { .snapshot(state, sequence, $0) }
    }

    /// Queues a snapshot as ``writeSnapshot(_:through:)`` does, without waiting for it:
    /// `then` gets the outcome on the writer's thread (a snapshot policy, which must not
    /// hold up the process that asked).
    public func requestSnapshot(
        _ state: [UInt8], through sequence: UInt64, then: @escaping @Sendable (Result<Void, JournalError>) -> Void
    ) {
        do throws(JournalError) {
            try checkSnapshot(state, through: sequence)
        } catch {
            then(.failure(error))
            return
        }
        let done = DoneContinuation(then: then)
        if let failure = queue({ $0.queue.append(.snapshot(state, sequence, done)) }) {
            done.resume(returning: .failure(failure))
        }
    }

    private func checkSnapshot(_ state: [UInt8], through sequence: UInt64) throws(JournalError) {
        let (next, floor) = self.state.withLock { ($0.nextSequence, $0.snapshotSequence) }
        guard sequence < next, sequence >= floor else {
            throw JournalError(
                code: .invalidArgument,
                message:
                    "a snapshot through sequence \(sequence) is out of range (appended up to \(next - 1), latest snapshot \(floor))",
                path: path, sequence: sequence)
        }
        guard state.count <= JournalFormat.maxSnapshotSize else {
            throw JournalError(
                code: .messageTooLarge,
                message: "a snapshot of \(state.count) bytes exceeds the limit of \(JournalFormat.maxSnapshotSize)",
                path: path)
        }
    }

    /// Records a digest of the state after message `digest.sequence`, in order
    /// with the messages (for the determinism check). Not acknowledged: a
    /// digest is optional data; a failure to write it fails the writer like
    /// any write.
    public func recordStateDigest(_ digest: StateDigest) {
        _ = queue { state in state.queue.append(.digest(digest)) }
    }

    /// Moves the messages from `sequence` on into a quarantine file beside
    /// the journal (in the journal format, so the CLI reads it) and cuts them
    /// from the journal; the next append gets `sequence`. For a replay that
    /// fails at `sequence`: the rest is kept and reported, never dropped.
    /// Returns the quarantine file's path.
    public func quarantine(from sequence: UInt64) async throws(JournalError) -> String {
        let result: Result<String, JournalError> = await withCheckedContinuation { continuation in
            if let failure = queue({ state in state.queue.append(.quarantine(from: sequence, continuation)) }) {
                continuation.resume(returning: .failure(failure))
            }
        }
        return try result.get()
    }

    /// Stops after the operations queued before, as if the OS process died
    /// there: nothing is synced, no clean-stop marker is written, the file is
    /// released. For crash and power-loss tests.
    public func abandon() async {
        _ = try? await control { .abandon($0) }
    }

    /// A normal stop. Everything appended before is written first.
    ///
    /// - Parameter discard: true for a transient journal: record the
    ///   clean-stop marker, sync it, then remove the snapshot and the journal
    ///   (a crash in the middle leaves either the whole journal or a
    ///   clean-stopped one, never half). False keeps everything, synced.
    ///
    /// Cancelling the calling task ends the wait (``JournalError/Code/cancelled``), not the
    /// close: it goes on on the writer's thread, and if it had not begun it keeps the journal
    /// (a stop without grace), since nobody waits to hear that it was discarded.
    public func close(discard: Bool) async throws(JournalError) {
        try await control(cancellable: true) { .close(discard: discard, $0) }
    }

    /// A close whose wait ignores cancellation: for a stop without grace on a cancelled task,
    /// which must not return while the file is still open and locked (a restart in the same OS
    /// process would find it locked). Bounded by what is queued before it.
    public func closeIgnoringCancellation(discard: Bool) async throws(JournalError) {
        try await control(cancellable: false) { .close(discard: discard, $0) }
    }

    private func control(cancellable: Bool = false, _ make: (DoneContinuation) -> Operation) async throws(JournalError)
    {
        let done = DoneContinuation()
        let path = self.path
        let result: Result<Void, JournalError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                done.attach(continuation)
                let failure = queue { state in
                    let operation = make(done)
                    if case .close = operation { state.phase = .closing }
                    state.queue.append(operation)
                }
                if let failure { done.resume(returning: .failure(failure)) }
            }
        } onCancel: {
            guard cancellable else { return }
            done.resume(
                returning: .failure(
                    JournalError(
                        code: .cancelled,
                        message: "the task was cancelled while it waited; the writer finishes on its own", path: path)))
        }
        try result.get()
    }

    // MARK: The worker

    /// The pool runs the worker without a closure allocated for it on every write.
    package func runOnPool() { work() }

    /// Runs one queued operation with the engine, on an I/O thread. The
    /// caller holds the worker token (`worker == .busy`).
    private func work() {
        let operation = state.withLock { state -> Operation? in
            if state.queue.isEmpty {
                state.worker = .idle
                state.lastActivity = IOThreadPool.now()
                return nil
            }
            return state.queue.removeFirst()
        }
        guard let operation else {
            armIdleTimer()
            return
        }
        if operation.waitsOnFileSyncs {
            // Milliseconds of `fsync`s (of new files and the directory): on the opening threads,
            // so that the appends of other journals do not wait behind them.
            IOThreadPool.opening.execute { self.perform(operation) }
        } else {
            perform(operation)
        }
    }

    /// Runs `operation`, then hands the worker token on (or gives it up).
    private func perform(_ operation: Operation) {
        switch operation {
        case .append(let batch):
            do {
                let watermark = options.durability == .synced ? state.withLock { $0.syncedThrough } : nil
                // A journal synced in rounds has its identity checked by the round, while the
                // round waits for the file system, rather than here on a writing thread.
                try engine.write(
                    batch.messages, firstSequence: batch.firstSequence, syncedThrough: watermark,
                    checkingIdentity: options.durability != .synced || syncRounds == nil)
            } catch {
                fail(error, batchWaiters: batch.waiters)
                return
            }
            state.withLock { $0.batchesWritten += 1 }
            if options.durability == .synced, let syncRounds {
                let engine = self.engine
                let check: SyncRounds.IdentityCheck = { () throws(JournalError) in
                    try engine.checkIdentity(sequence: batch.firstSequence)
                }
                syncRounds.request(fd: engine.fd, method: syncMethod, checkingIdentity: check) { failure, replaced in
                    if let failure {
                        let error = JournalError(
                            code: .syncFailed, message: "\(failure); the journal is not synced again",
                            path: self.path, sequence: batch.firstSequence, systemCall: failure.call,
                            errno: failure.errno, cause: failure)
                        self.fail(error, batchWaiters: batch.waiters)
                        return
                    }
                    if let replaced {
                        self.fail(replaced, batchWaiters: batch.waiters)
                        return
                    }
                    let last = batch.firstSequence + UInt64(batch.messages.count) - 1
                    self.state.withLock { $0.syncedThrough = max($0.syncedThrough, last) }
                    for (waiter, range) in batch.waiters { waiter.resume(.success(range)) }
                    self.next()
                }
                return
            }
            for (waiter, range) in batch.waiters { waiter.resume(.success(range)) }
        case .digest(let digest):
            do {
                try engine.writeDigest(digest)
            } catch {
                fail(error, batchWaiters: BatchWaiters())
                return
            }
        case .quarantine(let sequence, let done):
            let quarantined: String
            do {
                quarantined = try engine.quarantine(from: sequence)
            } catch {
                done.resume(returning: .failure(error))
                fail(error, batchWaiters: BatchWaiters())
                return
            }
            state.withLock { $0.nextSequence = sequence }
            logger.warning(
                "messages quarantined", metadata: ["path": "\(path)", "from": "\(sequence)", "file": "\(quarantined)"])
            done.resume(returning: .success(quarantined))
        case .abandon(let done):
            // As if the OS process died here: no sync, no marker; the descriptor (and lock) go.
            engine.release()
            let rest = state.withLock { state -> [Operation] in
                state.phase = .closed
                state.worker = .idle
                defer { state.queue.removeAll() }
                return state.queue
            }
            Self.failAll(
                rest, with: JournalError(code: .closed, message: "the journal writer was abandoned", path: path))
            ownership.release()
            done.resume(returning: .success(()))
            return
        case .flush(let done):
            do {
                try engine.checkIdentity()
                try engine.syncFile(marking: engine.marksSyncs)
            } catch {
                done.resume(returning: .failure(error))
                fail(error, batchWaiters: BatchWaiters())
                return
            }
            done.resume(returning: .success(()))
        case .snapshot(let bytes, let sequence, let done):
            do {
                try engine.writeSnapshot(bytes, sequence: sequence)
            } catch {
                guard error.journalIntact else {
                    done.resume(returning: .failure(error.error))
                    fail(error.error, batchWaiters: BatchWaiters())
                    return
                }
                // Not stored (a full disk, most often), the journal untouched: it goes on, and a
                // later snapshot tries again. What was stored, if the snapshot file was (its
                // compaction failed), replays to the same state beside the whole journal.
                let stored = engine.snapshotSequence
                state.withLock { $0.snapshotSequence = max($0.snapshotSequence, stored) }
                logger.warning(
                    "snapshot not stored; the journal goes on",
                    metadata: ["path": "\(path)", "sequence": "\(sequence)", "error": "\(error.error)"])
                done.resume(returning: .failure(error.error))
                next()
                return
            }
            state.withLock { $0.snapshotSequence = max($0.snapshotSequence, sequence) }
            logger.debug("snapshot stored", metadata: ["path": "\(path)", "sequence": "\(sequence)"])
            done.resume(returning: .success(()))
        case .close(let discard, let done):
            let next = nextSequence
            do {
                // A caller that stopped waiting gets no clean stop: the journal is kept.
                try engine.close(discard: discard && !done.isAnswered, nextSequence: next)
            } catch {
                done.resume(returning: .failure(error))
                fail(error, batchWaiters: BatchWaiters())
                return
            }
            let rest = state.withLock { state -> [Operation] in
                state.phase = .closed
                state.worker = .idle
                defer { state.queue.removeAll() }
                return state.queue
            }
            Self.failAll(rest, with: JournalError(code: .closed, message: "the journal writer is closed", path: path))
            ownership.release()
            done.resume(returning: .success(()))
            return
        case .vacated:
            break
        }
        next()
    }

    /// Hands the worker token on: the next operation runs as a new pool job,
    /// so one busy journal does not starve the others.
    private func next() {
        let more = state.withLock { state -> Bool in
            if state.queue.isEmpty {
                state.worker = .idle
                state.lastActivity = IOThreadPool.now()
                return false
            }
            return true
        }
        if more { pool.execute(self) } else { armIdleTimer() }
    }

    /// Marks the writer failed: the failing batch and every queued operation get the error.
    private func fail(_ error: JournalError, batchWaiters: BatchWaiters) {
        let rest = state.withLock { state -> [Operation] in
            if case .open = state.phase {
                state.phase = .failed(error)
            } else if case .closing = state.phase {
                state.phase = .failed(error)
            }
            state.worker = .idle
            defer { state.queue.removeAll() }
            return state.queue
        }
        logger.error("journal writer failed", metadata: ["path": "\(path)", "error": "\(error)"])
        failureObserver.withLock { $0 }?(error)
        // The file is not written again: release it so recovery (here or in another process) can take it.
        engine.release()
        for (waiter, _) in batchWaiters { waiter.resume(.failure(error)) }
        let later = Self.refusal(.failed(error), path: path)!
        Self.failAll(rest, with: later)
    }

    private static func failAll(_ operations: [Operation], with error: JournalError) {
        for operation in operations {
            switch operation {
            case .append(let batch):
                for (waiter, _) in batch.waiters { waiter.resume(.failure(error)) }
            case .quarantine(_, let done):
                done.resume(returning: .failure(error))
            case .digest:
                break
            case .flush(let done), .snapshot(_, _, let done), .close(_, let done), .abandon(let done):
                done.resume(returning: .failure(error))
            case .vacated:
                break
            }
        }
    }

    // MARK: Idle release

    private func armIdleTimer() {
        guard let timeout = options.idleTimeout else { return }
        let arm = state.withLock { state -> Bool in
            if state.idleTimerArmed { return false }
            state.idleTimerArmed = true
            return true
        }
        if arm {
            pool.execute(afterNanoseconds: Self.nanoseconds(timeout)) { [weak self] in self?.idleCheck() }
        }
    }

    private func idleCheck() {
        guard let timeout = options.idleTimeout else { return }
        let limit = Self.nanoseconds(timeout)
        enum Decision { case release, rearm, nothing }
        let decision = state.withLock { state -> Decision in
            state.idleTimerArmed = false
            guard case .open = state.phase else { return .nothing }
            guard state.worker == .idle, state.queue.isEmpty else { return .nothing }
            if IOThreadPool.now() &- state.lastActivity >= limit {
                state.worker = .busy
                return .release
            }
            return .rearm
        }
        switch decision {
        case .release:
            engine.release()
            state.withLock { $0.worker = .idle }
            if !(state.withLock { $0.queue.isEmpty }) { kick() }
        case .rearm:
            armIdleTimer()
        case .nothing:
            break
        }
    }

    private func kick() {
        let start = state.withLock { state -> Bool in
            guard state.worker == .idle, !state.queue.isEmpty else { return false }
            state.worker = .busy
            return true
        }
        if start { pool.execute(self) }
    }

    /// Whether the writer still owns its journal: open, or closing (false once closed, abandoned or failed).
    package var isOwning: Bool {
        state.withLock { state in
            switch state.phase {
            case .open, .closing: true
            case .failed, .closed: false
            }
        }
    }

    /// Who hears of the error that fails the writer (once it failed: at once).
    private let failureObserver = LockedValue<(@Sendable (JournalError) -> Void)?>(nil)

    package func observeFailure(_ observer: @escaping @Sendable (JournalError) -> Void) {
        failureObserver.withLock { $0 = observer }
        if let failure { observer(failure) }
    }

    /// The error that failed the writer, if one did.
    package var failure: JournalError? {
        state.withLock { state in
            if case .failed(let error) = state.phase { return error }
            return nil
        }
    }

    /// Whether the writer holds its file open now (false while idle-released).
    public var isFileOpen: Bool {
        state.withLock { state in state.worker == .idle ? engine.isOpen : true }
    }

    /// Counters for statistics and tests.
    public var statistics: Statistics {
        state.withLock { Statistics(messagesAppended: $0.appendedMessages, batchesWritten: $0.batchesWritten) }
    }

    /// What the writer did since it opened.
    public struct Statistics: Sendable, Hashable {
        /// Messages acknowledged.
        public var messagesAppended: UInt64
        /// Batches written, each one `pwrite`.
        public var batchesWritten: UInt64
    }

    package func setSnapshotHook(_ hook: (@Sendable (SnapshotStep) throws -> Void)?) {
        state.withLock { _ in engine.snapshotHook = hook }
    }

    package func setCloseHook(_ hook: (@Sendable (CloseStep) throws -> Void)?) {
        state.withLock { _ in engine.closeHook = hook }
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}

/// Moves a recovered journal (which owns a descriptor) across the pool boundary.
private struct OpenedJournalBox: @unchecked Sendable {
    // Safe: created on the pool thread and handed over exactly once.
    var value: OpenedJournal
    init(_ value: OpenedJournal) { self.value = value }
}

/// An answer delivered at most once: by the writer's thread when the work is done, or earlier
/// to a caller that stopped waiting (its task was cancelled); later answers are dropped.
final class Completion<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, Never>?)
        /// Nobody waits: the answer is handed to this callback, on the thread that gives it.
        case callback(@Sendable (Value) -> Void)
        /// Answered before the caller's continuation was attached (a task cancelled at once).
        case answeredEarly(Value)
        case answered
    }

    private let state: LockedValue<State>

    init() { state = LockedValue(.waiting(nil)) }

    /// An answer for nobody waiting: `then` gets it, on the writer's thread (keep it short).
    init(then callback: @escaping @Sendable (Value) -> Void) { state = LockedValue(.callback(callback)) }

    /// Attaches the caller's continuation; an answer that came first is delivered at once.
    func attach(_ continuation: CheckedContinuation<Value, Never>) {
        let early = state.withLock { state -> Value? in
            if case .answeredEarly(let value) = state {
                state = .answered
                return value
            }
            state = .waiting(continuation)
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    /// An answer was given (to the waiting caller, or to a caller that gave up waiting).
    var isAnswered: Bool {
        state.withLock { if case .waiting = $0 { return false } else { return true } }
    }

    func resume(returning value: Value) {
        let callback = state.withLock { state -> (@Sendable (Value) -> Void)? in
            guard case .callback(let callback) = state else { return nil }
            state = .answered
            return callback
        }
        if let callback {
            callback(value)
            return
        }
        let continuation = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard case .waiting(let continuation) = state else { return nil }
            if let continuation {
                state = .answered
                return continuation
            }
            state = .answeredEarly(value)
            return nil
        }
        continuation?.resume(returning: value)
    }
}

extension JournalWriter: IOThreadPool.Runnable {}
