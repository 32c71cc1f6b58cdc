import Foundation
import StateJournal
import StateJournalStorage
import Testing

@Suite(.timeLimit(.minutes(10))) struct ProcessTests {
    @Test func sendAppliesAndJournalsThenNormalStopDiscards() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(ChildSpec(id: "room-1", process: ChatRoom(), options: fastOptions()))
            #expect(try await room.send(.join("ana")) == 1)
            #expect(try await room.send(.post("hello")) == 2)
            #expect(try await room.state == ChatRoom.State(members: ["ana"], posts: ["hello"]))
            #expect(directory.journals == ["room-1.journal"])
            try await room.stop()
            #expect(directory.journals.isEmpty, "a transient journal is discarded on a normal stop")
        }
    }

    @Test func concurrentSendersShareOneOrderThatReplayKeeps() async throws {
        let directory = TemporaryDirectory()
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let room = try await supervisor.start(
                    ChildSpec(id: "busy", process: ChatRoom(), options: fastOptions()))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for sender in 0..<32 {
                        group.addTask { for i in 0..<20 { try await room.send(.post("\(sender)-\(i)")) } }
                    }
                    try await group.waitForAll()
                }
                let live = try await room.state
                #expect(live.posts.count == 640)
                // A crash (poison) forces a replay from the journal: the same order comes back.
                await #expect(throws: ProcessError.self) { try await room.send(.poison) }
                #expect(try await room.state == live)
            }
        }
    }

    @Test func poisonMessageIsNotJournaledAndDoesNotLoop() async throws {
        let directory = TemporaryDirectory()
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(ChildSpec(id: "r", process: ChatRoom(), options: fastOptions()))
            try await room.send(.join("ana"))
            do {
                try await room.send(.poison)
                Issue.record("the poison message was accepted")
            } catch let error as ProcessError {
                #expect(error.code == .rejected)
                #expect(error.cause is Rejected)
                #expect(error.sequence == 2)
            }
            // The next send waits for the restart, which replays without the poison.
            #expect(try await room.send(.post("after")) == 2)
            #expect(try await room.state == ChatRoom.State(members: ["ana"], posts: ["after"]))
            let events = await supervisor.collect { $0.contains { $0.restartedID == "r" } }
            #expect(events.filter { $0.crashedID == "r" }.count == 1, "one crash, no loop")
        }
    }

    @Test func persistentRetentionKeepsStateAcrossNormalStops() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        for round in 0..<3 {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let counter = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: options))
                #expect(try await counter.state == round * 10)
                try await counter.send(10)
            }
        }
        #expect(directory.journals == ["c.journal"])
    }

    @Test func transientStateIsGoneAfterGracefulShutdownButBackAfterACrash() async throws {
        let directory = TemporaryDirectory()
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            let counter = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: fastOptions()))
            try await counter.send(5)
            try await counter.send(6)
            // No shutdown: the supervisor is dropped as a crashed program's would be.
        }
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let counter = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: fastOptions()))
                #expect(try await counter.state == 11, "a crash keeps the journal")
                #expect(await counter.lastReplay?.messages == 2)
            }
        }
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(ChildSpec(id: "c", process: Counter(), options: fastOptions()))
            #expect(try await counter.state == 0, "a graceful shutdown discards a transient journal")
        }
    }

    @Test(arguments: [Durability.buffered(within: .milliseconds(2)), .written, .synced])
    func everyDurabilityRoundTrips(durability: Durability) async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions(durability)
        options.retention = .persistent
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let counter = try await supervisor.start(ChildSpec(id: "d", process: Counter(), options: options))
                for i in 1...100 { try await counter.send(i) }
            }
        }
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(ChildSpec(id: "d", process: Counter(), options: options))
            #expect(try await counter.state == 5050)
        }
    }

    @Test func snapshotsGiveTheSameStateAsAFullReplay() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        options.snapshots = .every(messages: 25)
        var messages: [ChatRoom.Message] = []
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let room = try await supervisor.start(ChildSpec(id: "s", process: ChatRoom(), options: options))
                for i in 0..<110 {
                    let message: ChatRoom.Message = i % 10 == 0 ? .join("u\(i)") : .post("p\(i)")
                    try await room.send(message)
                    messages.append(message)
                }
                try await room.snapshot()
                try await room.send(.post("last"))
                messages.append(.post("last"))
            }
        }
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let room = try await supervisor.start(ChildSpec(id: "s", process: ChatRoom(), options: options))
            #expect(try await room.state == ChatRoom.fold(messages))
            let report = await room.lastReplay
            #expect(report?.snapshotSequence == 110)
            #expect(report?.messages == 1)
        }
    }

    @Test func replayFailureNamesTheSequenceOrQuarantinesTheRest() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let counter = try await supervisor.start(ChildSpec(id: "v", process: Counter(), options: options))
                for value in [1, 2, 13, 4, 5] { try await counter.send(value) }
            }
        }
        // New code rejects 13: the replay fails at sequence 3.
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            _ = try await supervisor.start(ChildSpec(id: "v", process: Counter(rejecting: 13), options: options))
            Issue.record("a failing replay started")
        } catch let error as SupervisorError {
            let cause = try #require(error.cause as? ProcessError)
            #expect(cause.code == .replayFailed)
            #expect(cause.sequence == 3)
            #expect(cause.journal?.hasSuffix("v.journal") == true)
        }
        // Quarantine: the state before it, the rest kept aside.
        options.replayFailure = .quarantine
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            let counter = try await supervisor.start(
                ChildSpec(id: "v", process: Counter(rejecting: 13), options: options))
            #expect(try await counter.state == 3)
            let files = await counter.quarantineFiles
            #expect(files.count == 1)
            let reader = try JournalReader(path: try #require(files.first))
            var quarantined: [UInt64] = []
            while let frame = try reader.nextFrame() { quarantined += frame.messages.map(\.sequence) }
            #expect(quarantined == [3, 4, 5])
            #expect(try await counter.send(7) == 3, "numbering continues where the kept messages end")
        }
    }

    @Test func determinismCheckCatchesAnApplyThatReadsTheClock() async throws {
        let directory = TemporaryDirectory()
        var options = fastOptions()
        options.retention = .persistent
        options.determinismCheckInterval = 1
        do {
            let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
            try await supervisor.run {
                let process = try await supervisor.start(
                    ChildSpec(id: "clock", process: ClockReader(), options: options))
                for i in 0..<3 { try await process.send(i) }
            }
        }
        try await Task.sleep(for: .milliseconds(5))
        let supervisor = Supervisor(directory: directory.path, logger: quietLogger)
        try await supervisor.run {
            do {
                _ = try await supervisor.start(ChildSpec(id: "clock", process: ClockReader(), options: options))
                Issue.record("a non-deterministic replay was accepted")
            } catch let error as SupervisorError {
                let cause = try #require(error.cause as? ProcessError)
                #expect(cause.code == .nondeterministic)
                #expect(cause.sequence == 1)
            }
            // A deterministic process with the same check replays fine.
            var counterOptions = options
            counterOptions.determinismCheckInterval = 2
            let counter = try await supervisor.start(
                ChildSpec(id: "counter", process: Counter(rejecting: 99), options: counterOptions))
            for i in 1...10 { try await counter.send(i) }
            // A crash: the restart replays and checks.
            await #expect(throws: ProcessError.self) { try await counter.send(99) }
            #expect(try await counter.state == 55)
            #expect(await counter.lastReplay?.digestsChecked == 5)
        }
    }
}
