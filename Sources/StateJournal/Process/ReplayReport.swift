/// What a replay did.
public struct ReplayReport: Sendable, Hashable {
    /// Messages replayed after the snapshot.
    public var messages = 0
    /// The snapshot replay started from, if any.
    public var snapshotSequence: UInt64?
    /// State digests compared.
    public var digestsChecked = 0
    /// State digests of the first compact encoding (frame type 0x81), which are not comparable
    /// with the canonical encoding and are skipped.
    public var digestsSkipped = 0
    /// Where quarantine began, when a message failed and the policy is `.quarantine`.
    public var quarantinedFrom: UInt64?
    /// From the start of the replay to its end.
    public var duration: Duration = .zero
    /// From the start of the replay to the first message handed to `apply`.
    public var timeToFirstMessage: Duration?
}
