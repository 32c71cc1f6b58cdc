import StateJournalEncoding

/// How to start one child: the process, its journal's options and codecs.
public struct ChildSpec<P: JournaledProcess>: Sendable {
    /// The child's id: unique within its supervisor; it names the journal file.
    public var id: String
    /// The process: its initial state, `validate` and `apply`.
    public var process: P
    /// When the supervisor restarts the child.
    public var restart: RestartType
    /// Durability, retention, snapshots, timeouts.
    public var options: ProcessOptions
    /// How messages are encoded in the journal.
    public var messageCodec: AnyValueCodec<P.Message>
    /// Needed for snapshots and the determinism check.
    public var stateCodec: AnyValueCodec<P.State>?
    /// How long a normal stop may take before the child is stopped without grace.
    public var shutdownTimeout: Duration
    /// How values journaled by older versions of the types are read; nil: unversioned.
    public var schema: SchemaEvolution?

    /// The codecs the process uses: ``messageCodec`` and ``stateCodec``, versioned per ``schema``.
    func versionedCodecs() throws -> (message: AnyValueCodec<P.Message>, state: AnyValueCodec<P.State>?) {
        guard let schema else { return (messageCodec, stateCodec) }
        guard messageCodec.isCompactEncoding, stateCodec?.isCompactEncoding ?? true else {
            throw SchemaError(
                message: "schema evolution needs the compact encoding (CompactCodec) for messages and the state")
        }
        return (
            AnyValueCodec(VersionedCodec(inner: messageCodec, schema: schema, kind: .message)),
            stateCodec.map { AnyValueCodec(VersionedCodec(inner: $0, schema: schema, kind: .state)) }
        )
    }

    /// A child with explicit codecs (no state codec: no snapshots, no determinism check).
    public init<MessageCodec: ValueCodec>(
        id: String, process: P, restart: RestartType = .permanent, options: ProcessOptions = ProcessOptions(),
        messageCodec: MessageCodec, shutdownTimeout: Duration = .seconds(5)
    ) where MessageCodec.Value == P.Message {
        self.id = id
        self.process = process
        self.restart = restart
        self.options = options
        self.messageCodec = AnyValueCodec(messageCodec)
        self.stateCodec = nil
        self.shutdownTimeout = shutdownTimeout
    }

    /// A child with explicit codecs for its messages and its state.
    public init<MessageCodec: ValueCodec, StateCodec: ValueCodec>(
        id: String, process: P, restart: RestartType = .permanent, options: ProcessOptions = ProcessOptions(),
        messageCodec: MessageCodec, stateCodec: StateCodec, shutdownTimeout: Duration = .seconds(5)
    ) where MessageCodec.Value == P.Message, StateCodec.Value == P.State {
        self.id = id
        self.process = process
        self.restart = restart
        self.options = options
        self.messageCodec = AnyValueCodec(messageCodec)
        self.stateCodec = AnyValueCodec(stateCodec)
        self.shutdownTimeout = shutdownTimeout
    }
}

extension ChildSpec where P.Message: Codable {
    /// A child whose messages use the compact encoding (no snapshots: the state is not `Codable`).
    public init(
        id: String, process: P, restart: RestartType = .permanent, options: ProcessOptions = ProcessOptions(),
        shutdownTimeout: Duration = .seconds(5)
    ) {
        self.init(
            id: id, process: process, restart: restart, options: options, messageCodec: CompactCodec<P.Message>(),
            shutdownTimeout: shutdownTimeout)
    }
}

extension ChildSpec where P.Message: Codable, P.State: Codable {
    /// A child whose messages and state use the compact encoding.
    public init(
        id: String, process: P, restart: RestartType = .permanent, options: ProcessOptions = ProcessOptions(),
        shutdownTimeout: Duration = .seconds(5)
    ) {
        self.init(
            id: id, process: process, restart: restart, options: options, messageCodec: CompactCodec<P.Message>(),
            stateCodec: CompactCodec<P.State>(), shutdownTimeout: shutdownTimeout)
    }
}
