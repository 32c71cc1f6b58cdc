import SwiftCompilerPlugin
public import SwiftSyntax
public import SwiftSyntaxMacros

/// Writes the `CompactCodable` conformance of a struct or enum: `encode(to:)` and
/// `init(from:)` over `CompactWriter` and `CompactReader`, in the layout of the synthesized
/// `Codable` conformance.
public struct CompactCodableMacro: ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax,
        attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol,
        conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        let access = accessPrefix(of: declaration.modifiers)
        try refuseCustomCoding(declaration.memberBlock)
        let body: String
        if let structDecl = declaration.as(StructDeclSyntax.self) {
            body = try structMembers(try storedProperties(of: structDecl.memberBlock), access: access)
        } else if let enumDecl = declaration.as(EnumDeclSyntax.self) {
            if let raw = rawType(of: enumDecl) {
                body = rawValueMembers(raw: raw, access: access)
            } else {
                body = try enumMembers(try cases(of: enumDecl), access: access)
            }
        } else {
            throw MacroFailure("@CompactCodable applies to a struct or an enum")
        }
        let text = "extension \(type.trimmedDescription): CompactCodable {\n\(body)\n}"
        let decl = DeclSyntax(stringLiteral: text)
        guard let extensionDecl = decl.as(ExtensionDeclSyntax.self) else {
            throw MacroFailure("@CompactCodable could not write its extension")
        }
        return [extensionDecl]
    }

    // MARK: What the type declares

    /// `public ` for a public or open type (its conformance's members must be public too).
    static func accessPrefix(of modifiers: DeclModifierListSyntax) -> String {
        for modifier in modifiers {
            switch modifier.name.tokenKind {
            case .keyword(.public), .keyword(.open): return "public "
            case .keyword(.package): return "package "
            default: continue
            }
        }
        return ""
    }

    /// The synthesized conformance is what the macro mirrors: a type that writes its own is refused.
    static func refuseCustomCoding(_ members: MemberBlockSyntax) throws {
        for member in members.members {
            let decl = member.decl
            if let nested = decl.as(EnumDeclSyntax.self), nested.name.text == "CodingKeys" {
                throw MacroFailure(
                    "@CompactCodable mirrors the synthesized Codable conformance; it cannot follow custom CodingKeys")
            }
            if let initializer = decl.as(InitializerDeclSyntax.self),
                initializer.signature.parameterClause.parameters.first?.firstName.text == "from"
            {
                throw MacroFailure(
                    "@CompactCodable mirrors the synthesized Codable conformance; it cannot follow a hand-written init(from:)"
                )
            }
            if let function = decl.as(FunctionDeclSyntax.self), function.name.text == "encode",
                function.signature.parameterClause.parameters.first?.firstName.text == "to"
            {
                throw MacroFailure(
                    "@CompactCodable mirrors the synthesized Codable conformance; it cannot follow a hand-written encode(to:)"
                )
            }
        }
    }

    struct Property {
        let name: String
        let type: String
    }

    /// The stored instance properties, in declaration order.
    static func storedProperties(of members: MemberBlockSyntax) throws -> [Property] {
        var result: [Property] = []
        for member in members.members {
            guard let variable = member.decl.as(VariableDeclSyntax.self) else { continue }
            if variable.modifiers.contains(where: {
                $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class)
            }) {
                continue
            }
            let bindings = Array(variable.bindings)
            for (index, binding) in bindings.enumerated() {
                if let accessors = binding.accessorBlock, isComputed(accessors) { continue }
                guard let pattern = binding.pattern.as(IdentifierPatternSyntax.self) else {
                    throw MacroFailure("@CompactCodable needs one name per stored property")
                }
                let name = pattern.identifier.text
                if !variable.attributes.isEmpty {
                    throw MacroFailure(
                        "@CompactCodable cannot mirror the property wrapper or attribute of '\(name)'")
                }
                if variable.modifiers.contains(where: { $0.name.tokenKind == .keyword(.lazy) }) {
                    throw MacroFailure("@CompactCodable cannot mirror the lazy property '\(name)'")
                }
                if variable.bindingSpecifier.tokenKind == .keyword(.let) && binding.initializer != nil {
                    throw MacroFailure(
                        "@CompactCodable: '\(name)' is a let with an initial value, which Codable encodes and never decodes; make it a var or drop its value"
                    )
                }
                // `var a, b: Int`: a binding without a type takes the next one's; `var a = false`
                // has the type of its literal.
                if let annotation = bindings[index...].lazy.compactMap({ $0.typeAnnotation }).first {
                    let type = annotation.type
                    result.append(Property(name: name, type: spelled(type)))
                } else if let value = binding.initializer?.value, let type = literalType(of: value) {
                    result.append(Property(name: name, type: type))
                } else {
                    throw MacroFailure("@CompactCodable needs the type of '\(name)' written out")
                }
            }
        }
        return result
    }

    /// The type Swift gives a literal without context: `Bool`, `Int`, `Double`, `String`.
    static func literalType(of expression: ExprSyntax) -> String? {
        if expression.is(BooleanLiteralExprSyntax.self) { return "Bool" }
        if expression.is(IntegerLiteralExprSyntax.self) { return "Int" }
        if expression.is(FloatLiteralExprSyntax.self) { return "Double" }
        if expression.is(StringLiteralExprSyntax.self) { return "String" }
        if let prefix = expression.as(PrefixOperatorExprSyntax.self), prefix.operator.text == "-" {
            return literalType(of: prefix.expression).flatMap { $0 == "Int" || $0 == "Double" ? $0 : nil }
        }
        return nil
    }

    /// A property with a getter (or a body) is computed; one with only observers is stored.
    static func isComputed(_ accessors: AccessorBlockSyntax) -> Bool {
        switch accessors.accessors {
        case .getter: return true
        case .accessors(let list):
            return list.contains {
                switch $0.accessorSpecifier.tokenKind {
                case .keyword(.willSet), .keyword(.didSet): return false
                default: return true
                }
            }
        }
    }

    /// The type as an expression can name it: `T!` becomes `T?` (the same type to `Codable`).
    static func spelled(_ type: TypeSyntax) -> String {
        if let implicit = type.as(ImplicitlyUnwrappedOptionalTypeSyntax.self) {
            return "\(implicit.wrappedType.trimmedDescription)?"
        }
        return type.trimmedDescription
    }

    /// The raw type of an enum declared `enum E: String` (or another literal type), if any.
    static func rawType(of decl: EnumDeclSyntax) -> String? {
        let rawTypes: Set<String> = [
            "String", "Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64",
            "Double", "Float", "Bool", "Character",
        ]
        guard let first = decl.inheritanceClause?.inheritedTypes.first?.type.trimmedDescription else { return nil }
        return rawTypes.contains(first) ? first : nil
    }

    struct Case {
        let name: String
        /// Each associated value's key (its label, or `_0`, `_1`…) and type.
        let values: [Property]
    }

    static func cases(of decl: EnumDeclSyntax) throws -> [Case] {
        var result: [Case] = []
        for member in decl.memberBlock.members {
            guard let caseDecl = member.decl.as(EnumCaseDeclSyntax.self) else { continue }
            for element in caseDecl.elements {
                var values: [Property] = []
                for (index, parameter) in (element.parameterClause?.parameters ?? []).enumerated() {
                    let label = parameter.firstName.map { $0.tokenKind == .wildcard ? nil : $0.text } ?? nil
                    values.append(Property(name: label ?? "_\(index)", type: spelled(parameter.type)))
                }
                result.append(Case(name: element.name.text, values: values))
            }
        }
        if result.isEmpty { throw MacroFailure("@CompactCodable needs an enum with at least one case") }
        return result
    }

    // MARK: What it writes

    /// A name as an identifier in generated code (backquoted: it may be a keyword).
    static func identifier(_ name: String) -> String {
        name.hasPrefix("`") ? name : "`\(name)`"
    }

    /// A key as a string literal (the name without backquotes, as `CodingKeys` spells it).
    static func key(_ name: String) -> String {
        let bare = name.hasPrefix("`") ? String(name.dropFirst().dropLast()) : name
        return "\"\(bare)\""
    }

    /// Writes an object's entries for `properties`, whose values are the expressions `value(p)`.
    /// The writer's overloads leave out a nil optional, by the value's type (a type alias of an
    /// optional too), as the synthesized conformance's `encodeIfPresent` does.
    static func writeEntries(_ properties: [Property], value: (Property) -> String, indent: String) -> String {
        properties.map { "\(indent)try writer.encode(\(value($0)), forKey: \(key($0.name)))" }
            .joined(separator: "\n")
    }

    /// Reads an object's entries for `properties` into `target(p)`; an optional's key may be
    /// missing, as with `decodeIfPresent`.
    static func readEntries(_ properties: [Property], target: (Property) -> String, indent: String) -> String {
        properties.map {
            "\(indent)\(target($0)) = try reader.decode((\($0.type)).self, forKey: \(key($0.name)))"
        }.joined(separator: "\n")
    }

    static func structMembers(_ properties: [Property], access: String) throws -> String {
        """
            \(access)func encode(to writer: inout CompactWriter) throws {
                writer.beginObject()
        \(writeEntries(properties, value: { "self.\(identifier($0.name))" }, indent: "        "))
                writer.endObject()
            }

            \(access)init(from reader: inout CompactReader) throws {
                try reader.beginObject()
        \(readEntries(properties, target: { "self.\(identifier($0.name))" }, indent: "        "))
                try reader.endObject()
            }
        """
    }

    static func rawValueMembers(raw: String, access: String) -> String {
        """
            \(access)func encode(to writer: inout CompactWriter) throws {
                try writer.encode(self.rawValue)
            }

            \(access)init(from reader: inout CompactReader) throws {
                let raw = try reader.decode((\(raw)).self)
                guard let value = Self(rawValue: raw) else { throw reader.mismatch("a raw value of a case") }
                self = value
            }
        """
    }

    static func enumMembers(_ cases: [Case], access: String) throws -> String {
        var encodeCases: [String] = []
        var decodeCases: [String] = []
        for (index, enumCase) in cases.enumerated() {
            let locals = enumCase.values.indices.map { "value\($0)" }
            let pattern = enumCase.values.isEmpty ? "" : "(" + locals.map { "let \($0)" }.joined(separator: ", ") + ")"
            let localOf = { (property: Property) -> String in
                locals[enumCase.values.firstIndex(where: { $0.name == property.name })!]
            }
            encodeCases.append(
                """
                        case .\(identifier(enumCase.name))\(pattern):
                            writer.key(\(key(enumCase.name)))
                            writer.beginObject()
                \(writeEntries(enumCase.values, value: localOf, indent: "            "))
                            writer.endObject()
                """)
            let declarations = zip(locals, enumCase.values).map { "let \($0.0): \($0.1.type)" }
            let arguments = zip(locals, enumCase.values).map { local, property in
                property.name.hasPrefix("_") && Int(property.name.dropFirst()) != nil
                    ? local : "\(property.name): \(local)"
            }
            let construct = enumCase.values.isEmpty ? "" : "(" + arguments.joined(separator: ", ") + ")"
            decodeCases.append(
                """
                        \(index == 0 ? "if" : "} else if") reader.nextKey(is: \(key(enumCase.name))) {
                            try reader.beginObject()
                \(declarations.map { "            \($0)" }.joined(separator: "\n"))
                \(readEntries(enumCase.values, target: localOf, indent: "            "))
                            try reader.endObject()
                            self = .\(identifier(enumCase.name))\(construct)
                """)
        }
        return """
                \(access)func encode(to writer: inout CompactWriter) throws {
                    writer.beginObject()
                    switch self {
            \(encodeCases.joined(separator: "\n"))
                    }
                    writer.endObject()
                }

                \(access)init(from reader: inout CompactReader) throws {
                    try reader.beginObject()
            \(decodeCases.joined(separator: "\n"))
                    } else {
                        throw reader.mismatch("a case of \\(Self.self)")
                    }
                    try reader.endObject()
                }
            """
    }
}

/// A refusal, shown by the compiler at the attribute.
struct MacroFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@main
struct StateJournalMacroPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [CompactCodableMacro.self]
}
