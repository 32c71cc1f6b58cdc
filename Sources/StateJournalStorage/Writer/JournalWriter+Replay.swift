extension JournalWriter {
    /// Replays this journal: the snapshot, then every message after it, as on disk now.
    public func replay(chunkMessages: Int = 4096) -> JournalReplay {
        JournalReplay(path: path, chunkMessages: chunkMessages)
    }
}
