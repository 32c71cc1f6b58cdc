// swift-tools-version:6.1
// StateJournal side by side with SQLite (GRDB, WAL) and append-only files, in one run.
// A package of its own, so that GRDB stays out of the library's dependencies.
//
//     swift run -c release --package-path tools/compare statejournal-compare [--quick] [--json FILE]
import PackageDescription

let package = Package(
    name: "statejournal-compare",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "StateJournal", path: "../.."),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // LZ4 and CRC figures for the physical limits, syncfs, malloc and resident-memory readings.
        .target(name: "CCompareSupport", linkerSettings: [.linkedLibrary("lz4")]),
        .executableTarget(
            name: "statejournal-compare",
            dependencies: [
                "CCompareSupport",
                .product(name: "StateJournal", package: "StateJournal"),
                .product(name: "StateJournalStorage", package: "StateJournal"),
                .product(name: "StateJournalTesting", package: "StateJournal"),
                .product(name: "StateJournalMacros", package: "StateJournal"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
