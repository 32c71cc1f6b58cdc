import StateJournalStorage

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
/// A process that refuses some messages on business rules (a coupon already
/// used, an empty cart checked out) says so in ``validate(_:against:)``,
/// which runs on the current state before anything is journaled:
///
/// ```swift
/// struct Cart: JournaledProcess {
///     struct State: Codable, Sendable { var items: [String: Int] = [:] }
///     enum Message: Codable, Sendable { case add(String, Int), remove(String) }
///     enum Refusal: Error { case notInCart(String) }
///
///     var initialState: State { State() }
///
///     func validate(_ message: Message, against state: State) throws(Refusal) {
///         if case .remove(let item) = message, state.items[item] == nil { throw .notInCart(item) }
///     }
///
///     func apply(_ message: Message, to state: inout State) {
///         switch message {
///         case .add(let item, let count): state.items[item, default: 0] += count
///         case .remove(let item): state.items[item] = nil
///         }
///     }
/// }
/// ```
///
/// The sender of a refused message gets the ``Refusal`` itself (`catch
/// Cart.Refusal.notInCart`); nothing is journaled and the process goes on —
/// no crash, no replay, no count towards its supervisor's restart intensity.
///
/// `apply` must be pure and deterministic: the same messages from the same
/// state give the same state, live and on replay. It must not read the
/// clock, random numbers or anything outside the message and the state (the
/// determinism check, ``ProcessOptions/determinismCheckInterval``, catches
/// an `apply` that does). `apply` throwing means a bug, not a refusal: the
/// message is not journaled, the process crashes and is restarted from its
/// journal, without it.
public protocol JournaledProcess: Sendable {
    associatedtype State: Sendable
    associatedtype Message: Sendable
    /// What ``validate(_:against:)`` throws to refuse a message; `Never` (the
    /// default) for a process that accepts every message.
    associatedtype Refusal: Error = Never

    /// The state before the first message.
    var initialState: State { get }

    /// Decides, on the current state, whether `message` is accepted. Throwing
    /// refuses it: the sender gets the refusal, nothing is journaled, the
    /// process goes on. Runs on the process, right before ``apply(_:to:)``
    /// with no other message in between; never on replay (a journaled
    /// message was accepted). Like `apply`, it must be pure. By default every
    /// message is accepted.
    func validate(_ message: Message, against state: State) throws(Refusal)

    /// Applies `message` to `state`. Throwing is a bug: the message is not
    /// journaled and the process crashes (``ProcessError/Code/rejected``).
    func apply(_ message: Message, to state: inout State) throws
}

extension JournaledProcess where Refusal == Never {
    /// Accepts every message.
    public func validate(_ message: Message, against state: State) {}
}
