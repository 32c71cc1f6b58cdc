import Foundation
@_spi(JournalStores) import StateJournalStorage
import Testing

/// An acknowledgement's waiter may poll for it instead of suspending (a `.written` append): the
/// outcome must be the same either way, whoever completes the ticket and whenever.
@Suite struct AppendTicketTests {
    /// Completes `ticket` with `outcome` from a thread of its own after `microseconds`.
    private func complete(
        _ ticket: AppendTicket, with outcome: Result<ClosedRange<UInt64>, JournalError>, after microseconds: UInt32
    ) {
        Thread.detachNewThread {
            if microseconds > 0 { usleep(microseconds) }
            ticket.complete(outcome)
        }
    }

    @Test func aPollingWaiterGetsTheOutcomeCompletedOnAnotherThread() async throws {
        for round in 0..<300 {
            let ticket = AppendTicket(expectedWithinNanoseconds: 5_000_000_000)
            let range = UInt64(round + 1)...UInt64(round + 1 + round % 4)
            complete(ticket, with: .success(range), after: UInt32(round % 7 == 0 ? 0 : round % 40))
            #expect(try await ticket.value() == range)
            // Later waiters get the same outcome at once.
            #expect(try await ticket.value() == range)
        }
    }

    @Test func aPollingWaiterGetsAFailure() async throws {
        let failure = JournalError(code: .closed, message: "closed under the waiter", path: "/nowhere")
        for round in 0..<50 {
            let ticket = AppendTicket(expectedWithinNanoseconds: 5_000_000_000)
            complete(ticket, with: .failure(failure), after: UInt32(round % 10))
            let error = await #expect(throws: JournalError.self) { try await ticket.value() }
            #expect(error?.code == .closed)
            #expect(error?.message == "closed under the waiter")
        }
    }

    /// A poll that runs out suspends the waiter, which the completion then resumes; the waiters
    /// after it (which suspend at once for a while) are answered too.
    @Test func aWaiterWhosePollRunsOutIsResumedByTheCompletion() async throws {
        for round in 0..<20 {
            let ticket = AppendTicket(expectedWithinNanoseconds: 1_000)
            let range = UInt64(round + 1)...UInt64(round + 1)
            complete(ticket, with: .success(range), after: 5_000)
            #expect(try await ticket.value() == range)
        }
    }

    /// Waiters of one ticket — one may poll, the others suspend — all get its one outcome.
    @Test func concurrentWaitersOfOneTicketGetOneOutcome() async throws {
        for round in 0..<50 {
            let ticket = AppendTicket(expectedWithinNanoseconds: 200_000)
            let range = UInt64(round * 10 + 1)...UInt64(round * 10 + 10)
            let outcomes = try await withThrowingTaskGroup(of: ClosedRange<UInt64>.self) { group in
                for _ in 0..<8 { group.addTask { try await ticket.value() } }
                complete(ticket, with: .success(range), after: UInt32(round % 5) * 100)
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes == Array(repeating: range, count: 8))
        }
    }
}
