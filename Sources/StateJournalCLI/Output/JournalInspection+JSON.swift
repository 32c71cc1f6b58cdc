import Foundation
import StateJournalStorage

extension JournalInspection {
    var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "path": path, "state": verdict.rawValue, "size": fileSize, "messages": messages, "frames": frames,
            "chains": chains, "modified": modified, "compressionRatio": (compressionRatio * 100).rounded() / 100,
        ]
        if let header {
            object["processID"] = header.processID
            object["version"] = "\(header.majorVersion).\(header.minorVersion)"
        }
        if let firstSequence { object["firstSequence"] = firstSequence }
        if let lastSequence { object["lastSequence"] = lastSequence }
        if let lockedBy { object["lockedBy"] = Int(lockedBy) }
        if let error {
            object["error"] = error.message
            if let offset = error.offset { object["offset"] = offset }
            if let sequence = error.sequence { object["sequence"] = sequence }
        }
        if let tornTail {
            object["tornTail"] = [
                "offset": tornTail.offset, "bytes": tornTail.length, "sequence": tornTail.sequence,
                "reason": tornTail.reason,
            ]
        }
        if let snapshot { object["snapshot"] = ["sequence": snapshot.sequence, "stateBytes": snapshot.stateBytes] }
        return object
    }

    /// The state shown by `list`: a live writer's lock takes precedence.
    var shownState: String {
        if let lockedBy { return lockedBy < 0 ? "locked (owned, idle)" : "locked (pid \(lockedBy))" }
        return verdict.rawValue
    }
}

func jsonLine(_ object: Any) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}
