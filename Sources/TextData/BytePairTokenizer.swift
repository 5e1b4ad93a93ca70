// Chapter 06 · Tokens: a byte-level byte-pair encoding (BPE) tokenizer, in the tradition of minbpe.
//
// Start from the 256 byte values, so any text at all can be encoded (emoji, Chinese, a stray control
// character): its UTF-8 bytes are tokens 0...255. Then repeatedly find the most frequent pair of adjacent
// tokens in the training text and give it a new id: 256, 257, ... until the vocabulary has the requested
// size. Each merge shortens the text; frequent words end up as single tokens.
//
// Ties: when several pairs are equally frequent, the one with the lowest (first, second) ids is merged, so
// the same text and vocabulary size always give the same merges, on any machine.
import FileFormats
import Foundation
import TensorCore

public struct BytePairTokenizer: Equatable, Sendable, Codable {
    /// The learned merges, in order: merges[i] made token 256 + i.
    public let merges: [TokenPair]
    /// How text was cut into chunks before merging (merges never cross chunks).
    public let preSplit: PreSplit
    /// The bytes each token stands for: 0...255 one byte each, then the two halves of each merge joined.
    public let tokenBytes: [[UInt8]]

    public var vocabularySize: Int { tokenBytes.count }

    /// The largest vocabulary (as `train` allows), and the most bytes all tokens together may spell.
    public static let maximumVocabularySize = 1 << 20
    public static let maximumSpelledBytes = 1 << 26

    /// A tokenizer from known merges (for example read from a checkpoint); refuses merges that refer to a
    /// token not yet made.
    public init(merges: [TokenPair], preSplit: PreSplit) throws {
        guard merges.count <= Self.maximumVocabularySize - 256 else {
            throw TextDataError("\(merges.count) merges is more than a vocabulary of \(Self.maximumVocabularySize) holds")
        }
        var tokenBytes = (0...255).map { [UInt8($0)] }
        var totalBytes = 256
        for (index, pair) in merges.enumerated() {
            let known = 256 + index
            guard (0..<known).contains(pair.first), (0..<known).contains(pair.second) else {
                throw TextDataError("merge \(index) joins (\(pair.first), \(pair.second)), but only tokens 0...\(known - 1) exist then")
            }
            // Each merge can double a token's length: 40 crafted merges would spell a terabyte.
            totalBytes += tokenBytes[pair.first].count + tokenBytes[pair.second].count
            guard totalBytes <= Self.maximumSpelledBytes else {
                throw TextDataError("merge \(index): the tokens spell more than \(Self.maximumSpelledBytes) bytes in all (crafted merges?)")
            }
            tokenBytes.append(tokenBytes[pair.first] + tokenBytes[pair.second])
        }
        self.merges = merges; self.preSplit = preSplit; self.tokenBytes = tokenBytes
    }

    // MARK: - Training

    /// Learns `vocabularySize - 256` merges from `text`.
    ///
    ///     train("aaabdaaabac", vocabularySize: 259)
    ///       merge 256 = (97 'a', 97 'a')    ->  [256, 97, 98, 100, 256, 97, 98, 97, 99]
    ///       merge 257 = (97 'a', 98 'b')    ->  [256, 257, 100, 256, 257, 97, 99]   (ties with (256, 97): lower wins)
    ///       merge 258 = (256, 257) 'aaab'   ->  [258, 100, 258, 97, 99]
    ///
    /// Stops early if the text runs out of pairs. `progress` hears about each merge as it is made.
    public static func train(on text: String, vocabularySize: Int, preSplit: PreSplit = .none,
                             progress: ((_ merge: TokenPair, _ newToken: Int, _ count: Int) -> Void)? = nil) throws -> BytePairTokenizer {
        guard vocabularySize >= 256 else {
            throw TextDataError("a byte-level vocabulary has at least 256 tokens, got \(vocabularySize)")
        }
        guard vocabularySize <= 1 << 20 else { throw TextDataError("vocabulary size \(vocabularySize) is too large (at most 1048576)") }
        // Each distinct chunk is merged once and counted as often as it occurs ("the" x 5,000 is one chunk).
        let bytes = Array(text.utf8)
        var chunkIndex: [ArraySlice<UInt8>: Int] = [:]
        var chunks: [ArraySlice<UInt8>] = [], weights: [Int] = []
        for range in preSplit.chunks(text) {
            let chunk = bytes[range]
            if let index = chunkIndex[chunk] { weights[index] += 1 } else {
                chunkIndex[chunk] = chunks.count
                chunks.append(chunk)
                weights.append(1)
            }
        }
        var pieces = MergeableChunks(chunks: chunks, weights: weights, countPairs: true)
        var merges: [TokenPair] = []
        for newToken in 256..<vocabularySize {
            guard let pair = pieces.mostFrequentPair() else { break }
            let count = pieces.pairCounts[pair] ?? 0
            pieces.merge(pair, into: newToken)
            merges.append(pair)
            progress?(pair, newToken, count)
        }
        return try BytePairTokenizer(merges: merges, preSplit: preSplit)
    }

    // MARK: - Encoding and decoding

    /// Text to token ids: its UTF-8 bytes, then every merge replayed in the order it was learned.
    /// (A merge can only create pairs whose merges were learned later, so one pass in order suffices.)
    ///
    ///     with the merges above:  encode("aaab")  ->  bytes [97, 97, 97, 98]  ->  [256, 97, 98]  ->  [256, 257]  ->  [258]
    public func encode(_ text: String) -> [Int] {
        let bytes = Array(text.utf8)
        let ranges = preSplit.chunks(text)
        // Distinct chunks are encoded once each, then the text is put back together from them.
        var chunkIndex: [ArraySlice<UInt8>: Int] = [:]
        var chunks: [ArraySlice<UInt8>] = [], order: [Int] = []
        order.reserveCapacity(ranges.count)
        for range in ranges {
            let chunk = bytes[range]
            if let index = chunkIndex[chunk] { order.append(index) } else {
                chunkIndex[chunk] = chunks.count
                order.append(chunks.count)
                chunks.append(chunk)
            }
        }
        var mergeable = MergeableChunks(chunks: chunks, countPairs: false)
        for (index, pair) in merges.enumerated() { mergeable.merge(pair, into: 256 + index) }
        let encodedChunks = chunks.indices.map { mergeable.tokens(ofChunk: $0) }
        var tokens: [Int] = []
        tokens.reserveCapacity(bytes.count)
        for index in order { tokens += encodedChunks[index] }
        return tokens
    }

    /// Token ids to text: their bytes joined, read as UTF-8. Any sequence of valid ids (0 ..< vocabularySize)
    /// decodes; bytes that are not valid UTF-8 (a model can sample half a character) become U+FFFD, as in
    /// minbpe's errors="replace".
    ///
    ///     decode([258])  ->  bytes [97, 97, 97, 98]  ->  "aaab"
    public func decode(_ tokens: [Int]) -> String {
        var bytes: [UInt8] = []
        for token in tokens { bytes += tokenBytes[token] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How a token looks, for printing: 'e ', '\n', or <e2><80> for bytes that are not whole characters.
    ///
    ///     display(101) -> 'e'      display(10) -> '\n'      display(226) -> '<e2>'
    public func display(_ token: Int) -> String {
        Self.display(bytes: tokenBytes[token])
    }

    static func display(bytes: [UInt8]) -> String {
        var result = "", index = 0
        while index < bytes.count {
            // A whole character starts here if its lead byte's length fits and the bytes decode.
            let width = UTF8StreamDecoder.sequenceLength(lead: bytes[index])
            if width > 0, index + width <= bytes.count,
               let piece = String(bytes: bytes[index..<(index + width)], encoding: .utf8), let scalar = piece.unicodeScalars.first {
                result += escape(scalar)
                index += width
            } else {
                result += String(format: "<%02x>", bytes[index])
                index += 1
            }
        }
        return "'" + result + "'"
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\t": return "\\t"
        case "\r": return "\\r"
        case "\u{FFFD}": return "<?>"
        default: return scalar.properties.generalCategory == .control ? String(format: "<%02x>", scalar.value) : String(scalar)
        }
    }

    // MARK: - Saving and loading

    /// Writes {"format": "nanogpt-swift-bpe", "version": 1, "preSplit": "none", "merges": [[97, 97], ...]}
    /// atomically: a crash mid-write leaves the old file whole.
    ///
    ///     the tokenizer of the training example  ->  {"format":"nanogpt-swift-bpe","merges":[[97,97],[97,98],[256,257]],
    ///                                                 "preSplit":"none","version":1}
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(SavedForm(self)), to: url)
    }

    /// Reads a file written by `save`, checking every merge (each may only join tokens that exist before it).
    ///
    ///     load(from: that file).encode("aaab")  ->  [258]
    ///     {"merges": [[97, 300]], ...}          ->  error: merge 0 joins (97, 300), but only tokens 0...255 exist then
    public static func load(from url: URL) throws -> BytePairTokenizer {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw TextDataError("cannot read \(url.path)") }
        do {
            guard case .bytePairs(let tokenizer) = try Tokenizer.read(json: data) else { throw TextDataError("not a BPE tokenizer file") }
            return tokenizer
        } catch let error as TextDataError {
            throw TextDataError("\(url.lastPathComponent): \(error.description)")
        }
    }

    /// The JSON form, used by `save` and inside checkpoints. Merges are [first, second] pairs.
    struct SavedForm: Codable {
        var format = "nanogpt-swift-bpe"
        var version = 1
        var preSplit: PreSplit
        var merges: [[Int]]

        init(_ tokenizer: BytePairTokenizer) {
            preSplit = tokenizer.preSplit
            merges = tokenizer.merges.map { [$0.first, $0.second] }
        }

        func tokenizer() throws -> BytePairTokenizer {
            guard format == "nanogpt-swift-bpe" else { throw TextDataError("format \(format.debugDescription) is not a BPE tokenizer") }
            guard version == 1 else { throw TextDataError("BPE tokenizer version \(version) is not supported (this build reads 1)") }
            let pairs = try merges.enumerated().map { index, merge -> TokenPair in
                guard merge.count == 2 else { throw TextDataError("merge \(index) has \(merge.count) ids, not 2") }
                return TokenPair(merge[0], merge[1])
            }
            return try BytePairTokenizer(merges: pairs, preSplit: preSplit)
        }
    }

    /// Codable through the JSON form: reading one checks every merge, as `init(merges:preSplit:)` does.
    public init(from decoder: Decoder) throws {
        self = try SavedForm(from: decoder).tokenizer()
    }
    public func encode(to encoder: Encoder) throws {
        try SavedForm(self).encode(to: encoder)
    }
}
