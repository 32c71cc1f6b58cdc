extension JournalWriter: OwnedJournal {
    /// The journal's path.
    public var location: String { path }

    /// Replays this journal: the snapshot, then every message after it, as on disk now.
    public func replay(chunkMessages: Int) -> JournalReplay {
        JournalReplay(path: path, chunkMessages: chunkMessages)
    }
}
