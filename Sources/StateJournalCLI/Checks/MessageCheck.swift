import StateJournalEncoding
import StateJournalStorage

/// Checks that messages are well-formed compact values.
///
/// In a journal whose header says its messages are compact (the runtime with its
/// default codec), every message must be one complete compact value. In any
/// other journal, only a message that starts with a compact object tag (`0x0B`,
/// or `0x09` of the first encoding) must be: JSON and text never start with
/// those bytes, and other codecs' bytes are not ours to judge.
struct MessageCheck {
    struct Findings {
        var checked: Int64 = 0
        var malformed: Int64 = 0
        /// The first malformed message: its sequence number and what is wrong.
        var first: (sequence: UInt64, error: CompactFormatError)?

        mutating func record(_ sequence: UInt64, _ error: CompactFormatError?) {
            checked += 1
            guard let error else { return }
            malformed += 1
            if first == nil { first = (sequence, error) }
        }
    }

    /// Every message checked.
    private var every = Findings()
    /// Only the messages that start with a compact object tag.
    private var tagged = Findings()

    mutating func check(sequence: UInt64, _ bytes: UnsafeRawBufferPointer) {
        var failure: CompactFormatError?
        do throws(CompactFormatError) { try CompactDecoder.validate(bytes) } catch { failure = error }
        every.record(sequence, failure)
        if bytes.first == CompactTag.objectStart || bytes.first == CompactTag.legacyObjectStart {
            tagged.record(sequence, failure)
        }
    }

    /// What counts for a journal with this header.
    func findings(for header: JournalHeader?) -> Findings {
        header?.messagesAreCompact == true ? every : tagged
    }

    /// One line for people, nil when there is nothing to say.
    func summary(for header: JournalHeader?) -> String? {
        let findings = findings(for: header)
        guard let first = findings.first else { return nil }
        return
            "\(plural(Int(findings.malformed), "message")) not well-formed compact values; first at sequence \(first.sequence): \(first.error)"
    }

    func jsonObject(for header: JournalHeader?) -> [String: Any] {
        let findings = findings(for: header)
        var object: [String: Any] = [
            "checked": findings.checked, "malformed": findings.malformed,
            "everyMessage": header?.messagesAreCompact == true,
        ]
        if let first = findings.first {
            object["first"] =
                ["sequence": first.sequence, "offset": first.error.offset, "reason": first.error.reason]
                as [String: Any]
        }
        return object
    }
}

extension JournalInspection {
    /// The exit status, with malformed messages counted as corruption.
    func exitStatus(with check: MessageCheck) -> Int32 {
        let code = StateJournalCLI.exitStatus(of: self)
        if check.findings(for: header).malformed > 0, code == Exit.ok || code == Exit.tornTail { return Exit.corrupt }
        return code
    }
}
