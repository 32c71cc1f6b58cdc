package import Foundation

/// Where SwiftPM put an executable product of this package, for tests that run it as a user
/// would: beside the running test binary, or under `.build/debug` of the package root.
package enum BuiltProducts {
    package static func url(of product: String, packageRoot: URL) -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(product)
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/\(product)")
    }

    /// The root of the package a test file at `file` belongs to (`Tests/<target>/<file>`).
    package static func packageRoot(of file: String) -> URL {
        var root = URL(fileURLWithPath: file)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root
    }
}
