import StateJournal

/// The processes whose journals under `fixtures/encoding-v1/` were written by the
/// first compact encoding (object tag 0x09). Their shapes and the messages sent
/// must never change: the fixtures are frozen bytes of that encoding.
enum EncodingV1Fixture {
    /// A shopping cart with no key of 10 bytes anywhere: the first encoding read it back correctly.
    struct Cart: JournaledProcess {
        struct Line: Codable, Sendable, Hashable {
            var sku: String
            var qty: Int
            var price: Double?
        }

        struct State: Codable, Sendable, Equatable {
            var lines: [String: Line] = [:]
            var tags: [String] = []
            var total: Int64 = 0
            var notes: [Int: String] = [:]
            var coupon: String?
            var rates: [Float] = []
            var grid: [[Int]] = []
            var flags: [Bool] = []
        }

        enum Message: Codable, Sendable, Equatable {
            case add(Line)
            case remove(sku: String)
            case tag(String)
            case tags(Set<String>)
            case note(Int, String)
            case coupon(String?)
            case bulk([Line])
            case clear
            case rate(Float)
            case grid([[Int]])
            case flag(Bool, at: UInt8)
            case adjust(Int64)
        }

        var initialState: State { State() }

        func apply(_ message: Message, to state: inout State) throws {
            switch message {
            case .add(let line):
                state.lines[line.sku] = line
                state.total += Int64(line.qty)
            case .remove(let sku):
                if let line = state.lines.removeValue(forKey: sku) { state.total -= Int64(line.qty) }
            case .tag(let tag): state.tags.append(tag)
            case .tags(let tags): state.tags.append(contentsOf: tags.sorted())
            case .note(let key, let text): state.notes[key] = text
            case .coupon(let code): state.coupon = code
            case .bulk(let lines):
                for line in lines {
                    state.lines[line.sku] = line
                    state.total += Int64(line.qty)
                }
            case .clear:
                state.lines = [:]
                state.total = 0
            case .rate(let rate): state.rates.append(rate)
            case .grid(let grid): state.grid.append(contentsOf: grid)
            case .flag(let value, let at): state.flags.append(value || at > 100)
            case .adjust(let delta): state.total += delta
            }
        }

        static let processID = "cart-7"

        /// The messages sent, in order (all acknowledged).
        static let messages: [Message] = [
            .add(Line(sku: "sku-1", qty: 2, price: 9.99)),
            .add(Line(sku: "sku-22", qty: 1, price: nil)),
            .tag("gift"),
            .tags(["a", "bb", "ccc", "dddd"]),
            .note(3, "leave at door"),
            .note(-40, "π ≈ 3.14159 \u{1F6D2} and NUL\u{0}inside"),
            .coupon("SAVE5"),
            .coupon(nil),
            .bulk([Line(sku: "sku-3", qty: 300, price: 0.5), Line(sku: "sku-4", qty: 0, price: -0.0)]),
            .remove(sku: "sku-22"),
            .rate(1.5),
            .rate(-Float.greatestFiniteMagnitude),
            .grid([[1, 2, 3], [], [Int.max, Int.min]]),
            .flag(true, at: 7),
            .flag(false, at: 255),
            .adjust(-9_000_000_000),
            .add(Line(sku: "", qty: 127, price: 1e300)),
            .add(Line(sku: "sku-128", qty: 128, price: .infinity)),
            .clear,
            .add(Line(sku: "sku-last", qty: 5, price: 12.25)),
        ]
    }

    /// The report's checkout: a case `setAddress` (10 bytes), a field `totalCents` (10 bytes)
    /// and a dictionary keyed by "0123456789". The first encoding wrote these keys' length
    /// (0x0A) as its end-of-object tag: every message was acknowledged and none could be read back.
    struct Checkout: JournaledProcess {
        struct State: Codable, Sendable, Equatable {
            var totalCents: Int = 0
            var address: String = ""
            var counts: [String: Int] = [:]
        }

        enum Message: Codable, Sendable, Equatable {
            case setAddress(String)
            case add(cents: Int)
            case count([String: Int])
        }

        var initialState: State { State() }

        func apply(_ message: Message, to state: inout State) throws {
            switch message {
            case .setAddress(let address): state.address = address
            case .add(let cents): state.totalCents += cents
            case .count(let counts): state.counts.merge(counts) { $0 + $1 }
            }
        }

        static let processID = "checkout-1"

        static let messages: [Message] = [
            .add(cents: 1250),
            .setAddress("1 Infinite Loop"),
            .count(["0123456789": 2, "sku": 1]),
            .add(cents: -250),
            .count(["0123456789": 1]),
        ]
    }
}
