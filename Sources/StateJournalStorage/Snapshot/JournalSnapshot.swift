import CLZ4
import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// A snapshot: the state of a process after the message with `sequence`,
/// as opaque bytes. Stored beside the journal as `<journal>.snapshot`.
public struct JournalSnapshot: Sendable, Hashable {
    /// The state includes every message up to and including this sequence number.
    public var sequence: UInt64
    /// The encoded state.
    public var bytes: [UInt8]
    /// The process the snapshot belongs to.
    public var processID: String

    /// The state after message `sequence`, of process `processID`.
    public init(sequence: UInt64, bytes: [UInt8], processID: String) {
        self.sequence = sequence
        self.bytes = bytes
        self.processID = processID
    }

    /// Throws `sequenceGap` when the journal at `path`, whose header is
    /// `header`, starts after what `snapshot` covers: messages are missing.
    static func checkContinuity(_ header: JournalHeader, with snapshot: JournalSnapshot?, path: String)
        throws(JournalError)
    {
        let covered = snapshot?.sequence ?? 0
        guard header.baseSequence > covered + 1 else { return }
        throw JournalError(
            code: .sequenceGap,
            message: snapshot == nil
                ? "the journal starts at sequence \(header.baseSequence) but there is no snapshot for the messages before it"
                : "the journal starts at sequence \(header.baseSequence) but the snapshot covers only up to \(covered)",
            path: path, offset: 48, sequence: covered + 1)
    }

    /// The path of the snapshot of the journal at `journalPath`.
    public static func path(forJournal journalPath: String) -> String { journalPath + ".snapshot" }

    static let fixedSize = 56

    /// The file's bytes: header, CRC, then the state (LZ4 when it shrinks).
    func encoded(createdNanoseconds: UInt64) -> [UInt8] {
        var stored = bytes
        var codec = JournalCodec.none
        if bytes.count >= 64 {
            let bound = Int(LZ4_compressBound(Int32(bytes.count)))
            var out = [UInt8](repeating: 0, count: bound)
            let written = bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    LZ4_compress_default(
                        src.baseAddress!.assumingMemoryBound(to: CChar.self),
                        dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(src.count), Int32(bound))
                }
            }
            if written > 0 && Int(written) < bytes.count {
                out.removeLast(bound - Int(written))
                stored = out
                codec = .lz4
            }
        }
        let id = Array(processID.utf8)
        var file: [UInt8] = []
        file.reserveCapacity(Self.fixedSize + id.count + 4 + stored.count)
        file.append(contentsOf: JournalFormat.snapshotMagic)
        file.appendLE(JournalFormat.majorVersion)
        file.appendLE(JournalFormat.minorVersion)
        file.appendLE(UInt32(Self.fixedSize + id.count + 4))
        file.appendLE(sequence)
        file.appendLE(UInt64(stored.count))
        file.appendLE(UInt64(bytes.count))
        file.appendLE(CRC32C.checksum(bytes))
        file.append(codec.rawValue)
        file.append(0)
        file.appendLE(UInt16(id.count))
        file.appendLE(createdNanoseconds)
        file.append(contentsOf: id)
        file.appendLE(CRC32C.checksum(file))
        file.append(contentsOf: stored)
        return file
    }

    /// The sequence number and state size of the snapshot at `path`, from its header alone
    /// (its checksum checked, the state neither read nor decompressed): what `list` and
    /// `info` show, in constant memory whatever the state's size. Nil when there is none or
    /// its header is not valid.
    static func summary(at path: String) -> (sequence: UInt64, stateBytes: Int)? {
        guard let fd = try? Syscall.open(path, .readOnly) else { return nil }
        defer { Syscall.close(fd) }
        guard let status = try? Syscall.fstat(fd), status.isRegularFile else { return nil }
        let maximum = fixedSize + JournalFormat.maxProcessIDLength + 4
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maximum, alignment: 16)
        defer { buffer.deallocate() }
        guard let read = try? Syscall.preadFully(fd, into: buffer, at: 0), read >= fixedSize + 4 else { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: buffer[0..<read])
        guard (0..<8).allSatisfy({ raw[$0] == JournalFormat.snapshotMagic[$0] }) else { return nil }
        let headerLength = Int(raw.loadLE(UInt32.self, at: 12))
        guard headerLength >= fixedSize + 4, headerLength <= read else { return nil }
        let stored = raw.loadLE(UInt32.self, at: headerLength - 4)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(headerLength - 4)])) == stored else {
            return nil
        }
        let stateBytes = raw.loadLE(UInt64.self, at: 32)
        guard stateBytes <= UInt64(JournalFormat.maxSnapshotSize) else { return nil }
        return (raw.loadLE(UInt64.self, at: 16), Int(stateBytes))
    }

    /// Reads and checks the snapshot at `path`; nil when there is none.
    /// This call blocks on file I/O.
    public static func read(at path: String) throws(JournalError) -> JournalSnapshot? {
        let fd: Int32
        do {
            fd = try Syscall.open(path, .readOnly)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return nil }
            throw JournalError.system(error, path: path)
        }
        defer { Syscall.close(fd) }
        let size: Int64
        let status: Syscall.FileStatus
        do { status = try Syscall.fstat(fd) } catch { throw JournalError.system(error, path: path) }
        try JournalReader.requireRegularFile(status, path: path)
        size = status.size
        func bad(_ message: String, _ offset: Int64) -> JournalError {
            JournalError(code: .corruptSnapshot, message: message, path: path, offset: offset)
        }
        if size < Int64(fixedSize + 4) { throw bad("the snapshot file is cut short (\(size) bytes)", size) }
        if size > Int64(JournalFormat.maxSnapshotSize) * 2 {
            throw bad("the snapshot file is larger than the format allows", 0)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(size), alignment: 16)
        defer { buffer.deallocate() }
        let read: Int
        do {
            read = try Syscall.preadFully(fd, into: buffer, at: 0)
        } catch {
            throw JournalError.system(error, path: path)
        }
        if read != buffer.count { throw bad("the snapshot file shrank while read", Int64(read)) }
        return try decode(UnsafeRawBufferPointer(buffer), path: path)
    }

    static func decode(_ raw: UnsafeRawBufferPointer, path: String) throws(JournalError) -> JournalSnapshot {
        func bad(_ message: String, _ offset: Int64) -> JournalError {
            JournalError(code: .corruptSnapshot, message: message, path: path, offset: offset)
        }
        do {
            for i in 0..<8 where raw[i] != JournalFormat.snapshotMagic[i] {
                throw JournalError(
                    code: .notAJournal, message: "the file is not a snapshot (magic bytes differ)", path: path,
                    offset: Int64(i))
            }
            let major = raw.loadLE(UInt16.self, at: 8)
            if major > JournalFormat.majorVersion {
                throw JournalError(
                    code: .unsupportedVersion,
                    message:
                        "the snapshot has format major version \(major); this reader supports \(JournalFormat.majorVersion)",
                    path: path, offset: 8)
            }
            let headerLength = Int(raw.loadLE(UInt32.self, at: 12))
            let idLength = Int(raw.loadLE(UInt16.self, at: 46))
            guard headerLength >= fixedSize + idLength + 4, headerLength <= raw.count,
                idLength <= JournalFormat.maxProcessIDLength
            else {
                throw bad("the snapshot header lengths are inconsistent", 12)
            }
            let crc = raw.loadLE(UInt32.self, at: headerLength - 4)
            guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(headerLength - 4)])) else {
                throw bad("the snapshot header checksum does not match", Int64(headerLength - 4))
            }
            let sequence = raw.loadLE(UInt64.self, at: 16)
            let storedLength = Int(raw.loadLE(UInt64.self, at: 24))
            let rawLength = Int(raw.loadLE(UInt64.self, at: 32))
            let stateCRC = raw.loadLE(UInt32.self, at: 40)
            let codec = JournalCodec(rawValue: raw[44])
            guard storedLength == raw.count - headerLength, rawLength <= JournalFormat.maxSnapshotSize else {
                throw bad(
                    "the snapshot declares \(storedLength) stored bytes but the file holds \(raw.count - headerLength)",
                    Int64(headerLength))
            }
            guard
                let processID = String(
                    validating: UnsafeRawBufferPointer(rebasing: raw[fixedSize..<(fixedSize + idLength)]), as: UTF8.self
                )
            else {
                throw bad("the snapshot's process id is not UTF-8", Int64(fixedSize))
            }
            let stored = UnsafeRawBufferPointer(rebasing: raw[headerLength...])
            var state: [UInt8]
            switch codec {
            case .none:
                guard storedLength == rawLength else { throw bad("a raw snapshot's lengths differ", 24) }
                state = Array(stored)
            case .lz4:
                // An LZ4 block expands at most 255 times: a header claiming more is not believed,
                // and nothing that large is allocated for it (a 100-byte file claiming 1 GB).
                guard rawLength <= stored.count * 255 + 64 else {
                    throw bad(
                        "the snapshot claims \(rawLength) bytes of state from an LZ4 block of \(stored.count)", 32)
                }
                state = [UInt8](repeating: 0, count: rawLength)
                let decoded = state.withUnsafeMutableBytes { dst in
                    LZ4_decompress_safe(
                        stored.baseAddress!.assumingMemoryBound(to: CChar.self),
                        dst.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(stored.count), Int32(rawLength))
                }
                guard Int(decoded) == rawLength else {
                    throw bad("the snapshot's LZ4 block does not decode", Int64(headerLength))
                }
            default:
                throw JournalError(
                    code: .unsupportedFeature, message: "the snapshot uses codec \(codec.rawValue)", path: path,
                    offset: 44)
            }
            guard CRC32C.checksum(state) == stateCRC else {
                throw bad("the snapshot's state fails its checksum", Int64(headerLength))
            }
            return JournalSnapshot(sequence: sequence, bytes: state, processID: processID)
        }
    }
}
