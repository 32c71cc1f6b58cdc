import Foundation
import StateJournalStorage
import StateJournalSystem
import Testing

/// A writer looks its journal's path up only when the namespace watch saw a change: every change
/// that makes the path name another file (or none) must still stop the next acknowledgement,
/// whichever name on the path changed, and changes that leave the path alone must not.
@Suite struct NamespaceWatchTests {
    /// Ways to make a live writer's path name something else. `directory` holds the journal
    /// `j.journal`; `root` is the test's own directory, the journal directory's parent.
    enum Change: String, CaseIterable, Sendable {
        case fileMovedOver, journalRemoved, journalMovedAway, directoryMoved, ancestorMoved, directoryRemoved
        case symbolicLinkRepointed
    }

    /// Opens a writer on `root/<dir>/j.journal` (through a symbolic link for that case), makes
    /// `change`, and returns the outcome of the next append after many accepted ones.
    private func appendAfter(_ change: Change) async throws -> JournalError? {
        let root = TemporaryDirectory("watch-\(change.rawValue)")
        let parent = root.path + "/parent"
        let directory = parent + "/journals"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var journalDirectory = directory
        if change == .symbolicLinkRepointed {
            try FileManager.default.createDirectory(atPath: root.path + "/elsewhere", withIntermediateDirectories: true)
            #expect(symlink(directory, root.path + "/link") == 0)
            journalDirectory = root.path + "/link"
        }
        let writer = try await JournalWriter.open(
            path: journalDirectory + "/j.journal", processID: "j", options: .testing(.written), logger: testLogger)
        // Many appends: the checks after the first rely on the watch (where it vouches).
        for i in 0..<200 { _ = try await writer.append([UInt8(i % 256)]) }
        switch change {
        case .fileMovedOver:
            #expect(FileManager.default.createFile(atPath: directory + "/other", contents: Data([1])))
            #expect(rename(directory + "/other", directory + "/j.journal") == 0)
        case .journalRemoved:
            #expect(unlink(directory + "/j.journal") == 0)
        case .journalMovedAway:
            #expect(rename(directory + "/j.journal", directory + "/k.journal") == 0)
        case .directoryMoved:
            #expect(rename(directory, parent + "/moved") == 0)
        case .ancestorMoved:
            #expect(rename(parent, root.path + "/moved") == 0)
        case .directoryRemoved:
            try FileManager.default.removeItem(atPath: directory)
        case .symbolicLinkRepointed:
            #expect(unlink(root.path + "/link") == 0)
            #expect(symlink(root.path + "/elsewhere", root.path + "/link") == 0)
            // What the path names now: another journal's file.
            #expect(FileManager.default.createFile(atPath: root.path + "/elsewhere/j.journal", contents: Data([1])))
        }
        do throws(JournalError) {
            _ = try await writer.append([0xFF])
        } catch {
            return error
        }
        try await writer.close(discard: false)
        return nil
    }

    @Test(arguments: Change.allCases)
    func everyChangeOfThePathStopsTheNextAcknowledgement(_ change: Change) async throws {
        let error = try await appendAfter(change)
        #expect(error?.code == .replaced, "\(change): \(String(describing: error))")
    }

    /// Names created, moved and removed beside the journal, and writes to other files, change
    /// nothing for it: its appends go on (each such change costs one path lookup).
    @Test func changesBesideTheJournalLeaveItAlone() async throws {
        let root = TemporaryDirectory("watch-beside")
        let writer = try await JournalWriter.open(
            path: root.file("j.journal"), processID: "j", options: .testing(.written), logger: testLogger)
        for i in 0..<100 {
            _ = try await writer.append([UInt8(i)])
            #expect(FileManager.default.createFile(atPath: root.file("t\(i)"), contents: Data([1])))
            #expect(rename(root.file("t\(i)"), root.file("u\(i)")) == 0)
            if i % 2 == 0 { #expect(unlink(root.file("u\(i)")) == 0) }
        }
        #expect(try await writer.append([0xFF]) == 101)
        try await writer.close(discard: false)
        let read = try readAll(root.file("j.journal")).messages
        #expect(read.map(\.bytes) == (0..<100).map { [UInt8($0)] } + [[0xFF]])
    }

    /// The watch itself: its generation moves with a name changed in the directory or an
    /// ancestor's move, not with writes; it stops vouching once the directory is gone; it never
    /// vouches for a path it cannot see whole.
    @Test func theGenerationMovesWithNamesOnly() throws {
        let watch = try #require(NamespaceWatch.shared)
        let root = TemporaryDirectory("watch-generation")
        let directory = root.path + "/a/b"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        let type = try Syscall.fileSystemType(fd)
        close(fd)
        try #require(NamespaceWatch.localFileSystems.contains(type), "the test directory is not on a local file system")
        let registration = try #require(watch.register(directory: directory, fileSystemType: type))
        defer { watch.unregister(registration) }

        let start = try #require(watch.generation(of: registration))
        #expect(watch.generation(of: registration) == start)
        // Writes change no name.
        #expect(FileManager.default.createFile(atPath: directory + "/f", contents: Data([1])))
        let afterCreate = try #require(watch.generation(of: registration))
        #expect(afterCreate != start)
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/f"))
        for _ in 0..<10 { handle.write(Data([2])) }
        try handle.close()
        #expect(watch.generation(of: registration) == afterCreate)
        // A name moved in the directory; an ancestor moved.
        #expect(rename(directory + "/f", directory + "/g") == 0)
        let afterRename = try #require(watch.generation(of: registration))
        #expect(afterRename != afterCreate)
        #expect(rename(root.path + "/a", root.path + "/c") == 0)
        let afterAncestor = watch.generation(of: registration)
        #expect(afterAncestor != afterRename)
        // Removed: the removal of its names moves the generation, and once the kernel has
        // ended the watch it vouches no more.
        try FileManager.default.removeItem(atPath: root.path + "/c")
        let afterRemoval = watch.generation(of: registration)
        #expect(afterRemoval != afterAncestor)
        #expect(afterRemoval == nil)

        // Relative paths, symbolic links, `..`, network or FUSE file systems: not vouched for.
        #expect(watch.register(directory: "relative/dir", fileSystemType: type) == nil)
        #expect(watch.register(directory: root.path + "/../" + root.path, fileSystemType: type) == nil)
        #expect(watch.register(directory: root.path, fileSystemType: 0x6573_5546) == nil)
        #expect(symlink(root.path, root.path + "-link") == 0)
        defer { unlink(root.path + "-link") }
        #expect(watch.register(directory: root.path + "-link", fileSystemType: type) == nil)
    }
}
