import SwiftSyntax
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@testable import StateJournalMacroPlugin

/// What the macro writes, and what it refuses with a message (the behaviour is checked against
/// `Codable` in `CompactCodableTests`).
@Suite struct CompactCodableMacroTests {
    let macros = [
        "CompactCodable": MacroSpec(type: CompactCodableMacro.self, conformances: [TypeSyntax("CompactCodable")])
    ]

    func expand(_ source: String, _ expanded: String, diagnostics: [DiagnosticSpec] = [], line: UInt = #line) {
        assertMacroExpansion(
            source, expandedSource: expanded, diagnostics: diagnostics, macroSpecs: macros,
            failureHandler: { failure in
                Issue.record(
                    Comment(rawValue: failure.message),
                    sourceLocation: SourceLocation(
                        fileID: failure.location.fileID, filePath: failure.location.filePath,
                        line: failure.location.line, column: failure.location.column))
            }, line: line)
    }

    @Test func aPublicStructGetsPublicMembersInDeclarationOrder() {
        expand(
            """
            @CompactCodable
            public struct Posted: Codable {
                public var room: String
                var note: String?
                static var shared = 0
                var twice: Int { 2 }
            }
            """,
            """
            public struct Posted: Codable {
                public var room: String
                var note: String?
                static var shared = 0
                var twice: Int { 2 }
            }

            extension Posted: CompactCodable {
                public func encode(to writer: inout CompactWriter) throws {
                    writer.beginObject()
                    try writer.encode(self.`room`, forKey: "room")
                    try writer.encode(self.`note`, forKey: "note")
                    writer.endObject()
                }

                public init(from reader: inout CompactReader) throws {
                    try reader.beginObject()
                    self.`room` = try reader.decode((String).self, forKey: "room")
                    self.`note` = try reader.decode((String?).self, forKey: "note")
                    try reader.endObject()
                }
            }
            """)
    }

    @Test(arguments: [
        (
            "struct S: Codable {\n    var a: Int\n    enum CodingKeys: String, CodingKey {\n        case a = \"b\"\n    }\n}",
            "@CompactCodable mirrors the synthesized Codable conformance; it cannot follow custom CodingKeys"
        ),
        (
            "struct S: Codable {\n    let a: Int = 1\n}",
            "@CompactCodable: 'a' is a let with an initial value, which Codable encodes and never decodes; make it a var or drop its value"
        ),
        ("struct S: Codable {\n    var a = [1]\n}", "@CompactCodable needs the type of 'a' written out"),
        ("class C: Codable {\n    var a: Int = 1\n}", "@CompactCodable applies to a struct or an enum"),
        ("struct S: Codable {\n    lazy var a: Int = 1\n}", "@CompactCodable cannot mirror the lazy property 'a'"),
    ])
    func whatItCannotMirrorIsRefused(source: String, message: String) {
        let attributed = "@CompactCodable\n" + source
        expand(attributed, source, diagnostics: [DiagnosticSpec(message: message, line: 1, column: 1)])
    }
}
