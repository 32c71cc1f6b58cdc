import Foundation
public import PostgresNIO

extension PostgresClient.Configuration {
    /// A configuration from a `postgres://user[:password]@host[:port]/database` URL, without TLS
    /// (for loopback and private networks; set ``tls`` for others). Nil when the URL is not one.
    public init?(url: String) {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, let user = components.user
        else { return nil }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.init(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: .disable)
    }
}
