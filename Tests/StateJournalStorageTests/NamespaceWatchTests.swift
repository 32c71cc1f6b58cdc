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

    /// Where the journal is: a directory of the file system of the tests, or an overlay (a
    /// container's writable layer; root only).
    enum Place: String, CaseIterable, Sendable { case local, overlay }

    /// Opens a writer on `root/<dir>/j.journal` (through a symbolic link for that case), makes
    /// `change`, and returns the outcome of the next append after many accepted ones; nil for
    /// `place` if it cannot be had here.
    private func appendAfter(_ change: Change, in place: Place) async throws -> JournalError?? {
        let directoryOfTest = TemporaryDirectory("watch-\(change.rawValue)")
        var layers: OverlayLayers?
        defer { layers?.unmountAll() }
        let rootPath: String
        switch place {
        case .local: rootPath = directoryOfTest.path
        case .overlay:
            guard getuid() == 0, let overlays = OverlayLayers(in: directoryOfTest.path) else {
                print("NamespaceWatchTests: \(change) on an overlay not run: mounting one needs root")
                return nil
            }
            layers = overlays
            guard let mounted = overlays.mount("overlay") else {
                print("NamespaceWatchTests: \(change) on an overlay not run: no overlay file system here")
                return nil
            }
            rootPath = mounted
        }
        let parent = rootPath + "/parent"
        let directory = parent + "/journals"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var journalDirectory = directory
        if change == .symbolicLinkRepointed {
            try FileManager.default.createDirectory(atPath: rootPath + "/elsewhere", withIntermediateDirectories: true)
            #expect(symlink(directory, rootPath + "/link") == 0)
            journalDirectory = rootPath + "/link"
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
            #expect(rename(parent, rootPath + "/moved") == 0)
        case .directoryRemoved:
            try FileManager.default.removeItem(atPath: directory)
        case .symbolicLinkRepointed:
            #expect(unlink(rootPath + "/link") == 0)
            #expect(symlink(rootPath + "/elsewhere", rootPath + "/link") == 0)
            // What the path names now: another journal's file.
            #expect(FileManager.default.createFile(atPath: rootPath + "/elsewhere/j.journal", contents: Data([1])))
        }
        do throws(JournalError) {
            _ = try await writer.append([0xFF])
        } catch {
            return .some(error)
        }
        try await writer.close(discard: false)
        return .some(nil)
    }

    @Test(arguments: Change.allCases, Place.allCases)
    func everyChangeOfThePathStopsTheNextAcknowledgement(_ change: Change, _ place: Place) async throws {
        guard let error = try await appendAfter(change, in: place) else { return }
        #expect(error?.code == .replaced, "\(change) (\(place)): \(String(describing: error))")
    }

    /// Through an overlay (a container's writable layer), whose changes all go through the
    /// overlay itself (changing its layers beneath it is not allowed): the watch vouches there
    /// too, and its generation moves with names changed through the overlay, not with writes.
    @Test func theWatchVouchesForAnOverlay() throws {
        let directoryOfTest = TemporaryDirectory("watch-overlay")
        guard getuid() == 0, let layers = OverlayLayers(in: directoryOfTest.path) else { return }
        defer { layers.unmountAll() }
        guard let overlay = layers.mount("overlay") else { return }
        let watch = try #require(NamespaceWatch.shared)
        let directory = overlay + "/journals"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        let type = try Syscall.fileSystemType(fd)
        close(fd)
        #expect(type == MountTable.overlayType)
        let registration = try #require(watch.register(directory: directory, fileSystemType: type))
        defer { watch.unregister(registration) }
        _ = try expectNamesOnlyMoveTheGeneration(watch, registration, directory: directory)
    }

    /// Creates a file in the watched `directory`, writes it and renames it: the generation of
    /// `registration` moves with the creation and the rename, not with the writes. Returns the
    /// generation after the rename.
    private func expectNamesOnlyMoveTheGeneration(
        _ watch: NamespaceWatch, _ registration: NamespaceWatch.Registration, directory: String
    ) throws -> UInt64 {
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
        // A name moved in the directory.
        #expect(rename(directory + "/f", directory + "/g") == 0)
        let afterRename = try #require(watch.generation(of: registration))
        #expect(afterRename != afterCreate)
        return afterRename
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

        let afterRename = try expectNamesOnlyMoveTheGeneration(watch, registration, directory: directory)
        // An ancestor moved.
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
