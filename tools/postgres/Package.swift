// swift-tools-version:6.1
// StateJournalPostgres: a JournalStore that keeps journals in PostgreSQL, with epoch fencing.
// A package of its own, so that postgres-nio (and its TLS stack) never enters the core's build.
//
//     swift build --package-path tools/postgres
//     STATEJOURNAL_POSTGRES_URL=postgres://user@127.0.0.1:5432/db swift test --package-path tools/postgres
import PackageDescription

let package = Package(
    name: "StateJournalPostgres",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "StateJournalPostgres", targets: ["StateJournalPostgres"])
    ],
    dependencies: [
        .package(name: "StateJournal", path: "../.."),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "StateJournalPostgres",
            dependencies: [
                .product(name: "StateJournalStorage", package: "StateJournal"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Two OS processes ("nodes") on one database: a process moved from one to the other,
        // the fencing trials' child, and the store's figures.
        .executableTarget(
            name: "statejournal-postgres",
            dependencies: [
                "StateJournalPostgres",
                .product(name: "StateJournal", package: "StateJournal"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "StateJournalPostgresTests",
            dependencies: [
                "StateJournalPostgres",
                .product(name: "StateJournal", package: "StateJournal"),
                .product(name: "StateJournalTesting", package: "StateJournal"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
