import StateJournalStorage
import StateJournalSystem

/// Sends waiting for a process's next turn.
///
/// A process is an actor, and a send that entered it one message at a time would pay an actor
/// hop, a suspension for its acknowledgement and a hop back on the actor for each message. The
/// mailbox batches instead: the first sender that finds no turn under way takes the turn — it
/// enters the actor and applies, encodes and hands to the journal its own message and every
/// message that queued meanwhile, as one batch (one `submit`), then hands the turn to the
/// oldest send that queued since, if any. The other senders only queue and wait; each is
/// answered once, straight from the journal's completion (its sequence number and reply, or
/// the error), without entering the actor.
///
/// The order is the one replay uses: messages are applied one by one on the actor in the order
/// they queued, and a batch keeps that order in the journal. A turn only runs while the process
/// runs: otherwise every queued send takes the direct path (``ProcessCell/sendDirect``), which
/// waits for the restart with the sender's own timeout and cancellation.
final class Mailbox<P: JournaledProcess>: Sendable {
    /// A send waiting for a turn.
    struct Entry: @unchecked Sendable {
        // Unchecked: `reply` is a `@Sendable` closure and `message` is `Sendable`; the
        // continuation is resumed exactly once, by the turn that took the entry.
        let message: P.Message
        /// Computes the sender's reply on the state right after its message (nil: no reply).
        let reply: (@Sendable (P.State) -> any Sendable)?
        /// nil for the message of the sender that runs the turn (it is answered on its own task).
        let continuation: UnsafeContinuation<TurnOutcome, Never>?
        /// Which wait queued it (a cancelled wait takes its entry back by it).
        var ticket: UInt64 = 0

        func answer(_ outcome: TurnOutcome) { continuation?.resume(returning: outcome) }
    }

    /// Guards `entries` and `turn`. Not generic: the runtime's code is not specialized for the
    /// user's process type, and the lock of a generic value costs metadata lookups on every use;
    /// a lone sender's turn touches only `turn`.
    private let turn = LockedValue(MailboxTurn())
    // Safe: only read and changed inside `turn.withLock`.
    private nonisolated(unsafe) var entries: [Entry] = []

    /// Takes the turn when no one has it. One lock, no allocation: the path of a lone sender.
    /// Returns nil when the turn is someone else's; else whether the last turn applied sends that
    /// had queued for it (the process has concurrent senders, whose next sends are likely on
    /// their way, resumed by the same acknowledgement).
    func tryTakeTurn() -> Bool? {
        turn.withLock { turn in
            if turn.taken { return nil }
            turn.taken = true
            return turn.lastTurnHadCompany
        }
    }

    /// Queues a send and waits for its outcome, or returns ``TurnOutcome/takeTurn`` at once when the
    /// turn was given up meanwhile (the caller then runs it).
    ///
    /// Cancellable while the send waits in the queue: it is taken out, never applied, and the
    /// outcome is a `CancellationError`. Once a turn has taken it, the outcome is the journal's
    /// (as for a message the direct path handed to the journal): a turn is bounded by one round
    /// of the journal.
    func wait(
        _ message: P.Message, reply: (@Sendable (P.State) -> any Sendable)?
    ) async -> TurnOutcome {
        let ticket = turn.withLock { turn in
            turn.nextTicket &+= 1
            return turn.nextTicket
        }
        return await withTaskCancellationHandler {
            // Unsafe (not checked): the entry is resumed exactly once, by the turn that takes it
            // or by the cancellation that takes it back, whichever removes it from the queue.
            await withUnsafeContinuation { (continuation: UnsafeContinuation<TurnOutcome, Never>) in
                let queued = turn.withLock { turn -> QueueAttempt in
                    // Under the lock the cancellation handler takes too: a cancellation that came
                    // before this check found nothing to take back, and is seen here.
                    if Task.isCancelled { return .cancelled }
                    if turn.taken {
                        var entry = Entry(message: message, reply: reply, continuation: continuation)
                        entry.ticket = ticket
                        entries.append(entry)
                        turn.queued += 1
                        return .queued
                    }
                    turn.taken = true
                    return .takeTurn
                }
                switch queued {
                case .queued: break
                case .takeTurn: continuation.resume(returning: .takeTurn)
                case .cancelled: continuation.resume(returning: .failed(CancellationError()))
                }
            }
        } onCancel: {
            let taken = turn.withLock { turn -> Entry? in
                guard let index = entries.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                turn.queued -= 1
                return entries.remove(at: index)
            }
            taken?.answer(.failed(CancellationError()))
        }
    }

    /// The sends queued so far, in order; nil when none is.
    func takeQueued() -> [Entry]? {
        turn.withLock { turn in
            turn.lastTurnHadCompany = turn.queued > 0
            if turn.queued == 0 { return nil }
            turn.queued = 0
            var taken: [Entry] = []
            swap(&taken, &entries)
            return taken
        }
    }

    /// Ends the turn, or, when sends queued meanwhile, hands it to the oldest of them (which is
    /// answered ``TurnOutcome/takeTurn``): a turn takes one batch, and the actor's other work —
    /// reads, stops, subscriptions — comes in between turns under a steady load. In the same
    /// step as the check: a send that comes next either queues for the new turn or takes one.
    func handOffOrEndTurn() {
        let ended = turn.withLock { turn in
            if turn.queued > 0 { return false }
            if !turn.held { turn.taken = false }
            return true
        }
        if !ended { handOff() }
    }

    /// Hands the turn to the oldest queued send. Apart from ``handOffOrEndTurn()``, whose path
    /// without queued sends then needs no metadata of `Entry` (looked up on entry to a function).
    @inline(never)
    private func handOff() {
        let next = turn.withLock { turn -> Entry? in
            if turn.queued == 0 {
                // Taken back by a cancellation in between.
                if !turn.held { turn.taken = false }
                return nil
            }
            turn.queued -= 1
            return entries.removeFirst()
        }
        next?.answer(.takeTurn)
    }

    /// Tests: sends queue up instead of taking a turn until ``release()``. Returns false when a
    /// turn is under way (try again).
    func hold() -> Bool {
        turn.withLock { turn in
            if turn.taken { return false }
            turn.taken = true
            turn.held = true
            return true
        }
    }

    /// Tests: ends ``hold()``; the caller runs the turn for the queued sends.
    func release() {
        turn.withLock { $0.held = false }
    }

    /// Tests: how many sends wait.
    var queued: Int { turn.withLock { $0.queued } }
}

/// Who has a process's turn, and how many sends wait for it (``Mailbox``).
private struct MailboxTurn {
    /// How many entries the mailbox holds: `entries.count`, kept here because reading an array
    /// of a generic element in this unspecialized code costs a metadata lookup.
    var queued = 0
    var nextTicket: UInt64 = 0
    /// A sender holds the turn (it has entered, or is entering, the actor).
    var taken = false
    /// Tests hold turns so that many sends queue up for one.
    var held = false
    /// The last turn took sends that had queued (``Mailbox/tryTakeTurn()``).
    var lastTurnHadCompany = false
}

/// What became of a send that came to wait for a turn.
private enum QueueAttempt {
    case queued, takeTurn, cancelled
}

/// What a send gets from a turn. Not generic (nor is anything a turn keeps per message): the
/// runtime's code is not specialized for the user's process type, and a generic type would cost a
/// metadata lookup on every use.
enum TurnOutcome: @unchecked Sendable {
    // Unchecked: the reply is a value the sender's `@Sendable` reply closure returned.
    /// Journaled and acknowledged per the process's durability.
    case acknowledged(UInt64, reply: (any Sendable)?)
    /// Refused by `validate` (the refusal as is), or the `ProcessError` of a crash or a journal
    /// failure.
    case failed(any Error)
    /// Not applied: the process was not running; the sender goes the direct path.
    case direct
    /// The sender takes the turn (its message was not queued).
    case takeTurn
}

/// A sender whose message a turn applied: answered once its batch is acknowledged.
struct TurnSender {
    let continuation: UnsafeContinuation<TurnOutcome, Never>
    let reply: (any Sendable)?
    /// Its message's place in the batch submitted.
    let offset: Int
}

/// What a turn has applied and not yet handed to the journal, and what it handed.
///
/// A lone sender's turn (its own message, one submit) allocates no array besides the one its
/// encoded message goes to the journal in: the own message and the first ticket are kept apart
/// from the lists of queued senders and of later tickets.
struct Turn {
    /// Encoded messages for the next `submit`, in order.
    var bytes: [[UInt8]] = []
    /// The queued senders of these messages and their replies (the turn's own message is not
    /// among them: `ownPending`).
    var senders: [TurnSender] = []
    /// The turn's own message among `bytes`, not yet submitted: its place and reply.
    var ownPending: (offset: Int, reply: (any Sendable)?)?
    /// The sequence number of `bytes[0]`.
    var firstSequence: UInt64 = 0
    /// The tickets submitted, in order: the first, then the rest.
    var firstTicket: AppendTicket?
    var laterTickets: [AppendTicket] = []
    /// The turn's own message, when it was answered at once (refused, crashed, not running).
    var own: TurnOutcome?
    /// Where the turn's own message was submitted.
    var ownTicket: AppendTicket?
    var ownOffset = 0
    var ownSequence: UInt64 = 0
    var ownReply: (any Sendable)?

    mutating func add(_ ticket: AppendTicket) {
        if firstTicket == nil { firstTicket = ticket } else { laterTickets.append(ticket) }
    }

    /// The `index`th ticket submitted, or nil past the last.
    func ticket(at index: Int) -> AppendTicket? {
        index == 0 ? firstTicket : (index <= laterTickets.count ? laterTickets[index - 1] : nil)
    }
}
