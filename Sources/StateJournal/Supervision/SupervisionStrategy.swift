/// Which children restart when one crashes (as in Erlang/OTP).
public enum SupervisionStrategy: Sendable, Hashable {
    /// Only the crashed child.
    case oneForOne
    /// Every child: the others rebuild their state from their journals too.
    case oneForAll
    /// The crashed child and every child started after it.
    case restForOne
}
