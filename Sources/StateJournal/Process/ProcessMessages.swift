/// The acknowledged messages of a process, from a sequence number on: first those already in
/// its journal, then live ones as they are acknowledged, with no gap and no duplicate across the
/// switch, across crashes and restarts of the process and across snapshots. Each iteration is
/// one subscription (made by ``ProcessHandle/messages(from:bufferLimit:)``).
///
/// A message is delivered once it is acknowledged per the process's durability; after a crash,
/// the messages its restart replays and this subscription has not seen come next (a message
/// journaled but not acknowledged before the crash is part of the state from then on).
///
/// **Slow consumers.** Live messages wait in a buffer of `bufferLimit` elements per
/// subscription. When it is full the subscription stops taking live messages and, once the
/// consumer has drained the buffer, reads the ones it missed from the journal (on the library's
/// I/O threads) before it follows live messages again: a slow consumer costs bounded memory and
/// never blocks the process or its senders. If a snapshot folded away messages it had not read,
/// it gets ``JournaledEvent/snapshot(sequence:_:)`` with the state instead (this needs a state
/// codec; without one the subscription throws).
///
/// The sequence ends when the process stops normally — after the elements already buffered; a
/// subscription still reading the journal then ends there, since a transient journal is
/// discarded — and one made while the process is stopped ends at once. It throws the reason
/// when the supervisor gives up on the process. Cancelling the consuming task ends a wait with
/// `CancellationError`.
public struct ProcessMessages<P: JournaledProcess>: AsyncSequence, Sendable {
    public typealias Element = JournaledEvent<P>

    let cell: ProcessCell<P>
    let from: UInt64
    let bufferLimit: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(token: SubscriptionToken(cell: cell, from: from, bufferLimit: bufferLimit))
    }

    /// Reads the subscription; dropping it ends the subscription.
    public struct Iterator: AsyncIteratorProtocol {
        let token: SubscriptionToken<P>

        public mutating func next() async throws -> JournaledEvent<P>? {
            try await token.next(isolation: nil)
        }

        /// Runs on the caller's actor: the elements already taken from the process are handed
        /// out without a hop per element.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> JournaledEvent<P>?
        {
            try await token.next(isolation: actor)
        }
    }
}
