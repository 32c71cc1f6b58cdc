import Foundation
import StateJournal
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// An OS process that runs out of file descriptors (`RLIMIT_NOFILE`, in a child OS process: the
/// limit is the whole process's), while its journals reopen after idle releases and `.synced`
/// rounds run: every failed send says `EMFILE`, nothing acknowledged is lost or doubled, and
/// once descriptors are back every process takes messages again, in this supervisor (a child
/// given up is started anew) and after a restart. No fault injector: the kernel refuses the
/// `open`s.
@Suite(.timeLimit(.minutes(2)))
struct DescriptorLimitTests {
    @Test(arguments: [".written", ".synced"])
    func runningOutOfDescriptorsLosesNothingAndPasses(durability: String) async throws {
        let directory = TemporaryDirectory()
        let report = directory.path + "/report"
        await #expect(processExitsWith: .success) {
            [dir = directory.path as String, report = report as String, durability = durability as String] in
            do {
                try await Self.run(directory: dir, durability: durability == ".synced" ? .synced : .written)
                exit(0)
            } catch {
                _ = FileManager.default.createFile(atPath: report, contents: Data("\(error)".utf8))
                exit(1)
            }
        }
        if let text = FileManager.default.contents(atPath: report) {
            Issue.record("\(String(decoding: text, as: UTF8.self))")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The child OS process: 40 rooms, each released while idle; then the descriptor limit is
    /// lowered to four more than are open, and every room sends 5 posts at once.
    static func run(directory: String, durability: Durability) async throws {
        let options = {
            var options = ProcessOptions(durability: durability, retention: .persistent)
            options.journal.idleTimeout = .milliseconds(20)
            return options
        }()
        let spec: @Sendable (String) -> ChildSpec<ChatRoom> = {
            ChildSpec(id: $0, process: ChatRoom(), options: options)
        }
        let ids = (0..<40).map { "room-\($0)" }
        let record = Records()
        let supervisor = Supervisor(directory: directory, logger: quietLogger)
        try await supervisor.run {
            for id in ids {
                try await supervisor.child(id: id) { spec($0) }.send(.post("\(id) first"))
                record.acknowledged(id, "\(id) first")
            }
            // Every journal released while idle, its descriptor closed (a slow machine waits longer).
            let descriptors = { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") }
            let journalsOpen = {
                try descriptors().filter {
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0))?
                        .hasSuffix(".journal") ?? false
                }.count
            }
            for _ in 0..<500 where try journalsOpen() > 0 { try await Task.sleep(for: .milliseconds(20)) }
            var saved = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved)
            let open = try descriptors().count
            var low = rlimit(rlim_cur: rlim_t(open + 4), rlim_max: saved.rlim_max)
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low) == 0 else { throw Failure(description: "setrlimit") }
            await withTaskGroup(of: Void.self) { group in
                for id in ids {
                    group.addTask {
                        for i in 0..<5 {
                            let text = "\(id) \(i)"
                            do {
                                try await supervisor.child(id: id) { spec($0) }.send(.post(text))
                                record.acknowledged(id, text)
                            } catch {
                                record.failed(id, text, error)
                            }
                        }
                    }
                }
            }
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) == 0 else {
                throw Failure(description: "setrlimit back")
            }
            let failures = record.failures
            guard !failures.isEmpty else { throw Failure(description: "no send failed: the limit did not bite") }
            if let unclear = failures.first(where: { !$0.contains("EMFILE") }) {
                throw Failure(description: "a failed send that does not say EMFILE: \(unclear)")
            }
            for id in ids {
                let room = try await supervisor.child(id: id) { spec($0) }
                try await room.send(.post("\(id) after"))
                record.acknowledged(id, "\(id) after")
                let posts = try await room.state.posts
                guard record.holds(posts, for: id) else {
                    throw Failure(description: "\(id): \(posts) against \(record.summary(of: id))")
                }
            }
            await supervisor.shutdown()
        }
        let again = Supervisor(directory: directory, logger: quietLogger)
        try await again.run {
            for id in ids {
                let posts = try await again.child(id: id) { spec($0) }.state.posts
                guard record.holds(posts, for: id), posts.last == "\(id) after" else {
                    throw Failure(description: "after a restart, \(id): \(posts) against \(record.summary(of: id))")
                }
            }
            await again.shutdown()
        }
    }

    /// What the senders were told: per process, the posts acknowledged (in order) and those
    /// whose send failed.
    final class Records: @unchecked Sendable {
        // Safe: every field behind `lock`.
        private let lock = NSLock()
        private var acknowledgedPosts: [String: [String]] = [:]
        private var failedPosts: [String: Set<String>] = [:]
        private var failureDescriptions: [String] = []

        func acknowledged(_ id: String, _ text: String) {
            lock.withLock { acknowledgedPosts[id, default: []].append(text) }
        }

        func failed(_ id: String, _ text: String, _ error: any Error) {
            lock.withLock {
                failedPosts[id, default: []].insert(text)
                failureDescriptions.append(String(describing: error))
            }
        }

        var failures: [String] { lock.withLock { failureDescriptions } }

        func summary(of id: String) -> String {
            lock.withLock {
                "acknowledged \(acknowledgedPosts[id] ?? []), failed \((failedPosts[id] ?? []).sorted())"
            }
        }

        /// Whether `posts` (a state) holds every acknowledged post of `id` once, in order, and
        /// nothing else but posts whose send failed (a refused send may have been written).
        func holds(_ posts: [String], for id: String) -> Bool {
            lock.withLock {
                let acknowledged = acknowledgedPosts[id] ?? []
                let known = Set(acknowledged)
                let failed = failedPosts[id] ?? []
                return posts.filter { known.contains($0) } == acknowledged
                    && posts.allSatisfy { known.contains($0) || failed.contains($0) }
                    && Set(posts).count == posts.count
            }
        }
    }
}
