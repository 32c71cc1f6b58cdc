// swift-tools-version:6.1
import CompilerPluginSupport
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let testSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// Linux only: the file layer calls Glibc (syncfs, sync_file_range, OFD locks, fstatfs) and is
// measured and tested on Linux alone, so no other platform is declared.
let package = Package(
    name: "StateJournal",
    products: [
        .library(name: "StateJournal", targets: ["StateJournal"]),
        .library(name: "StateJournalStorage", targets: ["StateJournalStorage"]),
        .library(name: "StateJournalEncoding", targets: ["StateJournalEncoding"]),
        .library(name: "StateJournalTesting", targets: ["StateJournalTesting"]),
        // `@CompactCodable`: a product of its own, so that only its users build swift-syntax.
        .library(name: "StateJournalMacros", targets: ["StateJournalMacros"]),
        .executable(name: "statejournal", targets: ["StateJournalCLI"]),
    ],
    traits: [
        .trait(
            name: "FaultInjection",
            description:
                "Compiles the system-call fault injection of the test kit into release builds (debug builds always have it)."
        )
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax.git", "602.0.0"..<"604.0.0"),
    ],
    targets: [
        // liblz4 from the system (apt: liblz4-dev).
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        // CRC32C with the SSE4.2 instruction; the portable path is in Swift.
        .target(name: "CStateJournalCRC32C"),
        // Linux calls that Glibc hides behind _GNU_SOURCE (syncfs, flock, thread names).
        .target(name: "CStateJournalLinux"),
        // The only importer of Glibc: system calls with one retry-on-EINTR helper, typed errno,
        // fault injection (debug builds only), the I/O threads, locks and per-thread slots. Internal
        // to the package.
        .target(
            name: "StateJournalSystem",
            dependencies: ["CStateJournalLinux"],
            swiftSettings: strictSwift + [
                .define("STATEJOURNAL_FAULT_INJECTION", .when(configuration: .debug)),
                .define("STATEJOURNAL_FAULT_INJECTION", .when(traits: ["FaultInjection"])),
            ]
        ),
        // The compact Codable encoding of messages and states (the CLI renders with it).
        .target(
            name: "StateJournalEncoding",
            dependencies: ["StateJournalSystem"],
            swiftSettings: strictSwift
        ),
        // `@CompactCodable`, which writes a type's `CompactCodable` conformance, and its compiler plugin.
        .target(
            name: "StateJournalMacros",
            dependencies: ["StateJournalEncoding", "StateJournalMacroPlugin"],
            swiftSettings: strictSwift
        ),
        .macro(
            name: "StateJournalMacroPlugin",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "StateJournalMacrosTests",
            dependencies: [
                "StateJournalMacros", "StateJournalEncoding", "StateJournalMacroPlugin", "StateJournal",
                "StateJournalTesting", .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
            ],
            swiftSettings: testSwift
        ),
        // The journal file layer: format, compression, checksum, reading, writing, recovery, sync
        // rounds, snapshots, maintenance, and the store seam.
        .target(
            name: "StateJournalStorage",
            dependencies: [
                "CLZ4",
                "CStateJournalCRC32C",
                "StateJournalSystem",
                "StateJournalEncoding",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // The runtime: journaled processes and their supervisor.
        .target(
            name: "StateJournal",
            dependencies: [
                "StateJournalStorage",
                "StateJournalEncoding",
                "StateJournalSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "StateJournalTests",
            dependencies: [
                "StateJournal",
                "StateJournalStorage",
                "StateJournalTesting",
                "StateJournalEncoding",
                "StateJournalSystem",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: testSwift
        ),
        // Figures of the runtime (README, "Performance").
        .executableTarget(
            name: "statejournal-runtime-bench",
            dependencies: [
                "StateJournal", "StateJournalEncoding", "StateJournalStorage", "CBenchSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/runtime-bench",
            swiftSettings: testSwift
        ),
        // The crash campaign: kill -9 trials at random instants and named points.
        .executableTarget(
            name: "statejournal-crash-campaign",
            dependencies: [
                "StateJournal", "StateJournalStorage", "StateJournalTesting", "StateJournalSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "tools/crash-campaign",
            swiftSettings: testSwift
        ),
        // The demo: chat rooms that survive kill -9 (README: "Demo").
        .executableTarget(
            name: "statejournal-demo",
            dependencies: ["StateJournal", .product(name: "Logging", package: "swift-log")],
            path: "tools/demo",
            swiftSettings: testSwift
        ),
        // The test kit for users' replay-correctness tests.
        .target(
            name: "StateJournalTesting",
            dependencies: [
                "StateJournal", "StateJournalStorage", "StateJournalEncoding", "StateJournalSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "StateJournalTestingTests",
            dependencies: [
                "StateJournalTesting", "StateJournal", "StateJournalStorage", "StateJournalEncoding",
                "StateJournalSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: testSwift
        ),
        // The `statejournal` inspection CLI: depends on the file layer only.
        .executableTarget(
            name: "StateJournalCLI",
            dependencies: [
                "StateJournalStorage", "StateJournalEncoding", "StateJournalSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "StateJournalCLITests",
            dependencies: [
                "StateJournalStorage", "StateJournalEncoding", "StateJournalSystem", "StateJournalTesting",
                "StateJournalFixtureCatalog",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Expected"],
            swiftSettings: testSwift
        ),
        // The golden journals of fixtures/ and their generator.
        .target(
            name: "StateJournalFixtureCatalog",
            dependencies: ["StateJournalStorage", "StateJournalEncoding"],
            path: "tools/fixtures/Catalog",
            swiftSettings: testSwift
        ),
        .executableTarget(
            name: "statejournal-fixtures",
            dependencies: ["StateJournalFixtureCatalog"],
            path: "tools/fixtures/Generator",
            swiftSettings: testSwift
        ),
        // Figures of the file layer on this machine (see README, "Performance").
        .target(name: "CBenchSupport", path: "tools/storage-bench/CBenchSupport"),
        .executableTarget(
            name: "statejournal-storage-bench",
            dependencies: [
                "StateJournalStorage", "StateJournalEncoding", "StateJournalMacros", "StateJournalSystem", "CLZ4",
                "CBenchSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "tools/storage-bench/Bench",
            swiftSettings: testSwift
        ),
        .testTarget(
            name: "StateJournalStorageTests",
            dependencies: [
                "StateJournalStorage", "StateJournalEncoding", "StateJournalSystem", "StateJournalFixtureCatalog",
                "StateJournalTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: testSwift
        ),
    ]
)
