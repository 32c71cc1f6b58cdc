import StateJournalSystem

/// Sequential buffered reading of a file at explicit offsets, with a bounded buffer.
final class FileWindow {
    let fd: Int32
    let path: String
    private var buffer: UnsafeMutableRawBufferPointer
    private var start: Int64 = 0
    private var count = 0
    private let baseCapacity: Int

    init(fd: Int32, path: String, capacity: Int = 1 << 20) {
        self.fd = fd
        self.path = path
        self.baseCapacity = capacity
        self.buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The `length` bytes at `offset`, valid until the next call. Returns fewer
    /// only at the end of the file.
    func bytes(at offset: Int64, count length: Int) throws(JournalError) -> UnsafeRawBufferPointer {
        if offset >= start, offset + Int64(length) <= start + Int64(count) {
            let from = Int(offset - start)
            return UnsafeRawBufferPointer(rebasing: buffer[from..<(from + length)])
        }
        if length > buffer.count {
            buffer.deallocate()
            buffer = .allocate(byteCount: length, alignment: 16)
        } else if buffer.count > baseCapacity && length <= baseCapacity {
            buffer.deallocate()
            buffer = .allocate(byteCount: baseCapacity, alignment: 16)
        }
        do {
            count = try Syscall.preadFully(fd, into: buffer, at: offset)
        } catch {
            count = 0
            throw JournalError.system(error, path: path)
        }
        start = offset
        return UnsafeRawBufferPointer(rebasing: buffer[0..<min(length, count)])
    }

    /// Exactly the `length` bytes at `offset`, or nil when the file holds fewer now (it was
    /// truncated while being read): callers treat that as the end of the file, never index
    /// past what was read.
    func exactly(at offset: Int64, count length: Int) throws(JournalError) -> UnsafeRawBufferPointer? {
        let bytes = try bytes(at: offset, count: length)
        return bytes.count == length ? bytes : nil
    }

    /// Forgets the buffered bytes (the file changed).
    func invalidate() { count = 0 }
}
