import Foundation
public import Logging
public import ServiceLifecycle
import StateJournalSystem

/// Starts journaled processes, restarts them when they crash — rebuilding
/// their state from their journals — and stops them in order.
///
/// It is a swift-service-lifecycle `Service`: run it in a `ServiceGroup`, or
/// around a piece of code with ``run(_:)``. Supervision happens inside
/// `run()`: it consumes the children's crash and stop notices in a task group,
/// one restart per notice, and nothing of it outlives `run()`. Children can be
/// started before `run()` begins, but a crashed child is restarted only while
/// `run()` runs. Graceful shutdown stops every child normally (transient
/// journals are discarded); cancellation without graceful shutdown is treated
/// as a crash (every journal is kept and replays on the next start).
public actor Supervisor: Service {
    /// Where the children's journals are kept.
    public nonisolated let store: any JournalStore
    /// The supervisor's name, in logs, metrics and errors.
    public nonisolated let name: String
    /// Which children restart when one crashes.
    public nonisolated let strategy: SupervisionStrategy
    /// How many restarts the supervisor allows before it gives up or escalates.
    public nonisolated let intensity: RestartIntensity
    /// The delay before a restart; nil restarts at once.
    public nonisolated let backoff: Backoff?
    /// What the supervisor does, as it happens.
    public nonisolated let events: AsyncStream<SupervisorEvent>

    private let eventContinuation: AsyncStream<SupervisorEvent>.Continuation
    /// What the children tell their supervisor; consumed by `run()`.
    private enum Notice: Sendable {
        case crashed(String, ProcessError)
        case stopped(String)
    }
    private let notices: AsyncStream<Notice>
    private let noticeContinuation: AsyncStream<Notice>.Continuation
    private var runBegan = false
    private var stoppedWithoutGrace = false
    private let logger: Logger
    private let metrics: RuntimeMetrics

    private struct Entry {
        var child: any SupervisedChild
        var restart: RestartType
        var shutdownTimeout: Duration
        var dynamic: Bool
        var startOrder: Int
        var restartTimes: [ContinuousClock.Instant] = []
        /// Recreates the child's cell (for a permanent child after a normal stop).
        var start: @Sendable () async throws -> Void
    }

    private enum Phase {
        case running
        case shuttingDown
        case stopped
        case failed(SupervisorError)
    }

    private var entries: [String: Entry] = [:]
    /// Children given up (or whose start failed) whose journals are still closing, by id: a
    /// start of the same id waits for them (the journal would still be owned by the old writer).
    private var retiring: [String: PhaseWaiters] = [:]
    private var startCounter = 0
    /// What a graceful shutdown does with unclaimed journals.
    public nonisolated let unclaimedJournalPolicy: UnclaimedJournals
    private var phase = Phase.running
    /// Jitter for backoff delays. A seeded generator with state: ThreadSanitizer builds crash on
    /// an `inout` of the zero-sized `SystemRandomNumberGenerator` passed across modules.
    private var random = SplitMix(seed: UInt64.random(in: .min ... .max))
    private let clock = ContinuousClock()

    /// A supervisor whose children's journals are files in `directory` (a ``FileJournalStore``).
    public init(
        directory: String, name: String = "statejournal", strategy: SupervisionStrategy = .oneForOne,
        intensity: RestartIntensity = .default, backoff: Backoff? = .default,
        unclaimedJournals: UnclaimedJournals = .keep, logger: Logger
    ) {
        self.init(
            store: FileJournalStore(directory: directory), name: name, strategy: strategy, intensity: intensity,
            backoff: backoff, unclaimedJournals: unclaimedJournals, logger: logger)
    }

    /// A supervisor whose children's journals are kept in `store`, by child id.
    public init(
        store: some JournalStore, name: String = "statejournal", strategy: SupervisionStrategy = .oneForOne,
        intensity: RestartIntensity = .default, backoff: Backoff? = .default,
        unclaimedJournals: UnclaimedJournals = .keep, logger: Logger
    ) {
        self.store = store
        self.unclaimedJournalPolicy = unclaimedJournals
        self.name = name
        self.strategy = strategy
        self.intensity = intensity
        self.backoff = backoff
        self.logger = logger
        self.metrics = RuntimeMetrics(supervisor: name)
        (events, eventContinuation) = AsyncStream.makeStream(
            of: SupervisorEvent.self, bufferingPolicy: .bufferingNewest(4096))
        (notices, noticeContinuation) = AsyncStream.makeStream(of: Notice.self)
    }

    private func emit(_ event: SupervisorEvent) { eventContinuation.yield(event) }

    private func requireRunning() throws {
        guard case .running = phase else {
            throw SupervisorError(code: .notRunning, message: "the supervisor \(name) is not running")
        }
    }

    // MARK: Children

    /// Starts a child (static: part of the strategy, stopped in reverse start
    /// order). A journal left by a crash is replayed before this returns:
    /// the child accepts messages only once its state is rebuilt.
    public func start<P: JournaledProcess>(_ spec: ChildSpec<P>) async throws -> ProcessHandle<P> {
        try await startChild(spec, dynamic: false)
    }

    /// The dynamic child `id`, started on demand with `makeSpec(id)` (one
    /// process per chat room, session or user). Found again by id while it
    /// runs; its journal file is named safely from any id. A child of this id
    /// that was given up is started anew, once its journal is closed: this
    /// waits for the close (cancellably).
    public func child<P: JournaledProcess>(id: String, orStart makeSpec: (String) -> ChildSpec<P>) async throws
        -> ProcessHandle<P>
    {
        try await waitForRetirement(of: id)
        if let existing = entries[id] {
            guard let cell = existing.child as? ProcessCell<P> else {
                throw SupervisorError(code: .wrongType, message: "child \(id) runs another process type", childID: id)
            }
            return ProcessHandle(cell: cell)
        }
        var spec = makeSpec(id)
        spec.id = id
        return try await startChild(spec, dynamic: true)
    }

    /// Starts, as dynamic children, the processes whose journals are in the
    /// directory and claimed by no running child — after the OS process crashed
    /// or was killed, every cart or room comes back with its state, without
    /// listing the directory by hand. `makeSpec(id)` gives each one's spec (its
    /// id is the one its journal's name spells). Up to `concurrency` replays
    /// run at once. A journal that cannot be started is skipped and reported;
    /// the others still start.
    ///
    /// To recover lazily instead, call nothing: ``child(id:orStart:)`` replays
    /// a child's journal before it returns, the first time the id is asked for.
    /// Journals never claimed stay on disk unless the supervisor was made with
    /// ``UnclaimedJournals/discardOnGracefulShutdown``.
    public func recoverChildren<P: JournaledProcess>(
        concurrency: Int = 4, _ makeSpec: (String) -> ChildSpec<P>
    ) async throws -> ChildRecovery {
        try requireRunning()
        var recovery = ChildRecovery()
        var specs: [ChildSpec<P>] = []
        for journal in await unclaimed() {
            guard let id = journal.name else {
                recovery.skipped.append(
                    .init(
                        path: journal.location,
                        reason:
                            "the journal's name does not spell an id (a long id is hashed); start it with child(id:orStart:)"
                    ))
                continue
            }
            var spec = makeSpec(id)
            spec.id = id
            specs.append(spec)
        }
        var next = specs.makeIterator()
        try await withThrowingTaskGroup(of: (String, String?).self) { group in
            func startNext() -> Bool {
                guard let spec = next.next() else { return false }
                group.addTask {
                    do {
                        _ = try await self.startChild(spec, dynamic: true)
                        return (spec.id, nil)
                    } catch {
                        return (spec.id, "\(error)")
                    }
                }
                return true
            }
            for _ in 0..<max(1, concurrency) where startNext() {}
            while let (id, failure) = try await group.next() {
                if let failure {
                    recovery.skipped.append(.init(path: store.location(of: id), reason: failure))
                } else {
                    recovery.started.append(id)
                }
                _ = startNext()
            }
        }
        recovery.started.sort()
        return recovery
    }

    /// The running child `id`, if it runs a `P`.
    public func handle<P: JournaledProcess>(for id: String, as type: P.Type = P.self) -> ProcessHandle<P>? {
        (entries[id]?.child as? ProcessCell<P>).map(ProcessHandle.init)
    }

    /// The ids of the running children, in start order.
    public var childIDs: [String] {
        entries.sorted { $0.value.startOrder < $1.value.startOrder }.map(\.key)
    }

    private func makeCell<P: JournaledProcess>(_ spec: ChildSpec<P>) throws -> ProcessCell<P> {
        let codecs = try spec.versionedCodecs()
        let notices = noticeContinuation
        let reporter = ChildReporter(
            crashed: { id, error in notices.yield(.crashed(id, error)) },
            stopped: { id in notices.yield(.stopped(id)) })
        return ProcessCell(
            id: spec.id, store: store,
            process: spec.process, options: spec.options,
            messageCodec: codecs.message, stateCodec: codecs.state,
            logger: logger, metrics: metrics, reporter: reporter)
    }

    private func startChild<P: JournaledProcess>(_ spec: ChildSpec<P>, dynamic: Bool) async throws -> ProcessHandle<P> {
        try requireRunning()
        try await waitForRetirement(of: spec.id)
        try requireRunning()
        guard entries[spec.id] == nil else {
            throw SupervisorError(
                code: .duplicateID, message: "a child with id \(spec.id) exists already", childID: spec.id)
        }
        let cell: ProcessCell<P>
        do { cell = try makeCell(spec) } catch {
            throw SupervisorError(
                code: .startFailed, message: "child \(spec.id) could not be started", childID: spec.id, cause: error)
        }
        startCounter += 1
        let entry = Entry(
            child: cell, restart: spec.restart, shutdownTimeout: spec.shutdownTimeout, dynamic: dynamic,
            startOrder: startCounter, start: { _ = try await cell.restart() })
        entries[spec.id] = entry
        do {
            _ = try await cell.restart()
        } catch {
            // Senders that found the starting child (a concurrent `child(id:)`) are answered.
            let reason = ProcessError(
                code: .notRestarted, message: "the child could not be started", processID: spec.id, cause: error)
            await retire(spec.id, cell, reason: reason)
            throw SupervisorError(
                code: .startFailed, message: "child \(spec.id) could not be started", childID: spec.id, cause: error)
        }
        let report = await cell.lastReplay
        emit(.started(id: spec.id, replayed: report))
        return ProcessHandle(cell: cell)
    }

    // MARK: Crashes and restarts

    /// Forgets child `id` and abandons it (its senders are told `reason`, its journal is kept);
    /// until its journal is closed, a start of the same id waits. (Started at once, the new
    /// child found the journal still owned by the old one's writer and was refused as `locked`.)
    private func retire(_ id: String, _ child: any SupervisedChild, reason: ProcessError) async {
        if entries[id]?.child === child { entries[id] = nil }
        // A child of this id starts only after the last retirement: one at a time per id.
        let waiters = PhaseWaiters()
        retiring[id] = waiters
        await child.abandon(reason: reason)
        if retiring[id] === waiters { retiring[id] = nil }
        waiters.wakeAll()
    }

    /// Waits, cancellably, until no child with this id is being retired.
    private func waitForRetirement(of id: String) async throws {
        while let waiters = retiring[id] { try await waiters.wait(waiters.arm()) }
    }

    private func childCrashed(_ id: String, _ error: ProcessError) async {
        guard case .running = phase, var entry = entries[id] else { return }
        metrics.restarts.increment()
        emit(.crashed(id: id, error: error))
        if entry.restart == .temporary {
            await retire(id, entry.child, reason: error)
            logger.notice("temporary child crashed; not restarted, its journal is kept", metadata: ["child": "\(id)"])
            return
        }
        // Intensity is counted per child: one child's crashes never use up its siblings' restarts.
        let now = clock.now
        entry.restartTimes = entry.restartTimes.filter { now - $0 < intensity.period } + [now]
        entries[id] = entry
        if entry.restartTimes.count > intensity.maxRestarts {
            let exceeded = SupervisorError(
                code: .intensityExceeded,
                message:
                    "child \(id) crashed \(entry.restartTimes.count) time(s) within \(intensity.period), more than the \(intensity.maxRestarts) restart(s) allowed",
                childID: id, crashes: entry.restartTimes.count, sequence: error.sequence, cause: error)
            if strategy == .oneForOne || entry.dynamic {
                // Independent children: give up on this one alone; its journal is kept for the next start.
                logger.error(
                    "child restarted too often; given up, its journal is kept",
                    metadata: ["child": "\(id)", "error": "\(exceeded)"])
                await retire(
                    id, entry.child,
                    reason: ProcessError(
                        code: .notRestarted, message: "restarted too often; given up", processID: id, cause: exceeded))
                emit(.gaveUp(exceeded))
                return
            }
            await escalate(exceeded)
            return
        }
        let attempt = entry.restartTimes.count
        let delay = backoff?.delay(attempt: attempt, using: &random) ?? .zero
        emit(.restarting(id: id, attempt: attempt, delay: delay))
        if delay > .zero { try? await Task.sleep(for: delay) }
        // `run()` ending (shutdown, cancellation) cancels the restarts it has not begun.
        guard case .running = phase, !Task.isCancelled else { return }
        for target in restartTargets(for: id) {
            guard case .running = phase else { return }
            do {
                if try await target.child.restart() { emit(.restarted(id: target.child.id)) }
            } catch let failure as ProcessError {
                logger.error("restart failed", metadata: ["child": "\(target.child.id)", "error": "\(failure)"])
                await childCrashed(target.child.id, failure)
                return
            } catch {
                await childCrashed(
                    target.child.id,
                    ProcessError(
                        code: .journalFailed, message: "restart failed", processID: target.child.id, cause: error))
                return
            }
        }
    }

    /// The children to restart, in start order, per the strategy (dynamic
    /// children always restart alone).
    private func restartTargets(for id: String) -> [Entry] {
        guard let crashed = entries[id] else { return [] }
        if crashed.dynamic || strategy == .oneForOne { return [crashed] }
        let statics = entries.values.filter { !$0.dynamic }.sorted { $0.startOrder < $1.startOrder }
        switch strategy {
        case .oneForAll: return statics
        case .restForOne: return statics.filter { $0.startOrder >= crashed.startOrder }
        case .oneForOne: return [crashed]
        }
    }

    private func childStopped(_ id: String) async {
        guard let entry = entries[id] else { return }
        emit(.stopped(id: id))
        guard case .running = phase else { return }
        if entry.restart == .permanent {
            do {
                try await entry.start()
                emit(.restarted(id: id))
            } catch {
                // A start that fails is a crash: restarted with backoff, within the intensity.
                logger.error(
                    "permanent child could not be started again", metadata: ["child": "\(id)", "error": "\(error)"])
                let failure =
                    error as? ProcessError
                    ?? ProcessError(
                        code: .journalFailed, message: "the child could not be started again", processID: id,
                        cause: error)
                await childCrashed(id, failure)
            }
        } else {
            entries[id] = nil
        }
    }

    private func escalate(_ error: SupervisorError) async {
        guard case .running = phase else { return }
        phase = .failed(error)
        logger.critical("supervisor gives up", metadata: ["supervisor": "\(name)", "error": "\(error)"])
        let reason = ProcessError(
            code: .notRestarted, message: "the supervisor gave up", processID: error.childID ?? "", cause: error)
        for entry in entries.values.sorted(by: { $0.startOrder > $1.startOrder }) {
            await entry.child.stopKeepingJournal(reason: reason)
        }
        entries.removeAll()
        emit(.escalated(error))
        finish()
    }

    /// Ends the event stream, and `run()`'s loop.
    private func finish() {
        eventContinuation.finish()
        noticeContinuation.finish()
    }

    // MARK: Shutdown

    /// A normal stop of every child, in reverse start order, each within its
    /// timeout (a child that does not stop in time is stopped keeping its journal).
    public func shutdown() async {
        guard case .running = phase else { return }
        phase = .shuttingDown
        for (id, entry) in entries.sorted(by: { $0.value.startOrder > $1.value.startOrder }) {
            let child = entry.child
            let timeout = entry.shutdownTimeout
            let stoppedInTime = await withTaskGroup(of: Bool.self) { group in
                group.addTask { (try? await child.stopNormally()) != nil }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !stoppedInTime {
                // Stopped without grace: its senders are answered now; the close it began goes on on
                // the I/O thread, and keeps the journal unless the discard had already begun.
                logger.warning("child did not stop in time; stopped without grace", metadata: ["child": "\(id)"])
                await child.abandonWithoutWaiting(
                    reason: ProcessError(code: .stopped, message: "shutdown timeout", processID: id))
            }
            emit(.stopped(id: id))
        }
        entries.removeAll()
        if unclaimedJournalPolicy == .discardOnGracefulShutdown { await discardUnclaimedJournals() }
        phase = .stopped
        finish()
    }

    /// Discards every journal no child claims, each owned first (so one that another OS process
    /// owns is left alone, and the discard is the store's durable one).
    private func discardUnclaimedJournals() async {
        for journal in await unclaimed() {
            do {
                try await store.discard(journal, logger: logger)
                logger.notice(
                    "unclaimed journal discarded on graceful shutdown", metadata: ["path": "\(journal.location)"])
            } catch {
                logger.warning(
                    "unclaimed journal not discarded", metadata: ["path": "\(journal.location)", "error": "\(error)"])
            }
        }
    }

    /// Stops every child keeping its journal: a crash, as far as state goes.
    private func stopWithoutGrace() async {
        guard case .running = phase else { return }
        phase = .shuttingDown
        stoppedWithoutGrace = true
        let reason = ProcessError(
            code: .stopped, message: "the supervisor was cancelled without graceful shutdown", processID: "")
        for entry in entries.values.sorted(by: { $0.startOrder > $1.startOrder }) {
            await entry.child.stopKeepingJournal(reason: reason)
        }
        entries.removeAll()
        phase = .stopped
        finish()
    }

    /// Journals in the directory that no running child claims (left by
    /// children not started yet, or by a previous program). Reported, never deleted.
    /// The directory is listed on the library's I/O threads.
    public func unclaimedJournals() async -> [String] {
        await unclaimed().map(\.location)
    }

    /// The store's journals that no running child claims; none when the store cannot be listed
    /// (logged).
    private func unclaimed() async -> [StoredJournal] {
        let journals: [StoredJournal]
        do { journals = try await store.list() } catch {
            logger.warning("the journal store could not be listed", metadata: ["error": "\(error)"])
            return []
        }
        let claimed = Set(entries.values.map { $0.child.journalPath })
        return journals.filter { !claimed.contains($0.location) }
    }

    /// Supervises until graceful shutdown (every child stopped normally, in
    /// reverse start order), until ``shutdown()``, or until cancelled (every
    /// journal kept: a crash, as far as state goes). Crash and stop notices are
    /// handled in a task group that ends with `run()`; a restart waiting out its
    /// backoff when `run()` ends is not begun. Throws ``SupervisorError`` when
    /// the children that depend on each other exceed the restart intensity,
    /// and `CancellationError` when cancelled without graceful shutdown.
    public func run() async throws {
        guard !runBegan else {
            throw SupervisorError(
                code: .notRunning, message: "run() of the supervisor \(name) was called before; it runs once")
        }
        runBegan = true
        for path in await unclaimedJournals() {
            logger.notice("journal on disk claimed by no child", metadata: ["path": "\(path)"])
            emit(.unclaimedJournal(path: path))
        }
        await withDiscardingTaskGroup { group in
            // Ends on graceful shutdown, on cancellation, and when the supervisor stops or fails.
            for await notice in notices.cancelOnGracefulShutdown() {
                switch notice {
                case .crashed(let id, let error): group.addTask { await self.childCrashed(id, error) }
                case .stopped(let id): group.addTask { await self.childStopped(id) }
                }
            }
            group.cancelAll()
            guard case .running = phase else { return }
            if Task.isCancelled {
                await stopWithoutGrace()
            } else {
                await shutdown()
            }
        }
        switch phase {
        case .failed(let error): throw error
        case .stopped where stoppedWithoutGrace: throw CancellationError()
        default: return
        }
    }

    /// Runs the supervisor while `body` runs — for a program or a test without a
    /// `ServiceGroup` — then shuts it down gracefully (every child stopped
    /// normally). If `body` throws, the children are stopped without grace (their
    /// journals kept) and the error is rethrown; if the supervisor escalates,
    /// its ``SupervisorError`` is thrown once `body` returns.
    public func run<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { try await self.run() }
            let result: T
            do {
                result = try await body()
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
            await shutdown()
            try await group.waitForAll()
            return result
        }
    }
}
