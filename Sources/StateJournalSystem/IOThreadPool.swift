import CStateJournalLinux
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Threads the library owns, for blocking file work (`pwrite`, `fdatasync`,
/// `rename`, `unlink`), compression and timers. Swift's cooperative pool never
/// runs a blocking call of this library.
///
/// Jobs run in submission order (FIFO) on any of the pool's threads; timed
/// jobs run when their deadline passes.
package final class IOThreadPool: @unchecked Sendable {
    // Safe to share: every mutable field below is read and written only with
    // `mutex` held; threads are created in `init` and never stopped.
    package typealias Job = @Sendable () -> Void

    /// An object that runs itself on the pool: queued without a closure allocated around it
    /// (a journal's writer starts its worker this way on every write).
    package protocol Runnable: AnyObject, Sendable {
        func runOnPool()
    }

    private enum Entry {
        case closure(Job)
        case object(any Runnable)

        func run() {
            switch self {
            case .closure(let job): job()
            case .object(let object): object.runOnPool()
            }
        }
    }

    /// Guards the queues below; its condition is "work arrived".
    private let condition = ConditionLock()
    private var jobs: [Entry?] = []
    private var head = 0
    private var timers = TimerHeap()
    private var idleThreads = 0
    /// Set when the pool could not start the threads it needs: its threads end.
    private var ending = false
    /// Threads polling for work: at most one, so that an idle pool never holds both cores.
    private var spinningThreads = 0
    /// Jobs queued and not yet taken; read without the mutex by spinning threads.
    private let queued = Atomic<Int>(0)
    /// How long an idle thread polls for work before it sleeps: a job that
    /// comes within it starts without a futex wake-up. One thread at a time polls.
    private let spinNanoseconds: UInt64
    let name: String

    /// The pool shared by all journals of this OS process, for what is not a journal's writing:
    /// replays (reading ahead of the process that applies them) and directory listings. One
    /// thread per core, at least two.
    package static let shared = started(name: "sj-io", threads: oneThreadPerCore, atLeast: 2)

    /// The size of the pools that write and read journals: one thread per core, at least two.
    private static let oneThreadPerCore = max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// The pool that writes and syncs the journals of the file system `device` (`st_dev`), one
    /// per file system, started on the first open there: one thread per core, at least two.
    /// A `write` blocks for as long as its file system does — frozen (`fsfreeze`, as LVM
    /// snapshots and backup tools do), a network server gone, a FUSE server stuck — in the
    /// kernel, where nothing can cancel it, and holds its pool's thread meanwhile: that file
    /// system's journals then wait for it together, and the journals, replays and listings of
    /// other file systems do not (before, every journal was written by ``shared``, and two
    /// writes blocked on a frozen file system held both its threads until the thaw). A pool
    /// that cannot start its threads is this open's error (`EAGAIN`), and a later open tries
    /// again.
    package static func writing(onDevice device: UInt64) throws(SystemCallError) -> IOThreadPool {
        try writers.withLock { pools throws(SystemCallError) -> IOThreadPool in
            if let pool = pools[device] { return pool }
            let pool = try IOThreadPool(name: "sj-write-\(pools.count + 1)", threads: oneThreadPerCore, atLeast: 2)
            pools[device] = pool
            return pool
        }
    }

    /// The writing pools by device (``writing(onDevice:)``).
    private static let writers = LockedValue([UInt64: IOThreadPool]())

    /// Where journals are opened, created and moved: work that waits on `fsync`s of new files
    /// and directories for milliseconds. Kept off the writing pools (``writing(onDevice:)``),
    /// whose threads write and sync the journals already open, so that a burst of new journals
    /// does not hold up their appends; enough threads that concurrent creations wait on the file
    /// system's journal commits together rather than one after another. Shared by every file
    /// system: more than 16 opens, snapshots or closes blocked on one that stops answering hold
    /// the others' (docs/GUIDE.md).
    package static let opening = started(name: "sj-open", threads: 16, atLeast: 1, spinMicroseconds: 0)

    /// One of the library's own pools, without which no journal can be written: an OS process
    /// that cannot start the threads it needs (`atLeast`) stops here, saying why.
    private static func started(name: String, threads: Int, atLeast: Int, spinMicroseconds: Int = 50) -> IOThreadPool {
        do {
            return try IOThreadPool(name: name, threads: threads, atLeast: atLeast, spinMicroseconds: spinMicroseconds)
        } catch {
            fatalError("StateJournal could not start the \(atLeast) thread(s) its \(name) pool needs: \(error)")
        }
    }

    /// A pool of `threads` threads, or of as many as the system lets this OS process start, at
    /// least `atLeast` (a pool whose jobs wait for other jobs of it needs two): an OS process at
    /// its limit of threads (a container's `pids.max`, `RLIMIT_NPROC`) gets a smaller pool
    /// rather than a crash.
    ///
    /// - Throws: the error of `pthread_create` when fewer than `atLeast` threads started (those
    ///   that did end).
    package init(name: String, threads: Int, atLeast: Int = 1, spinMicroseconds: Int = 50) throws(SystemCallError) {
        self.name = name
        self.spinNanoseconds = UInt64(spinMicroseconds) * 1000
        var started = 0
        for index in 0..<threads {
            let box = Unmanaged.passRetained(ThreadStart(pool: self, name: "\(name)-\(index)"))
            var thread = pthread_t()
            let result = pthread_create(
                &thread, nil,
                { raw in
                    let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
                    pthread_setspecific(IOThreadPool.libraryThreadKey, UnsafeRawPointer(bitPattern: 1))
                    sj_set_thread_name(String(start.name.prefix(15)))
                    start.pool.run()
                    return nil
                }, box.toOpaque())
            guard result == 0 else {
                box.release()
                guard started >= atLeast else {
                    condition.lock()
                    ending = true
                    condition.unlock()
                    condition.broadcast()
                    throw SystemCallError(call: "pthread_create", errno: Errno(rawValue: result))
                }
                break
            }
            pthread_detach(thread)
            started += 1
        }
    }

    /// Marks the threads of every pool, so the test kit can check that no
    /// blocking call runs elsewhere (on Swift's cooperative pool).
    static let libraryThreadKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    /// Whether the calling thread belongs to one of the library's pools.
    package static var isLibraryThread: Bool { pthread_getspecific(libraryThreadKey) != nil }

    private final class ThreadStart {
        let pool: IOThreadPool
        let name: String
        init(pool: IOThreadPool, name: String) {
            self.pool = pool
            self.name = name
        }
    }

    /// Runs `job` on one of the pool's threads.
    package func execute(_ job: @escaping Job) {
        enqueue(.closure(job))
    }

    /// Runs `object.runOnPool()` on one of the pool's threads.
    package func execute(_ object: some Runnable) {
        enqueue(.object(object))
    }

    private func enqueue(_ entry: Entry) {
        condition.lock()
        jobs.append(entry)
        queued.add(1, ordering: .releasing)
        // A polling thread takes a job without a wake-up (it checks the queue under the lock
        // before it sleeps): a sleeping one is woken only for the jobs the pollers cannot take.
        let wake = idleThreads > 0 && jobs.count - head > spinningThreads
        condition.unlock()
        if wake { condition.signal() }
    }

    /// Runs `job` on one of the pool's threads once `nanoseconds` have passed.
    package func execute(afterNanoseconds nanoseconds: UInt64, _ job: @escaping Job) {
        let deadline = Self.now() &+ nanoseconds
        condition.lock()
        let earliest = timers.peek.map { deadline < $0 } ?? true
        timers.push(deadline: deadline, job: job)
        condition.unlock()
        if earliest { condition.broadcast() }
    }

    /// Runs `body` on the pool and returns its result to the awaiting task.
    package func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            execute {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    package static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    private func run() {
        condition.lock()
        while true {
            if ending {
                condition.unlock()
                return
            }
            let now = Self.now()
            if let deadline = timers.peek, deadline <= now {
                let job = timers.pop()
                condition.unlock()
                job()
                condition.lock()
                continue
            }
            if head < jobs.count {
                let job = jobs[head]!
                jobs[head] = nil
                head += 1
                queued.subtract(1, ordering: .relaxed)
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: jobs.capacity <= 4096)
                    head = 0
                } else if head >= 1024 && head * 2 >= jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
                condition.unlock()
                job.run()
                condition.lock()
                continue
            }
            if spinNanoseconds > 0 && spinningThreads == 0 {
                spinningThreads += 1
                condition.unlock()
                let until = Self.now() &+ spinNanoseconds
                var found = false
                while Self.now() < until {
                    if queued.load(ordering: .acquiring) > 0 {
                        found = true
                        break
                    }
                    sched_yield()
                }
                condition.lock()
                spinningThreads -= 1
                if found || head < jobs.count { continue }
                if let deadline = timers.peek, deadline <= Self.now() { continue }
            }
            idleThreads += 1
            if let deadline = timers.peek {
                condition.wait(untilNanoseconds: deadline)
            } else {
                condition.wait()
            }
            idleThreads -= 1
        }
    }
}

/// A binary min-heap of timed jobs.
private struct TimerHeap {
    private var items: [(deadline: UInt64, order: UInt64, job: IOThreadPool.Job)] = []
    private var counter: UInt64 = 0

    var peek: UInt64? { items.first?.deadline }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (items[a].deadline, items[a].order) < (items[b].deadline, items[b].order)
    }

    mutating func push(deadline: UInt64, job: @escaping IOThreadPool.Job) {
        counter &+= 1
        items.append((deadline, counter, job))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !less(child, parent) { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> IOThreadPool.Job {
        let top = items[0].job
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = parent * 2 + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && less(left, smallest) { smallest = left }
                if right < items.count && less(right, smallest) { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
