import CStateJournalLinux

/// Waits for a condition by polling it on the calling thread, for a bounded time.
package enum SpinWait {
    /// Polls `done` until it returns true (then returns true) or `nanoseconds` have passed
    /// (then returns false). The clock is read every 64 polls; between polls the CPU is told
    /// the thread spins (`pause`).
    package static func poll(forNanoseconds nanoseconds: UInt64, until done: () -> Bool) -> Bool {
        let deadline = IOThreadPool.now() &+ nanoseconds
        var polls = 0
        while !done() {
            polls &+= 1
            if polls & 63 == 0, IOThreadPool.now() >= deadline { return false }
            relax()
        }
        return true
    }

    /// One spin-loop hint to the CPU.
    package static func relax() { sj_cpu_relax() }
}
