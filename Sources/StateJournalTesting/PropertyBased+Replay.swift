/// Property-based generation of message sequences, with shrinking to a
/// minimal failing sequence (swift-property-based): generate messages with
/// `Gen` and check each sequence with ``ReplayCheck/restartAndCompare(_:messages:restarts:)``.
///
/// ```swift
/// @Test func anySequenceReplays() async {
///     await propertyCheck(count: 50, input: Gen.int(in: -100...100).array(of: 0...40)) { values in
///         await #expect(throws: Never.self) {
///             try await ReplayCheck.restartAndCompare(ChildSpec(id: "c", process: Counter()), messages: values,
///                                                     restarts: .random(count: 4, seed: 1))
///         }
///     }
/// }
/// ```
@_exported public import enum PropertyBased.Gen
@_exported public import struct PropertyBased.Generator
@_exported public import func PropertyBased.propertyCheck
