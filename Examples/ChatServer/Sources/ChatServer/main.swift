import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import StateJournal

/// `chat-server [--port N] [--directory DIR]`
///
/// WebSocket `ws://host:port/rooms/<room>?user=<name>`. The server sends JSON lines:
/// `{"type":"post","seq":N,"user":..,"text":..}` for every post of the room, from the first
/// (history, then live), `{"type":"ack","id":..,"seq":N}` when a post of this client is
/// durable, `{"type":"refused","id":..,"reason":..}` when the room refuses it. The client sends
/// `{"id":"..","text":".."}`.
///
/// Rooms are dynamic children of one supervisor, `.synced`: an acknowledged post survives
/// `kill -9` and a power cut. On start every room left on disk is recovered; on SIGTERM or
/// SIGINT every room stops normally and its (transient) journal is discarded.
var port = 8080
var directory = FileManager.default.temporaryDirectory.path + "/chat-server"
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = Int(arguments.next() ?? "") ?? port
    case "--directory": directory = arguments.next() ?? directory
    default:
        FileHandle.standardError.write(Data("usage: chat-server [--port N] [--directory DIR]\n".utf8))
        exit(64)
    }
}
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

let logger: Logger = {
    var logger = Logger(label: "chat-server")
    logger.logLevel = .info
    return logger
}()
let roomOptions = ProcessOptions(durability: .synced)
func roomSpec(_ id: String) -> ChildSpec<Room> {
    ChildSpec(id: id, process: Room(), restart: .transient, options: roomOptions)
}

let supervisor = Supervisor(
    directory: directory, name: "rooms", unclaimedJournals: .discardOnGracefulShutdown, logger: logger)

struct ClientPost: Decodable {
    var id: String
    var text: String
}

func json(_ object: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

let router = Router(context: BasicWebSocketRequestContext.self)
router.ws("/rooms/{room}") { request, _ in
    request.uri.queryParameters["user"] == nil ? .dontUpgrade : .upgrade()
} onUpgrade: { inbound, outbound, context in
    guard let roomID = context.requestContext.parameters.get("room"),
        let user = context.request.uri.queryParameters["user"].map(String.init)
    else { return }
    let room = try await supervisor.child(id: roomID, orStart: roomSpec)
    do {
        try await room.send(.join(user))
    } catch is Room.Refusal {
        // A member coming back.
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        // The room's posts, from the first: history from the journal, then live.
        group.addTask {
            for try await event in room.messages(from: 1) {
                switch event {
                case .message(let sequence, .post(let post)):
                    try await outbound.write(
                        .text(json(["type": "post", "seq": sequence, "user": post.user, "text": post.text])))
                case .message:
                    continue
                case .snapshot(let sequence, let state):
                    for (index, post) in state.posts.enumerated() {
                        try await outbound.write(
                            .text(
                                json([
                                    "type": "post", "seq": -1, "upTo": sequence, "index": index, "user": post.user,
                                    "text": post.text,
                                ])))
                    }
                }
            }
        }
        // The client's posts: each answered once durable, or refused.
        for try await message in inbound.messages(maxSize: 1 << 16) {
            guard case .text(let text) = message,
                let post = try? JSONDecoder().decode(ClientPost.self, from: Data(text.utf8))
            else { continue }
            do {
                let sequence = try await room.sendWithSequence(.post(Room.Post(user: user, text: post.text))) { _ in ()
                }.sequence
                try await outbound.write(.text(json(["type": "ack", "id": post.id, "seq": sequence])))
            } catch let refusal as Room.Refusal {
                try await outbound.write(.text(json(["type": "refused", "id": post.id, "reason": refusal.reason])))
            }
        }
        group.cancelAll()
    }
}

let app = Application(
    router: Router(),
    server: .http1WebSocketUpgrade(webSocketRouter: router),
    configuration: .init(address: .hostname("127.0.0.1", port: port)),
    logger: logger
)

/// Recovers the rooms left on disk by a crash, then runs until SIGTERM or SIGINT.
struct Recovery: Service {
    func run() async throws {
        let recovery = try await supervisor.recoverChildren(roomSpec)
        logger.info(
            "rooms recovered", metadata: ["rooms": "\(recovery.started.count)", "skipped": "\(recovery.skipped.count)"])
        try await gracefulShutdown()
    }
}

let services = ServiceGroup(
    configuration: .init(
        services: [.init(service: supervisor), .init(service: Recovery()), .init(service: app)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
try await services.run()
