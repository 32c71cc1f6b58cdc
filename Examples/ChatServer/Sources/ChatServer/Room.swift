import StateJournal

/// A chat room: its members and its posts, in order. Every post is journaled before it is
/// acknowledged; a restart (after a crash or `kill -9`) replays the room's journal.
struct Room: JournaledProcess {
    struct Post: Codable, Sendable, Equatable {
        var user: String
        var text: String
    }

    struct State: Codable, Sendable {
        var members: Set<String> = []
        var posts: [Post] = []
    }

    enum Message: Codable, Sendable {
        case join(String)
        case post(Post)
    }

    /// Why a message is refused; the client gets `reason`.
    enum Refusal: Error {
        case alreadyMember
        case notMember
        case emptyPost
        case tooLong(Int)

        var reason: String {
            switch self {
            case .alreadyMember: "already a member"
            case .notMember: "join the room first"
            case .emptyPost: "a post needs some text"
            case .tooLong(let count): "a post holds at most \(Room.maxLength) characters, not \(count)"
            }
        }
    }

    static let maxLength = 500

    var initialState: State { State() }

    func validate(_ message: Message, against state: State) throws(Refusal) {
        switch message {
        case .join(let user):
            if state.members.contains(user) { throw .alreadyMember }
        case .post(let post):
            if !state.members.contains(post.user) { throw .notMember }
            if post.text.allSatisfy(\.isWhitespace) { throw .emptyPost }
            if post.text.count > Self.maxLength { throw .tooLong(post.text.count) }
        }
    }

    func apply(_ message: Message, to state: inout State) {
        switch message {
        case .join(let user): state.members.insert(user)
        case .post(let post): state.posts.append(post)
        }
    }
}
