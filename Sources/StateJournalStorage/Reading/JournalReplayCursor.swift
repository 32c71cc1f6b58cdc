/// One reading of a journal by a ``JournalReplay``: the snapshot first when there is one, then
/// the messages in order, in bounded chunks; nil at the end. `next()` is never called
/// concurrently; blocking reads run on the store's own threads.
public protocol JournalReplayCursor: AnyObject, Sendable {
    func next() async throws(JournalError) -> ReplayElement?

    /// Whether the cursor reads ahead of its consumer by itself (the file store's reads and
    /// decodes the next chunk on the library's threads while the consumer handles the one
    /// before). A process's replay calls `next()` of a cursor that does not while it applies
    /// the element before, so that the store's fetching and decoding overlap the process's
    /// decoding and applying. False by default.
    var readsAhead: Bool { get }
}

extension JournalReplayCursor {
    /// False: a cursor reads when asked, unless it says otherwise.
    public var readsAhead: Bool { false }
}
