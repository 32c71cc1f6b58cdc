/// A job started on an ``IOThreadPool`` now and awaited later: how a reader works ahead of
/// its consumer (the next chunk is read while the last one is used).
///
/// Its result is awaited at most once. A result nobody awaits is dropped with the job.
package final class StartedJob<T: Sendable, E: Error>: @unchecked Sendable {
    // Safe: `state` is only touched under its lock.
    private enum State {
        case running
        case awaited(CheckedContinuation<Result<T, E>, Never>)
        case finished(Result<T, E>)
    }
    private let state = LockedValue(State.running)

    fileprivate init() {}

    fileprivate func finish(_ result: Result<T, E>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<T, E>, Never>? in
            defer { state = .finished(result) }
            if case .awaited(let continuation) = state { return continuation }
            return nil
        }
        waiter?.resume(returning: result)
    }

    /// The job's result, once it has run.
    package func value() async throws(E) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
            let ready = state.withLock { state -> Result<T, E>? in
                if case .finished(let result) = state { return result }
                state = .awaited(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        return try result.get()
    }
}

extension IOThreadPool {
    /// Starts `body` on the pool and returns at once; ``StartedJob/value()`` awaits its result.
    package func start<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) -> StartedJob<T, E> {
        let job = StartedJob<T, E>()
        execute {
            do throws(E) {
                job.finish(.success(try body()))
            } catch {
                job.finish(.failure(error))
            }
        }
        return job
    }
}
