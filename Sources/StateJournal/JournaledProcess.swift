@_exported import StateJournalStorage

/// A process whose state survives crashes: every message that changes the
/// state is journaled before its sender is answered, and a restart replays
/// the journal through the same ``apply(_:to:)``.
///
/// ```swift
/// struct ChatRoom: JournaledProcess {
///     struct State: Codable, Sendable { var members: Set<String> = []; var posts = 0 }
///     enum Message: Codable, Sendable { case join(String), leave(String), post(String) }
///
///     var initialState: State { State() }
///
///     func apply(_ message: Message, to state: inout State) throws {
///         switch message {
///         case .join(let user): state.members.insert(user)
///         case .leave(let user): state.members.remove(user)
///         case .post: state.posts += 1
///         }
///     }
/// }
/// ```
///
/// `apply` must be pure and deterministic: the same messages from the same
/// state give the same state, live and on replay. It must not read the
/// clock, random numbers or anything outside the message and the state (the
/// determinism check, ``ProcessOptions/determinismCheckInterval``, catches
/// an `apply` that does). A message whose `apply` throws is not journaled:
/// the process crashes and is restarted from its journal, without it.
public protocol JournaledProcess: Sendable {
    associatedtype State: Sendable
    associatedtype Message: Sendable

    /// The state before the first message.
    var initialState: State { get }

    /// Applies `message` to `state`. Throwing rejects the message and crashes the process.
    func apply(_ message: Message, to state: inout State) throws
}
