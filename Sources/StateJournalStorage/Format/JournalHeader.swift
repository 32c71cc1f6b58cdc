import StateJournalEncoding
@_spi(Bytes) import StateJournalSystem

/// The header at the start of every journal file.
public struct JournalHeader: Sendable, Hashable {
    /// The format's major version: a reader refuses a newer one.
    public var majorVersion: UInt16
    /// The format's minor version: additions an older reader may ignore.
    public var minorVersion: UInt16
    /// Total header length in bytes, including its trailing CRC.
    public var headerLength: Int
    /// Features a reader must know to read the file.
    public var incompatibleFlags: UInt32
    /// Features a reader may ignore.
    public var compatibleFlags: UInt32
    /// How frame payloads are compressed.
    public var codec: JournalCodec
    /// Random per file; seeds every frame CRC.
    public var salt: UInt64
    /// Creation time, nanoseconds since the Unix epoch.
    public var createdNanoseconds: UInt64
    /// The sequence number of the first message this file may hold.
    public var baseSequence: UInt64
    /// The id of the process the journal belongs to.
    public var processID: String

    /// A header of the current version.
    public init(processID: String, codec: JournalCodec, salt: UInt64, createdNanoseconds: UInt64, baseSequence: UInt64)
    {
        self.majorVersion = JournalFormat.majorVersion
        self.minorVersion = JournalFormat.minorVersion
        self.headerLength = JournalFormat.headerFixedSize + processID.utf8.count + 4
        self.incompatibleFlags = 0
        self.compatibleFlags = 0
        self.codec = codec
        self.salt = salt
        self.createdNanoseconds = createdNanoseconds
        self.baseSequence = baseSequence
        self.processID = processID
    }

    /// Every message is a compact-encoded value (compatible flag bit 0).
    public var messagesAreCompact: Bool {
        get { compatibleFlags & JournalFormat.compactMessagesFlag != 0 }
        set {
            compatibleFlags =
                newValue
                ? compatibleFlags | JournalFormat.compactMessagesFlag
                : compatibleFlags & ~JournalFormat.compactMessagesFlag
        }
    }

    /// The CRC seed of this file's frames.
    public var frameSeed: UInt32 { JournalFormat.frameSeed(salt: salt) }

    /// The header's bytes, CRC included.
    public func encoded() -> [UInt8] {
        let id = Array(processID.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(JournalFormat.headerFixedSize + id.count + 4)
        bytes.append(contentsOf: JournalFormat.magic)
        bytes.appendLE(majorVersion)
        bytes.appendLE(minorVersion)
        bytes.appendLE(UInt32(JournalFormat.headerFixedSize + id.count + 4))
        bytes.appendLE(incompatibleFlags)
        bytes.appendLE(compatibleFlags)
        bytes.append(codec.rawValue)
        bytes.append(0)
        bytes.appendLE(UInt16(id.count))
        bytes.appendLE(UInt32(0))
        bytes.appendLE(salt)
        bytes.appendLE(createdNanoseconds)
        bytes.appendLE(baseSequence)
        bytes.append(contentsOf: id)
        bytes.appendLE(CRC32C.checksum(bytes))
        return bytes
    }

    /// Decodes a header from the first bytes of a file.
    ///
    /// - Parameters:
    ///   - prefix: the file's first bytes (at least the header, or the whole file if shorter).
    ///   - fileSize: the file's size, to tell a truncated header from a short read.
    /// - Returns: the header, or nil with `needed` set when more bytes must be read.
    static func decode(
        _ prefix: UnsafeRawBufferPointer, path: String?
    ) throws(JournalError) -> (header: JournalHeader?, needed: Int) {
        if prefix.count == 0 {
            throw JournalError(
                code: .emptyFile, message: "the file is empty, it holds no journal header", path: path, offset: 0)
        }
        let magicCount = min(prefix.count, 8)
        for i in 0..<magicCount where prefix[i] != JournalFormat.magic[i] {
            throw JournalError(
                code: .notAJournal, message: "the file does not start with the journal magic bytes", path: path,
                offset: Int64(i))
        }
        if prefix.count < JournalFormat.headerFixedSize {
            return (nil, JournalFormat.headerFixedSize)
        }
        let major = prefix.loadLE(UInt16.self, at: 8)
        let minor = prefix.loadLE(UInt16.self, at: 10)
        let length = Int(prefix.loadLE(UInt32.self, at: 12))
        let idLength = Int(prefix.loadLE(UInt16.self, at: 26))
        if major > JournalFormat.majorVersion {
            throw JournalError(
                code: .unsupportedVersion,
                message:
                    "the journal has format version \(major).\(minor); this reader supports major version \(JournalFormat.majorVersion)",
                path: path, offset: 8)
        }
        if major == 0 {
            throw JournalError(
                code: .corruptHeader, message: "format major version 0 does not exist", path: path, offset: 8)
        }
        if idLength > JournalFormat.maxProcessIDLength
            || length < JournalFormat.headerFixedSize + idLength + 4
            || length > JournalFormat.headerFixedSize + JournalFormat.maxProcessIDLength + 4096
        {
            // Check the CRC first where we can: a flipped length bit is header corruption.
            throw JournalError(
                code: .corruptHeader,
                message:
                    "the header length fields are inconsistent (header length \(length), process id length \(idLength))",
                path: path, offset: 12)
        }
        if prefix.count < length {
            return (nil, length)
        }
        let stored = prefix.loadLE(UInt32.self, at: length - 4)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: prefix[0..<(length - 4)]))
        if stored != computed {
            throw JournalError(
                code: .corruptHeader,
                message: "the header checksum does not match (stored \(hex(stored)), computed \(hex(computed)))",
                path: path, offset: Int64(length - 4))
        }
        let incompatible = prefix.loadLE(UInt32.self, at: 16)
        let unknown = incompatible & ~JournalFormat.knownIncompatibleFlags
        if unknown != 0 {
            throw JournalError(
                code: .unsupportedFeature,
                message: "the journal uses incompatible feature flags \(hex(unknown)) this reader does not know",
                path: path, offset: 16)
        }
        let codec = JournalCodec(rawValue: prefix[24])
        if codec != .none && codec != .lz4 {
            throw JournalError(
                code: .unsupportedFeature,
                message: "the journal uses codec \(codec.rawValue), which this reader does not know", path: path,
                offset: 24)
        }
        guard
            let processID = String(
                validating: UnsafeRawBufferPointer(
                    rebasing: prefix[JournalFormat.headerFixedSize..<(JournalFormat.headerFixedSize + idLength)]),
                as: UTF8.self)
        else {
            throw JournalError(
                code: .corruptHeader, message: "the process id is not valid UTF-8", path: path,
                offset: Int64(JournalFormat.headerFixedSize))
        }
        var header = JournalHeader(
            processID: processID, codec: codec, salt: prefix.loadLE(at: 32),
            createdNanoseconds: prefix.loadLE(at: 40), baseSequence: prefix.loadLE(at: 48))
        header.majorVersion = major
        header.minorVersion = minor
        header.headerLength = length
        header.incompatibleFlags = incompatible
        header.compatibleFlags = prefix.loadLE(at: 20)
        if header.baseSequence == 0 {
            throw JournalError(
                code: .corruptHeader, message: "base sequence 0 is not valid (sequence numbers start at 1)", path: path,
                offset: 48)
        }
        return (header, length)
    }
}
