/// What opening a journal does with damage.
public enum RecoveryMode: Sendable, Hashable {
    /// Cut a torn tail (kept aside); stop with an error on damage followed by valid frames.
    case strict
    /// Keep the good prefix before any damage; move the rest aside.
    case pointInTime
}
