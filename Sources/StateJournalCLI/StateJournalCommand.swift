import ArgumentParser

@main
struct StateJournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statejournal",
        abstract: "Inspect, verify and repair StateJournal journals.",
        discussion: """
            Reading never takes a writer's lock: every command but `repair` works on a journal \
            being written. Exit codes: 0 success; 1 torn tail only (repairable); 2 corruption; \
            3 not a journal or an unsupported format version; 64 bad usage; 66 a file that \
            cannot be opened; 75 a live writer holds the journal (repair).
            """,
        subcommands: [List.self, Info.self, Dump.self, Tail.self, Verify.self, Stats.self, Repair.self, Export.self])
}
