import Foundation
import StateJournalStorage
import StateJournalSystem

/// Where output goes, and whether it may be coloured.
struct Terminal {
    let colorsOn: Bool
    let progressOn: Bool

    init(noColor: Bool) {
        let environment = ProcessInfo.processInfo.environment
        colorsOn =
            !noColor && Syscall.isTerminal(Syscall.standardOutput) && environment["NO_COLOR"] == nil
            && environment["TERM"] != "dumb"
        progressOn = Syscall.isTerminal(Syscall.standardError)
    }

    enum Color: String {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case dim = "2"
        case bold = "1"
    }

    func paint(_ text: String, _ color: Color) -> String {
        colorsOn ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    func verdict(_ verdict: JournalInspection.Verdict) -> String {
        switch verdict {
        case .clean: paint(verdict.rawValue, .green)
        case .cleanStopped: paint(verdict.rawValue, .blue)
        case .tornTail: paint(verdict.rawValue, .yellow)
        default: paint(verdict.rawValue, .red)
        }
    }
}
