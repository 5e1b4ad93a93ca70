// The tokenizers a model can be trained with: one token per character (chapter 01) or byte-pair tokens
// (chapter 06). Models and checkpoints hold a `Tokenizer`, and do not care which kind it is.
import FileFormats
import Foundation
import TensorCore

public enum Tokenizer: Equatable, Sendable, Codable {
    case characters(CharacterTokenizer)
    case bytePairs(BytePairTokenizer)

    /// "char" or "bpe", as the --tokenizer flag spells them.
    public var kind: String {
        switch self {
        case .characters: return "char"
        case .bytePairs: return "bpe"
        }
    }

    public var vocabularySize: Int {
        switch self {
        case .characters(let tokenizer): return tokenizer.vocabularySize
        case .bytePairs(let tokenizer): return tokenizer.vocabularySize
        }
    }

    /// Text to token ids. Only the character tokenizer can fail (on a character it has never seen).
    public func encode(_ text: String) throws -> [Int] {
        switch self {
        case .characters(let tokenizer): return try tokenizer.encode(text)
        case .bytePairs(let tokenizer): return tokenizer.encode(text)
        }
    }

    public func decode(_ tokens: [Int]) -> String {
        switch self {
        case .characters(let tokenizer): return tokenizer.decode(tokens)
        case .bytePairs(let tokenizer): return tokenizer.decode(tokens)
        }
    }

    /// The one-token prompt that samples start from: id 0 for characters (the first character in sorted
    /// order, a newline in most texts), and the newline byte for byte pairs (their id 0 is the NUL byte).
    public var startToken: Int {
        switch self {
        case .characters: return 0
        case .bytePairs: return 10
        }
    }

    /// The UTF-8 bytes a token stands for: a whole character, or for BPE possibly a piece of one.
    public func bytes(of token: Int) -> [UInt8] {
        switch self {
        case .characters(let tokenizer): return Array(String(tokenizer.characters[token]).utf8)
        case .bytePairs(let tokenizer): return tokenizer.tokenBytes[token]
        }
    }

    /// How a token looks, for plot labels and printouts.
    public func display(_ token: Int) -> String {
        BytePairTokenizer.display(bytes: bytes(of: token))
    }

    /// "65 characters" or "512 byte-pair tokens (gpt2 pre-split)".
    public var summary: String {
        switch self {
        case .characters(let tokenizer): return "\(tokenizer.vocabularySize) characters"
        case .bytePairs(let tokenizer):
            return "\(tokenizer.vocabularySize) byte-pair tokens" + (tokenizer.preSplit == .none ? "" : " (\(tokenizer.preSplit.rawValue) pre-split)")
        }
    }

    /// For printing tokens as they are sampled: each `text(after:)` returns the text that token completes
    /// (what is new since the last call), never half a character.
    public func streamingDecoder() -> TokenTextDecoder { TokenTextDecoder(tokenizer: self) }

    // In files (a checkpoint's metadata): {"type": "char", "characters": ["\n", " ", ...]} or {"type": "bpe",
    // "preSplit": "none", "merges": [[101, 32], ...], ...}: the "type", then the tokenizer's own fields.
    enum CodingKeys: String, CodingKey { case type }

    public init(from decoder: Decoder) throws {
        let type = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .type)
        switch type {
        case "char": self = .characters(try CharacterTokenizer(from: decoder))
        case "bpe": self = .bytePairs(try BytePairTokenizer(from: decoder))
        default: throw TextDataError("tokenizer type \(type.debugDescription) is not supported (char or bpe)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .type)
        switch self {
        case .characters(let tokenizer): try tokenizer.encode(to: encoder)
        case .bytePairs(let tokenizer): try tokenizer.encode(to: encoder)
        }
    }
}

/// Decodes sampled tokens one at a time into printable text (see UTF8StreamDecoder).
///
///     var decoder = tokenizer.streamingDecoder()
///     for token in model.generateStream(...) { print(decoder.text(after: token), terminator: "") }
///     print(decoder.finish())
public struct TokenTextDecoder: Sendable {
    let tokenizer: Tokenizer
    var bytes = UTF8StreamDecoder()

    public mutating func text(after token: Int) -> String { bytes.append(tokenizer.bytes(of: token)) }
    public mutating func finish() -> String { bytes.finish() }
}

extension Tokenizer {
    /// Reads a tokenizer from untrusted JSON: a checkpoint's tokenizer ({"type": "char" or "bpe", ...}) or
    /// a byte-pair tokenizer file (BytePairTokenizer.save, no "type"). Parsed strictly (no key twice),
    /// every entry checked; any failure is one TextDataError line.
    public static func read(json data: Data) throws -> Tokenizer {
        do {
            let text = String(decoding: data, as: UTF8.self)
            let value = try JSONValue.parse(data)
            guard value.members != nil else { throw TextDataError("a tokenizer is a JSON object") }
            if value["type"] != nil { return try JSONValue.decode(Tokenizer.self, from: text) }
            return .bytePairs(try JSONValue.decode(BytePairTokenizer.self, from: text))
        } catch let error as JSONError { throw TextDataError("not a tokenizer: \(error.description)") }
    }

}
