public import Logging
import StateJournalSystem

/// The local-file store: each journal is its own file, `<directory>/<name>.journal` (see
/// ``JournalNaming``), with its snapshot beside it; ownership is a lock the kernel drops when
/// the owning OS process dies.
///
/// ```swift
/// let store = FileJournalStore(directory: directory.path + "/carts")
/// let journal = try await store.open("cart-42", options: JournalOptions(durability: .synced), logger: logger)
/// ```
///
/// Opening a journal whose last owner in this OS process failed a sync (`fdatasync`
/// reported an error, so the kernel may have dropped its dirty pages) copies it into a new
/// file first: nothing is ever appended behind pages a failed sync may have lost. A journal
/// found under the name an earlier naming rule gave it is renamed on open.
public struct FileJournalStore: JournalStore {
    /// The directory of the journals.
    public let directory: String

    /// A store of the journals in `directory` (created on the first open when missing).
    public init(directory: String) {
        self.directory = directory
    }

    /// `<directory>/<file name of name>`.
    public func location(of name: String) -> String { directory + "/" + JournalNaming.fileName(for: name) }

    /// Opens `name`'s journal file with a ``JournalWriter`` (see ``JournalStore/open(_:options:logger:)``).
    public func open(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
        -> any OwnedJournal
    {
        try await openWriter(name, options: options, logger: logger)
    }

    /// ``open(_:options:logger:)`` with the file store's own type.
    package func openWriter(_ name: String, options: JournalOptions, logger: Logger) async throws(JournalError)
        -> JournalWriter
    {
        let path = location(of: name)
        if let legacy = JournalNaming.legacyFileName(for: name) {
            try await JournalDirectory.adopt(legacy: directory + "/" + legacy, as: path)
        }
        return try await Self.owners.open(path: path) { () async throws(JournalError) -> JournalWriter in
            try await JournalWriter.open(
                path: path, processID: JournalNaming.headerProcessID(for: name), options: options, logger: logger)
        }
    }

    /// The `*.journal` files of the directory, sorted by file name.
    public func list() async throws(JournalError) -> [StoredJournal] {
        let directory = self.directory
        return await JournalDirectory.names(in: directory, endingWith: ".journal").map { fileName in
            let name = JournalNaming.id(fromFileName: fileName).flatMap {
                JournalNaming.fileName(for: $0) == fileName ? $0 : nil
            }
            return StoredJournal(name: name, location: directory + "/" + fileName)
        }
    }

    /// Reads `name`'s journal file (see ``JournalStore/replay(_:from:chunkMessages:)``).
    public func replay(_ name: String, from sequence: UInt64, chunkMessages: Int) -> JournalReplay {
        JournalReplay(
            path: location(of: name), from: sequence, chunkMessages: chunkMessages, chunkBytes: 1 << 20,
            absentIsEmpty: true)
    }

    /// Takes the journal file's lock and removes it and its snapshot, durably.
    public func discard(_ journal: StoredJournal, logger: Logger) async throws(JournalError) {
        // The id its header holds: the name's, or for a hashed file name the name itself.
        let fileName = FileNames.base(of: journal.location)
        let headerID =
            journal.name.map(JournalNaming.headerProcessID(for:)) ?? String(fileName.dropLast(".journal".count))
        var options = JournalOptions()
        options.idleTimeout = nil
        options.createDirectory = false
        let path = journal.location
        let writer = try await Self.owners.open(path: path) { () async throws(JournalError) -> JournalWriter in
            try await JournalWriter.open(path: path, processID: headerID, options: options, logger: logger)
        }
        try await writer.close(discard: true)
    }

    /// The writers this OS process's file stores opened, by path.
    static let owners = FileOwners()
}

/// Which writer owns each journal within this OS process. The kernel's locks refuse another OS
/// process; this refuses a second owner in this one, even while the first is idle with its file
/// closed. It also remembers journals whose last owner failed a sync.
final class FileOwners: Sendable {
    private struct Entry {
        weak var writer: JournalWriter?
    }
    private struct State {
        var writers: [String: Entry] = [:]
        /// Opens that have begun and not ended: a second one is refused, it does not wait.
        var opening: Set<String> = []
        /// Journals whose last writer failed a sync.
        var syncFailed: Set<String> = []
        /// Entries whose writer is gone are dropped when the table reaches this size (amortised:
        /// never a scan per open, even with tens of thousands of journals).
        var sweepAt = 1024
    }
    private let state = LockedValue(State())

    func open(path: String, _ open: () async throws(JournalError) -> JournalWriter) async throws(JournalError)
        -> JournalWriter
    {
        let syncFailed = try state.withLock { state throws(JournalError) -> Bool in
            if state.opening.contains(path) {
                throw JournalError(
                    code: .locked, message: "another writer in this OS process is opening the journal", path: path)
            }
            if state.writers[path]?.writer?.isOwning == true {
                throw JournalError(
                    code: .locked, message: "another writer in this OS process owns the journal", path: path)
            }
            state.opening.insert(path)
            return state.syncFailed.contains(path)
        }
        defer { _ = state.withLock { $0.opening.remove(path) } }
        if syncFailed {
            // Never append behind pages a failed `fdatasync` may have dropped: go on in a new file.
            try await JournalDirectory.moveToNewFile(path)
        }
        let writer = try await open()
        state.withLock { state in
            state.syncFailed.remove(path)
            state.writers[path] = Entry(writer: writer)
            if state.writers.count >= state.sweepAt {
                state.writers = state.writers.filter { $0.value.writer != nil }
                state.sweepAt = max(1024, 2 * state.writers.count)
            }
        }
        writer.observeFailure { [weak self] error in
            guard error.code == .syncFailed else { return }
            _ = self?.state.withLock { $0.syncFailed.insert(path) }
        }
        return writer
    }
}
