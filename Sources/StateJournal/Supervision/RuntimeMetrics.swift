import Metrics

/// The runtime's swift-metrics instruments, labelled by supervisor.
struct RuntimeMetrics: Sendable {
    let appends: Counter
    let appendedBytes: Counter
    let rejected: Counter
    let refused: Counter
    let restarts: Counter
    let replayedMessages: Counter
    let replayDuration: Metrics.Timer
    let snapshots: Counter

    init(supervisor: String) {
        let dimensions = [("supervisor", supervisor)]
        appends = Counter(label: "statejournal_appends_total", dimensions: dimensions)
        appendedBytes = Counter(label: "statejournal_appended_bytes_total", dimensions: dimensions)
        rejected = Counter(label: "statejournal_rejected_messages_total", dimensions: dimensions)
        refused = Counter(label: "statejournal_refused_messages_total", dimensions: dimensions)
        restarts = Counter(label: "statejournal_restarts_total", dimensions: dimensions)
        replayedMessages = Counter(label: "statejournal_replayed_messages_total", dimensions: dimensions)
        replayDuration = Metrics.Timer(label: "statejournal_replay_duration", dimensions: dimensions)
        snapshots = Counter(label: "statejournal_snapshots_total", dimensions: dimensions)
    }
}
