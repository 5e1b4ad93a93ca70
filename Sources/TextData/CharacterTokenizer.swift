// The simplest tokenizer: every distinct character (Unicode scalar) of the training text is one token.
// Tiny Shakespeare has 65 of them, so the model predicts one of 65 classes at every position.

public struct CharacterTokenizer: Codable, Equatable, Sendable {
    /// The vocabulary, in sorted order: token id i is `characters[i]`.
    public let characters: [Character]
    private let ids: [Unicode.Scalar: Int]

    /// Builds the vocabulary from every distinct character of `text`, sorted by code point.
    /// Characters are Unicode scalars, so "\r\n" is two tokens and an accent can be its own token.
    public init(training text: String) {
        self.init(scalars: Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value })
    }

    /// A tokenizer with a given vocabulary (for example one read from a checkpoint).
    public init(vocabulary: [Character]) throws {
        var scalars: [Unicode.Scalar] = []
        for character in vocabulary {
            guard character.unicodeScalars.count == 1 else {
                throw TextDataError("vocabulary entry \(character.debugDescription) is not a single character")
            }
            scalars.append(character.unicodeScalars.first!)
        }
        guard Set(scalars).count == scalars.count else { throw TextDataError("vocabulary has a repeated character") }
        self.init(scalars: scalars)
    }

    private init(scalars: [Unicode.Scalar]) {
        characters = scalars.map { Character($0) }
        ids = Dictionary(uniqueKeysWithValues: scalars.enumerated().map { ($1, $0) })
    }

    public var vocabularySize: Int { characters.count }

    /// "hii" -> [46, 47, 47] for Tiny Shakespeare. Characters outside the vocabulary are refused, naming them.
    public func encode(_ text: String) throws -> [Int] {
        var tokens: [Int] = []
        tokens.reserveCapacity(text.unicodeScalars.count)
        var unknown: [Unicode.Scalar] = []
        for scalar in text.unicodeScalars {
            if let id = ids[scalar] { tokens.append(id) } else if !unknown.contains(scalar) { unknown.append(scalar) }
        }
        guard unknown.isEmpty else {
            let names = unknown.prefix(10).map { String($0).debugDescription }.joined(separator: ", ")
            throw TextDataError("text has \(unknown.count) character(s) not in the \(vocabularySize)-character vocabulary: \(names)")
        }
        return tokens
    }

    /// [46, 47, 47] -> "hii". Ids outside the vocabulary are a programming error.
    public func decode(_ tokens: [Int]) -> String {
        String(String.UnicodeScalarView(tokens.map { characters[$0].unicodeScalars.first! }))
    }

    enum CodingKeys: String, CodingKey { case characters }
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(vocabulary: try container.decode([String].self, forKey: .characters).map { string in
            guard string.count == 1 else { throw TextDataError("vocabulary entry \(string.debugDescription) is not one character") }
            return Character(string)
        })
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(characters.map(String.init), forKey: .characters)
    }
    public static func == (a: Self, b: Self) -> Bool { a.characters == b.characters }
}
