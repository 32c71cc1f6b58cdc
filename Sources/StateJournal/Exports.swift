// What `import StateJournal` brings besides the runtime: the types a user of journaled
// processes names (options, errors, stores, replays), and nothing of the file layer's
// internals. The file layer itself is the `StateJournalStorage` product.

@_exported public import struct StateJournalEncoding.CompactDecoder
// The compact encoding of the default codec, and the values schema evolution works on.
@_exported public import struct StateJournalEncoding.CompactEncoder
@_exported public import struct StateJournalEncoding.CompactFormatError
@_exported public import enum StateJournalEncoding.CompactValue
@_exported public import class StateJournalStorage.AppendTicket
@_exported public import struct StateJournalStorage.CompressionLevel
@_exported public import enum StateJournalStorage.Durability
@_exported public import struct StateJournalStorage.FileJournalStore
// Errors.
@_exported public import struct StateJournalStorage.JournalError
@_exported public import struct StateJournalStorage.JournalMessage
@_exported public import enum StateJournalStorage.JournalNaming
// Options and durability.
@_exported public import struct StateJournalStorage.JournalOptions
// Replay, as a store yields it.
@_exported public import struct StateJournalStorage.JournalReplay
@_exported public import protocol StateJournalStorage.JournalReplayCursor
@_exported public import struct StateJournalStorage.JournalSnapshot
// Stores: where journals are kept.
@_exported public import protocol StateJournalStorage.JournalStore
@_exported public import protocol StateJournalStorage.OwnedJournal
@_exported public import enum StateJournalStorage.RecoveryMode
@_exported public import struct StateJournalStorage.RecoveryReport
@_exported public import enum StateJournalStorage.ReplayElement
@_exported public import struct StateJournalStorage.StateDigest
@_exported public import struct StateJournalStorage.StoredJournal
@_exported public import enum StateJournalStorage.SyncMethod
@_exported public import struct StateJournalSystem.Errno
