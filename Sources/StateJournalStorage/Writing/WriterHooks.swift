/// Where a writer is in a snapshot, for tests that simulate a crash at each step.
package enum SnapshotStep: Sendable, CaseIterable {
    case snapshotTemporaryWritten
    case snapshotRenamed
    case compactedTemporaryWritten
    case compactedRenamed
}

/// Where a writer is in a discarding close, for crash tests.
package enum CloseStep: Sendable, CaseIterable {
    case markerWritten
    case markerSynced
    case snapshotRemoved
    case journalRemoved
}
