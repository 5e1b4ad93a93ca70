/// Everything that can be wrong with the text a user hands us, each with a one-line explanation.
public struct TextDataError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
