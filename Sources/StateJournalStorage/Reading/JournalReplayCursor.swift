/// One reading of a journal by a ``JournalReplay``: the snapshot first when there is one, then
/// the messages in order, in bounded chunks; nil at the end. `next()` is never called
/// concurrently; blocking reads run on the store's own threads.
public protocol JournalReplayCursor: AnyObject, Sendable {
    func next() async throws(JournalError) -> ReplayElement?
}
