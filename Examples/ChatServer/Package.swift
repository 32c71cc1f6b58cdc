// swift-tools-version:6.1
// A WebSocket chat server whose rooms are journaled processes: posts are validated (refusals go
// back to the client), acknowledged only once durable, and broadcast from each room's live
// subscription. A package of its own, so that Hummingbird stays out of the library's build.
//
//     swift run --package-path Examples/ChatServer chat-server --port 8080 --directory /tmp/chat
import PackageDescription

let package = Package(
    name: "chat-server",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "StateJournal", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "chat-server",
            dependencies: [
                .product(name: "StateJournal", package: "StateJournal"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ChatServer",
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
