import Logging
import StateJournalStorage

/// What a supervisor needs from a child, whatever its process type.
protocol SupervisedChild: AnyObject, Sendable {
    var id: String { get }
    var journalPath: String { get }
    /// Starts, or restarts after a crash: rebuilds the state from the journal
    /// (the companion writer is kept when it is still healthy). Restarts of one
    /// child never overlap; returns false when a later restart (or a stop)
    /// took over before this one finished.
    func restart() async throws -> Bool
    /// A normal stop: the journal is discarded or kept per the retention.
    func stopNormally() async throws
    /// A stop that keeps the journal whatever the retention (shutdown
    /// without grace, escalation): the state comes back on the next start.
    func stopKeepingJournal(reason: ProcessError) async
    /// Refuses further work after the supervisor gave up on a crashed child.
    func abandon(reason: ProcessError) async
    /// Refuses further work at once and answers every waiting sender, without waiting for
    /// anything (a stop that overran its shutdown timeout; its close goes on on the I/O thread).
    func abandonWithoutWaiting(reason: ProcessError) async
}

/// How a cell tells its supervisor that it crashed or stopped by itself.
struct ChildReporter: Sendable {
    var crashed: @Sendable (_ id: String, _ error: ProcessError) -> Void
    var stopped: @Sendable (_ id: String) -> Void
}

/// One journaled process: its state, and its companion writer. The process
/// runs as this actor; every message is applied and queued for the journal
/// on it, in one order, which is the order replay uses.
actor ProcessCell<P: JournaledProcess>: SupervisedChild {
    nonisolated let id: String
    nonisolated let journalPath: String
    /// Where the journal is kept.
    nonisolated let store: any JournalStore
    let process: P
    let options: ProcessOptions
    let messageCodec: AnyValueCodec<P.Message>
    let stateCodec: AnyValueCodec<P.State>?
    let logger: Logger
    let metrics: RuntimeMetrics
    let reporter: ChildReporter

    enum Phase {
        case notStarted
        case restarting
        case running
        case crashed(ProcessError)
        case stopped
        case abandoned(ProcessError)
    }

    private var phase: Phase = .notStarted
    private var state: P.State
    private var writer: (any OwnedJournal)?
    /// The sequence number of the last message applied (0 before any).
    private var lastSequence: UInt64 = 0
    private var messagesSinceSnapshot = 0
    private var bytesSinceSnapshot = 0
    private var messagesSinceDigest = 0
    /// Senders and readers waiting for the process to run.
    nonisolated let waiters = PhaseWaiters()
    /// Subscriptions to the acknowledged messages, and their consumers' wake-ups.
    nonisolated let subscriptions = Subscriptions<P>()
    nonisolated let subscriptionSignal = PhaseWaiters()
    /// The highest sequence number acknowledged (or rebuilt by the last replay).
    private var acknowledgedThrough: UInt64 = 0
    /// Messages applied and handed to the journal, not yet acknowledged, in sequence order.
    private var unacknowledged: [(sequence: UInt64, message: P.Message)] = []
    /// `unacknowledged.count`, without a generic call.
    private var keptMessages = 0
    /// Bumped by every restart and stop: a restart that finds it changed after an
    /// `await` gives way to the newer one.
    private var generation = 0
    /// Set when the journal was removed or replaced under its writer: no restart from the path.
    private var identityLost: ProcessError?
    /// A restart is between its first and last step.
    private var restartRunning = false
    /// Restarts waiting for the running one to finish.
    private let restartQueue = PhaseWaiters()
    /// A stop is closing the writer: a restart or another stop waits for it (the file stays
    /// locked until the close ends).
    private var closing = false
    private let closed = PhaseWaiters()

    /// Waits until no stop is closing the writer.
    private func waitForClose() async {
        while closing { await closed.waitIgnoringCancellation(closed.arm()) }
    }

    /// Waits until no restart runs. A stop bumps `generation` first, so a running restart gives
    /// way at its next step; a journal it opened meanwhile is in `writer` when this returns, for
    /// the stop to close. (A stop that looked at `writer` while a restart was opening the journal
    /// found none, and the journal the restart then opened stayed open and owned by a process
    /// that was stopped: a normal stop kept a transient journal, and a child started again with
    /// the same id was refused as `locked`.)
    private func waitForRestartToGiveWay() async {
        while restartRunning { await restartQueue.waitIgnoringCancellation(restartQueue.arm()) }
    }

    /// Closes `writer` as a stop does; restarts and other stops wait for it.
    private func close(_ writer: any OwnedJournal, discard: Bool) async throws {
        closing = true
        defer {
            closing = false
            closed.wakeAll()
        }
        if discard {
            try await writer.close(discard: true)
        } else {
            // Keeping the journal (a stop without grace, often on a cancelled task): return only
            // once the file is closed and its lock released.
            try await writer.closeIgnoringCancellation(discard: false)
        }
    }
    /// What the last replay did, for reports.
    private(set) var lastReplay: ReplayReport?

    init(
        id: String, store: any JournalStore, process: P, options: ProcessOptions,
        messageCodec: AnyValueCodec<P.Message>, stateCodec: AnyValueCodec<P.State>?,
        logger: Logger, metrics: RuntimeMetrics, reporter: ChildReporter
    ) {
        self.id = id
        self.store = store
        self.journalPath = store.location(of: id)
        self.process = process
        self.options = options
        self.messageCodec = messageCodec
        self.stateCodec = stateCodec
        self.logger = logger
        self.metrics = metrics
        self.reporter = reporter
        self.state = process.initialState
    }

    private nonisolated func error(
        _ code: ProcessError.Code, _ message: String, sequence: UInt64? = nil, cause: (any Error)? = nil
    ) -> ProcessError {
        ProcessError(
            code: code, message: message, processID: id, journal: journalPath, sequence: sequence, cause: cause)
    }

    // MARK: Sending

    /// Sends waiting for the next turn (see ``Mailbox``).
    nonisolated let mailbox = Mailbox<P>()
    /// Whether an acknowledgement waits for a write (`.written`, `.synced`), not only a submit.
    nonisolated var waitsForWrites: Bool {
        if case .buffered = options.durability { return false }
        return true
    }

    /// Validates, applies and journals `message`; `reply` runs on the state right after it was
    /// applied, in the same step (no other message in between). Returns once the message is
    /// acknowledged. A refusal (``JournaledProcess/validate(_:against:)`` threw) is thrown as
    /// is, with nothing applied or journaled, and the process goes on.
    ///
    /// While the process runs, the message goes through a turn, batched with the other sends
    /// waiting (``Mailbox``); otherwise, and when a crash in the turn left it unapplied, through
    /// ``sendDirect(_:timeout:reply:)``, which waits for the process to run again.
    nonisolated func send(
        _ message: P.Message, timeout: Duration?, reply: (@Sendable (P.State) -> any Sendable)?
    ) async throws -> (sequence: UInt64, reply: (any Sendable)?) {
        var outcome: TurnOutcome
        if let lastTurnHadCompany = mailbox.tryTakeTurn() {
            if lastTurnHadCompany, waitsForWrites {
                // The process has concurrent senders, and the acknowledgement of the last turn
                // resumed them together: let them queue before this turn takes its batch, or
                // this sender (the first to come back) takes a turn of its own message alone, which
                // the idle writer writes at once as a frame of one, and the rest follow in the
                // next frame. Measured: 16 senders of one process at `.written`, 3.7 messages per
                // frame without, 5.9 with; pipelined sends 1.2-1.5x faster (docs/PERFORMANCE.md).
                // Not at `.buffered`, acknowledged on submit: the yield would only cost a hop.
                await Task.yield()
            }
            outcome = await runTurn(own: message, reply: reply)
        } else {
            outcome = await mailbox.wait(message, reply: reply)
            if case .takeTurn = outcome {
                guard !Task.isCancelled else {
                    // Handed the turn once cancelled: it runs it for the sends queued behind it,
                    // without its own message, which is not applied.
                    _ = await runTurn(own: nil)
                    throw CancellationError()
                }
                outcome = await runTurn(own: message, reply: reply)
            }
        }
        switch outcome {
        case .acknowledged(let sequence, let reply): return (sequence, reply)
        case .failed(let error): throw error
        case .direct, .takeTurn:
            return try await sendDirect(message, timeout: timeout, reply: { state in reply?(state) })
        }
    }

    /// Runs a turn that starts with the caller's message; returns its outcome.
    private func runTurn(own message: P.Message, reply: (@Sendable (P.State) -> any Sendable)?) async
        -> TurnOutcome
    {
        await runTurn(own: Mailbox<P>.Entry(message: message, reply: reply, continuation: nil))
    }

    /// Applies `own` and the sends queued so far, in order, and hands them to the journal
    /// as one batch (more when a digest or snapshot comes between them), then hands the turn on;
    /// returns once what it submitted is acknowledged (or failed), with the outcome of `own`.
    private func runTurn(own: Mailbox<P>.Entry?) async -> TurnOutcome {
        var turn = Turn()
        let turnWriter = writer
        let batch = mailbox.takeQueued()
        if case .running = phase, let writer = turnWriter {
            turn.firstSequence = writer.nextSequence
            if let own { apply(own, in: &turn, writer: writer) }
            if let batch { for entry in batch { apply(entry, in: &turn, writer: writer) } }
            submit(&turn, to: writer)
        } else {
            if own != nil { turn.own = .direct }
            if let batch { for entry in batch { entry.answer(.direct) } }
        }
        mailbox.handOffOrEndTurn()
        // Acknowledged in order: what the last ticket covers acknowledges everything before.
        var ownOutcome = turn.own ?? .direct
        var index = 0
        while let ticket = turn.ticket(at: index) {
            index += 1
            let result: Result<ClosedRange<UInt64>, JournalError>
            do throws(JournalError) { result = .success(try await ticket.value()) } catch { result = .failure(error) }
            switch result {
            case .success(let range):
                if ticket === turn.ownTicket {
                    ownOutcome = .acknowledged(range.lowerBound + UInt64(turn.ownOffset), reply: turn.ownReply)
                }
                if case .running = phase, let writer, writer === turnWriter { acknowledge(through: range.upperBound) }
            case .failure(let cause):
                if ticket === turn.ownTicket {
                    ownOutcome = .failed(
                        error(
                            .journalFailed, "the journal failed; the message is not acknowledged",
                            sequence: turn.ownSequence, cause: cause))
                }
                if case .running = phase, let writer, writer === turnWriter {
                    crash(error(.journalFailed, "the journal failed; messages are not acknowledged", cause: cause))
                }
            }
        }
        return ownOutcome
    }

    private func answer(_ entry: Mailbox<P>.Entry, _ outcome: TurnOutcome, in turn: inout Turn) {
        if entry.continuation == nil { turn.own = outcome } else { entry.answer(outcome) }
    }

    /// Validates, applies and encodes one message of a turn, and adds it to the next submit.
    private func apply(_ entry: Mailbox<P>.Entry, in turn: inout Turn, writer: any OwnedJournal) {
        guard case .running = phase else {
            // An earlier message of this batch crashed the process: this one waits for the restart.
            answer(entry, .direct, in: &turn)
            return
        }
        let sequence = turn.firstSequence + UInt64(turn.bytes.count)
        do {
            try process.validate(entry.message, against: state)
        } catch let refusal {
            metrics.refused.increment()
            answer(entry, .failed(refusal), in: &turn)
            return
        }
        do {
            try process.apply(entry.message, to: &state)
        } catch let cause {
            metrics.rejected.increment()
            let failure = error(
                .rejected, "apply threw; the message was not journaled and the process crashed", sequence: sequence,
                cause: cause)
            crash(failure, answering: entry, in: &turn, writer: writer)
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try messageCodec.encode(entry.message)
        } catch let cause {
            let failure = error(
                .encodingFailed, "the message could not be encoded; the process crashed", sequence: sequence,
                cause: cause)
            crash(failure, answering: entry, in: &turn, writer: writer)
            return
        }
        if bytes.count > writer.largestMessage {
            // In a batch it would fail every message of the submit: it fails alone, as it would
            // have on its own (applied and not journaled: the process crashes).
            let failure = error(
                .journalFailed, "the journal failed; the message is not acknowledged", sequence: sequence,
                cause: JournalError(
                    code: .messageTooLarge,
                    message:
                        "a message of \(bytes.count) bytes exceeds the journal's limit of \(writer.largestMessage)",
                    path: writer.location))
            crash(failure, answering: entry, in: &turn, writer: writer)
            return
        }
        lastSequence = sequence
        // Kept for live subscribers only; one that subscribes later and misses this message
        // sees the gap and reads it from the journal.
        if !subscriptions.isEmpty {
            unacknowledged.append((sequence, entry.message))
            keptMessages += 1
        }
        turn.bytes.append(bytes)
        if let continuation = entry.continuation {
            turn.senders.append(
                TurnSender(continuation: continuation, reply: entry.reply?(state), offset: turn.bytes.count - 1))
        } else {
            turn.ownPending = (turn.bytes.count - 1, entry.reply?(state))
        }
        metrics.appends.increment()
        metrics.appendedBytes.increment(by: bytes.count)
        if dueAfterAppend(bytes: bytes.count) {
            // A digest or snapshot is queued right after its message.
            submit(&turn, to: writer)
            afterAppend(writer: writer)
        }
    }

    /// A message of the turn crashed the process (applied, not journaled): the messages applied
    /// before it were accepted and are journaled; its sender alone gets `failure`.
    private func crash(
        _ failure: ProcessError, answering entry: Mailbox<P>.Entry, in turn: inout Turn, writer: any OwnedJournal
    ) {
        submit(&turn, to: writer)
        crash(failure)
        answer(entry, .failed(failure), in: &turn)
    }

    /// Hands what the turn applied to the journal as one batch; its senders are answered from
    /// the journal's completion, on the store's thread, each with its own sequence number.
    private func submit(_ turn: inout Turn, to writer: any OwnedJournal) {
        guard !turn.bytes.isEmpty else { return }
        let ticket = writer.submit(contentsOf: turn.bytes)
        turn.add(ticket)
        if let own = turn.ownPending {
            turn.ownTicket = ticket
            turn.ownOffset = own.offset
            turn.ownSequence = turn.firstSequence + UInt64(own.offset)
            turn.ownReply = own.reply
            turn.ownPending = nil
        }
        if !turn.senders.isEmpty {
            let senders = turn.senders
            let first = turn.firstSequence
            let (id, journal) = (self.id, journalPath)
            ticket.whenComplete { result in
                switch result {
                case .success(let range):
                    for sender in senders {
                        sender.continuation.resume(
                            returning: .acknowledged(range.lowerBound + UInt64(sender.offset), reply: sender.reply))
                    }
                case .failure(let cause):
                    for sender in senders {
                        sender.continuation.resume(
                            returning: .failed(
                                ProcessError(
                                    code: .journalFailed,
                                    message: "the journal failed; the message is not acknowledged",
                                    processID: id, journal: journal, sequence: first + UInt64(sender.offset),
                                    cause: cause)))
                    }
                }
            }
        }
        turn.firstSequence += UInt64(turn.bytes.count)
        // The journal holds the submitted array now: keeping its capacity would copy it into a
        // new buffer at once, an allocation on every send whether or not the turn goes on.
        turn.bytes.removeAll()
        turn.senders.removeAll()
    }

    /// Tests: sends queue up instead of taking a turn, until ``runHeldTurn()``.
    nonisolated func holdTurns() async {
        while !mailbox.hold() { await Task.yield() }
    }

    /// Tests: how many sends wait for a turn.
    nonisolated var queuedSends: Int { mailbox.queued }

    /// Tests: runs one turn for every send queued since ``holdTurns()``.
    func runHeldTurn() async {
        mailbox.release()
        _ = await runTurn(own: nil)
    }

    /// Tests: runs one turn for `message`, as a sender that takes the turn does, and for every
    /// send queued since ``holdTurns()`` after it; returns the outcome of `message`.
    func runHeldTurn(
        own message: P.Message, reply: @escaping @Sendable (P.State) -> any Sendable
    ) async -> TurnOutcome {
        mailbox.release()
        return await runTurn(own: message, reply: reply)
    }

    /// Applies and journals `message` on the actor, one message at a time: for a process that is
    /// not running (it waits, cancellably, up to `timeout`, while the process restarts). From
    /// the moment it applies the message and hands it to the writer, the outcome is the
    /// journal's: acknowledged or a journal error, never abandoned half-way.
    func sendDirect<R: Sendable>(
        _ message: P.Message, timeout: Duration?, reply: @Sendable (P.State) -> R
    ) async throws -> (sequence: UInt64, reply: R) {
        try await waitUntilRunning(timeout: timeout)
        guard let writer else { throw error(.stopped, "the process has no journal") }
        let sequence = writer.nextSequence
        do {
            try process.validate(message, against: state)
        } catch let refusal {
            metrics.refused.increment()
            throw refusal
        }
        do {
            try process.apply(message, to: &state)
        } catch let cause {
            metrics.rejected.increment()
            let failure = error(
                .rejected, "apply threw; the message was not journaled and the process crashed", sequence: sequence,
                cause: cause)
            crash(failure)
            throw failure
        }
        let bytes: [UInt8]
        do {
            bytes = try messageCodec.encode(message)
        } catch let cause {
            let failure = error(
                .encodingFailed, "the message could not be encoded; the process crashed", sequence: sequence,
                cause: cause)
            crash(failure)
            throw failure
        }
        // Queued now, on this actor: the journal's order is the order of apply.
        let ticket = writer.submit(contentsOf: [bytes])
        lastSequence = sequence
        if !subscriptions.isEmpty {
            unacknowledged.append((sequence, message))
            keptMessages += 1
        }
        let answer = reply(state)
        metrics.appends.increment()
        metrics.appendedBytes.increment(by: bytes.count)
        if dueAfterAppend(bytes: bytes.count) { afterAppend(writer: writer) }
        do {
            let range = try await ticket.value()
            if case .running = phase, writer === self.writer { acknowledge(through: range.lowerBound) }
            return (range.lowerBound, answer)
        } catch let cause {
            let failure = error(
                .journalFailed, "the journal failed; the message is not acknowledged", sequence: sequence, cause: cause)
            if case .running = phase, writer === self.writer { crash(failure) }
            throw failure
        }
    }

    /// Decodes and applies the messages of one replayed chunk to `state`, in order, until one
    /// fails (it is returned with its error; the state holds every message before it). One call
    /// per chunk: the loop touches no actor property and copies no generic value, which in this
    /// unspecialized code would look types up and check exclusive access on every message.
    private static func applyReplayed(
        _ messages: [JournalMessage], process: P, decode: (UnsafeRawBufferPointer) throws -> P.Message,
        to state: inout P.State, offeringTo subscriptions: Subscriptions<P>?
    ) -> (count: Int, bytes: Int, failure: (sequence: UInt64, cause: any Error)?) {
        var count = 0
        var bytes = 0
        for message in messages {
            do {
                let decoded = try message.withUnsafeBytes(decode)
                try process.apply(decoded, to: &state)
                subscriptions?.offer(.message(sequence: message.sequence, decoded))
            } catch {
                return (count, bytes + message.count, (message.sequence, error))
            }
            count += 1
            bytes += message.count
        }
        return (count, bytes, nil)
    }

    /// Everything through `sequence` is acknowledged (a journal acknowledges in order): hands
    /// those messages to the subscriptions.
    private func acknowledge(through sequence: UInt64) {
        guard sequence > acknowledgedThrough else { return }
        acknowledgedThrough = sequence
        let offering = !subscriptions.isEmpty
        // Messages are kept only while there are subscribers: without any, nothing to do (and no
        // generic array work, which costs metadata lookups in this unspecialized code).
        guard offering || keptMessages > 0 else { return }
        var count = 0
        while count < unacknowledged.count, unacknowledged[count].sequence <= sequence {
            if offering {
                subscriptions.offer(.message(sequence: unacknowledged[count].sequence, unacknowledged[count].message))
            }
            count += 1
        }
        unacknowledged.removeFirst(count)
        keptMessages -= count
        guard offering else { return }
        // A subscriber that went live after a message was applied (so the message was not kept
        // for it) and before it was acknowledged has not got it: it reads it from the journal.
        subscriptions.catchUpBehind(sequence)
        subscriptionSignal.wakeAll()
    }

    enum SubscriptionStep: Sendable {
        case elements([JournaledEvent<P>])
        case end
        case wait(Int)
        case catchUp(next: UInt64, target: UInt64)
    }

    /// What subscription `id` does next: take a buffered element, read the journal, or wait.
    func subscriptionStep(_ id: Int) async throws -> SubscriptionStep {
        let acknowledged = acknowledgedThrough
        let step = subscriptions.withSubscriber(id) { subscriber -> Result<SubscriptionStep, ProcessError>? in
            let buffered = subscriber.drain()
            if !buffered.isEmpty { return .success(.elements(buffered)) }
            if let ending = subscriber.ending { return ending.map { .failure($0) } ?? .success(.end) }
            guard subscriber.catchingUp else { return nil }
            if subscriber.next > acknowledged {
                // Caught up: live messages from here on (they are offered on this actor).
                subscriber.catchingUp = false
                return nil
            }
            return .success(.catchUp(next: subscriber.next, target: acknowledged))
        }
        switch step {
        case nil?:
            return .wait(subscriptionSignal.arm())
        case .success(let step)??:
            if case .catchUp = step, options.durability != .written, options.durability != .synced, let writer {
                // Acknowledged in memory only: make it readable in the file first.
                try await writer.flush()
            }
            return step
        case .failure(let error)??:
            throw error
        case nil:
            return .end
        }
    }

    /// A subscription read `elements` from the journal, from `next` on.
    func caughtUp(_ id: Int, from: UInt64, elements: [JournaledEvent<P>], next: UInt64) {
        subscriptions.withSubscriber(id) { subscriber in
            guard subscriber.catchingUp, subscriber.next == from else { return }
            for element in elements { subscriber.push(element) }
            subscriber.next = max(subscriber.next, next)
        }
    }

    /// Counts an appended message; true when a digest or a snapshot is due after it.
    private func dueAfterAppend(bytes: Int) -> Bool {
        messagesSinceSnapshot += 1
        bytesSinceSnapshot += bytes
        var due = false
        if let interval = options.determinismCheckInterval, stateCodec != nil {
            messagesSinceDigest += 1
            due = messagesSinceDigest >= interval
        }
        let policy = options.snapshots
        if stateCodec != nil,
            (policy.everyMessages.map { messagesSinceSnapshot >= $0 } ?? false)
                || (policy.everyBytes.map { bytesSinceSnapshot >= $0 } ?? false)
        {
            due = true
        }
        return due
    }

    /// Queues the digest and the snapshot that are due, right after the message they follow
    /// (already submitted).
    private func afterAppend(writer: any OwnedJournal) {
        if let interval = options.determinismCheckInterval, let stateCodec, messagesSinceDigest >= interval {
            messagesSinceDigest = 0
            if let encoded = try? stateCodec.encode(state) {
                let value = encoded.withUnsafeBytes { StateDigest.digest(of: $0) }
                writer.recordStateDigest(StateDigest(sequence: lastSequence, value: value))
            }
        }
        let policy = options.snapshots
        if stateCodec != nil,
            (policy.everyMessages.map { messagesSinceSnapshot >= $0 } ?? false)
                || (policy.everyBytes.map { bytesSinceSnapshot >= $0 } ?? false)
        {
            startSnapshot(writer: writer)
        }
    }

    private func startSnapshot(writer: any OwnedJournal) {
        guard let stateCodec, lastSequence > 0 else { return }
        messagesSinceSnapshot = 0
        bytesSinceSnapshot = 0
        let encoded: [UInt8]
        do { encoded = try stateCodec.encode(state) } catch {
            logger.error(
                "snapshot: the state could not be encoded", metadata: ["process": "\(id)", "error": "\(error)"])
            return
        }
        let sequence = lastSequence
        let logger = self.logger
        let metrics = self.metrics
        let id = self.id
        // Queued behind the appends before it, on the writer's own thread; nothing waits for it.
        writer.requestSnapshot(encoded, through: sequence) { result in
            switch result {
            case .success: metrics.snapshots.increment()
            case .failure(let error):
                logger.warning(
                    "snapshot not taken",
                    metadata: ["process": "\(id)", "sequence": "\(sequence)", "error": "\(error)"])
            }
        }
    }

    /// Takes a snapshot of the current state now (needs a state codec).
    func snapshot() async throws {
        try await waitUntilRunning(timeout: options.timeout)
        guard let writer else { throw error(.stopped, "the process has no journal") }
        guard let stateCodec else { throw error(.encodingFailed, "no state codec: make State Codable or pass a codec") }
        guard lastSequence > 0 else { return }
        let encoded = try stateCodec.encode(state)
        messagesSinceSnapshot = 0
        bytesSinceSnapshot = 0
        try await writer.writeSnapshot(encoded, through: lastSequence)
        metrics.snapshots.increment()
    }

    func read<R: Sendable>(_ body: @Sendable (P.State) throws -> R, timeout: Duration?) async throws -> R {
        try await waitUntilRunning(timeout: timeout)
        return try body(state)
    }

    /// Returns when the process runs, on this actor, with nothing in between: the caller's next
    /// synchronous steps see a running process. Every wake-up looks at the phase again (a woken
    /// sender may find the process crashed again by the one woken before it).
    private func waitUntilRunning(timeout: Duration?) async throws {
        // Read the clock only once the process turns out not to be running (not on every send).
        var deadline: ContinuousClock.Instant?
        var waited = false
        while true {
            switch phase {
            case .running: return
            case .notStarted, .restarting, .crashed: break
            case .stopped: throw error(.stopped, "the process was stopped")
            case .abandoned(let reason):
                throw error(
                    .notRestarted, "the process crashed and was not restarted", sequence: reason.sequence, cause: reason
                )
            }
            try Task.checkCancellation()
            let slot = waiters.arm()
            if !waited {
                waited = true
                deadline = (timeout ?? options.timeout).map { ContinuousClock.now + $0 }
            }
            guard let deadline else {
                try await waiters.wait(slot)
                continue
            }
            let waiters = self.waiters
            let timedOut = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await waiters.wait(slot)
                    return false
                }
                group.addTask {
                    try await Task.sleep(until: deadline)
                    return true
                }
                defer { group.cancelAll() }
                return try await group.next() ?? false
            }
            if timedOut {
                throw error(
                    .timedOut,
                    "the process did not run within the timeout (it is restarting); the message was not applied")
            }
        }
    }

    /// A crash for tests: the state is discarded and the supervisor restarts the process from its journal.
    func simulateCrash() {
        crash(error(.rejected, "simulated crash (test kit)", sequence: lastSequence))
    }

    /// A crash and a restart on the caller's task, without the supervisor (test kit):
    /// throws what the restart throws, such as a replay error, instead of retrying.
    func crashAndRestartInPlace() async throws {
        guard case .running = phase else { throw error(.stopped, "the process is not running") }
        phase = .crashed(error(.rejected, "crash and restart in place (test kit)", sequence: lastSequence))
        state = process.initialState
        _ = try await restart()
    }

    /// The process crashed: its state is discarded and the supervisor told.
    private func crash(_ failure: ProcessError) {
        guard case .running = phase else { return }
        phase = .crashed(failure)
        unacknowledged.removeAll()
        keptMessages = 0
        state = process.initialState
        logger.warning("process crashed", metadata: ["process": "\(id)", "error": "\(failure)"])
        reporter.crashed(id, failure)
    }

    // MARK: Lifecycle

    func restart() async throws -> Bool {
        // One restart at a time: a newer one tells the running one to give way, and waits for it.
        generation += 1
        let mine = generation
        while restartRunning {
            await restartQueue.waitIgnoringCancellation(restartQueue.arm())
        }
        guard generation == mine else { return false }
        restartRunning = true
        defer {
            restartRunning = false
            restartQueue.wakeAll()
        }
        await waitForClose()
        guard generation == mine else { return false }
        phase = .restarting  // also for a stopped permanent child, which a supervisor starts anew
        state = process.initialState
        lastSequence = 0
        do {
            try await prepareWriter()
            guard generation == mine else { return false }
            guard try await replay(generation: mine) else { return false }
            // What the replay rebuilt is the acknowledged history from now on.
            acknowledgedThrough = lastSequence
            unacknowledged.removeAll()
            keptMessages = 0
            phase = .running
            subscriptions.open()
            subscriptionSignal.wakeAll()
            waiters.wakeAll()
            return true
        } catch let failure as ProcessError {
            guard generation == mine else { return false }
            phase = .crashed(failure)
            throw failure
        } catch let cause {
            guard generation == mine else { return false }
            let failure = error(.journalFailed, "the journal could not be opened or read", cause: cause)
            phase = .crashed(failure)
            throw failure
        }
    }

    /// Keeps the companion writer when it is healthy (flushing what it has
    /// queued, so the replay sees every message), or opens the journal anew (a store never
    /// appends behind a failed sync: the file store goes on in a new file).
    private func prepareWriter() async throws {
        if let identityLost { throw identityLost }
        if let writer {
            do {
                // Also checks that the path still names the writer's file: replay reads the path.
                try await writer.flush()
                return
            } catch {
                let code = (error.cause as? JournalError)?.code ?? error.code
                if code == .fenced || error.code == .fenced {
                    // Another owner took the journal over (a newer epoch in a shared store): this
                    // process stops here rather than restart beside it into a split brain.
                    identityLost = self.error(
                        .journalFailed, "the journal was taken over by another owner; this process stops",
                        cause: error)
                    self.writer = nil
                    throw identityLost!
                }
                if error.code == .replaced || code == .replaced {
                    // The journal this process acknowledged into is gone from its path, or another
                    // file sits there: restarting from whatever the path names now would be a
                    // silent wrong or empty state. Every restart fails with this until an operator acts.
                    let lost = self.error(
                        .journalFailed,
                        "the journal file was removed or replaced under its writer; not restarted from what the path holds now",
                        cause: error)
                    identityLost = lost
                    self.writer = nil
                    throw lost
                }
                logger.notice(
                    "the journal writer failed; reopening the journal",
                    metadata: ["process": "\(id)", "error": "\(error)"])
                self.writer = nil
            }
        }
        var journal = options.journal
        journal.durability = options.durability
        journal.compactMessages = journal.compactMessages || messageCodec.isCompactEncoding
        writer = try await store.open(id, options: journal, logger: logger)
    }

    /// Rebuilds the state; false when a newer restart or a stop took over meanwhile.
    private func replay(generation mine: Int) async throws -> Bool {
        guard let writer else { return true }
        let clock = ContinuousClock()
        let start = clock.now
        var report = ReplayReport()
        var firstMessageAt: Duration?
        var replayedBytes = 0
        let decode = messageCodec.decoder
        // A store whose cursor does not read ahead by itself is read one element ahead while
        // the process applies the element before (`JournalReplay.deliver`).
        var superseded = false
        try await writer.replay().deliver { element in
            guard generation == mine else {
                superseded = true
                return false
            }
            switch element {
            case .snapshot(let snapshot):
                guard let stateCodec else {
                    throw error(
                        .replayFailed, "the journal has a snapshot but no state codec was given",
                        sequence: snapshot.sequence)
                }
                do {
                    state = try snapshot.bytes.withUnsafeBytes { try stateCodec.decode($0) }
                } catch let cause {
                    throw error(
                        .replayFailed, "the snapshot does not decode", sequence: snapshot.sequence, cause: cause)
                }
                lastSequence = snapshot.sequence
                report.snapshotSequence = snapshot.sequence
                if !subscriptions.isEmpty {
                    subscriptions.offer(.snapshot(sequence: snapshot.sequence, state), first: 0)
                }
                report.messages = 0
                replayedBytes = 0
            case .messages(let messages):
                if firstMessageAt == nil { firstMessageAt = clock.now - start }
                // Looked at once per chunk: a subscriber that comes meanwhile reads the gap
                // from the journal.
                let applied = Self.applyReplayed(
                    messages, process: process, decode: decode, to: &state,
                    offeringTo: subscriptions.isEmpty ? nil : subscriptions)
                replayedBytes += applied.bytes
                report.messages += applied.count
                if applied.count > 0 { lastSequence = messages[applied.count - 1].sequence }
                if let failure = applied.failure {
                    try await replayFailed(at: failure.sequence, cause: failure.cause, writer: writer)
                    guard generation == mine else {
                        superseded = true
                        return false
                    }
                    report.quarantinedFrom = failure.sequence
                }
            case .stateDigest(let digest):
                guard let stateCodec, digest.sequence == lastSequence else { return true }
                guard digest.isCanonical else {
                    // Written over the first compact encoding, which was not canonical: not comparable.
                    report.digestsSkipped += 1
                    return true
                }
                let encoded = try stateCodec.encode(state)
                let value = encoded.withUnsafeBytes { StateDigest.digest(of: $0) }
                if value != digest.value {
                    throw error(
                        .nondeterministic,
                        "the replayed state after this message differs from the state recorded live: apply is not deterministic",
                        sequence: digest.sequence)
                }
                report.digestsChecked += 1
            }
            return report.quarantinedFrom == nil
        }
        if superseded { return false }
        report.duration = clock.now - start
        report.timeToFirstMessage = firstMessageAt
        lastReplay = report
        // The snapshot policy counts from the journal: what a next replay would read.
        messagesSinceSnapshot = report.messages
        bytesSinceSnapshot = replayedBytes
        metrics.replayedMessages.increment(by: report.messages)
        let (seconds, attoseconds) = report.duration.components
        metrics.replayDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if report.messages > 0 || report.snapshotSequence != nil {
            logger.info(
                "process state replayed",
                metadata: [
                    "process": "\(id)", "messages": "\(report.messages)",
                    "snapshot": "\(report.snapshotSequence.map(String.init) ?? "none")",
                    "duration": "\(report.duration)",
                ])
        }
        return true
    }

    private func replayFailed(at sequence: UInt64, cause: any Error, writer: any OwnedJournal) async throws {
        switch options.replayFailure {
        case .fail:
            throw error(.replayFailed, "replaying the journal threw", sequence: sequence, cause: cause)
        case .quarantine:
            let file = try await writer.quarantine(from: sequence)
            logger.error(
                "replay threw; the rest of the journal was quarantined",
                metadata: [
                    "process": "\(id)", "sequence": "\(sequence)", "quarantine": "\(file)", "error": "\(cause)",
                ])
            quarantineFiles.append(file)
        }
    }

    /// Quarantine files written by replays of this process.
    private(set) var quarantineFiles: [String] = []

    func stopNormally() async throws {
        switch phase {
        case .stopped, .abandoned:
            // Stopped already; if that stop is still closing the journal, it ends first.
            await waitForClose()
            return
        default: break
        }
        phase = .stopped
        generation += 1
        waiters.wakeAll()
        subscriptions.endAll(nil)
        subscriptionSignal.wakeAll()
        await waitForRestartToGiveWay()
        guard let writer else { return }
        self.writer = nil
        try await close(writer, discard: options.retention == .transient)
    }

    /// The user asked the process to stop.
    func stopByUser() async throws {
        try await stopNormally()
        reporter.stopped(id)
    }

    func stopKeepingJournal(reason: ProcessError) async {
        phase = .abandoned(reason)
        generation += 1
        waiters.wakeAll()
        subscriptions.endAll(reason)
        subscriptionSignal.wakeAll()
        await waitForRestartToGiveWay()
        guard let writer else {
            await waitForClose()
            return
        }
        self.writer = nil
        try? await close(writer, discard: false)
    }

    func abandon(reason: ProcessError) async {
        await stopKeepingJournal(reason: reason)
    }

    func abandonWithoutWaiting(reason: ProcessError) {
        switch phase {
        case .stopped, .abandoned: break
        default: phase = .abandoned(reason)
        }
        generation += 1
        waiters.wakeAll()
        subscriptions.endAll(reason)
        subscriptionSignal.wakeAll()
    }

    var isRunning: Bool {
        if case .running = phase { return true }
        return false
    }

    var writerIsFileOpen: Bool { (writer as? JournalWriter)?.isFileOpen ?? false }
}
