// Chapter 06: cutting text into chunks before byte-pair encoding, so that merges never cross them.
//
// Without it, BPE happily learns tokens like "d, " or "e t" that glue the end of one word to the start of
// the next. GPT-2 first cuts text with one regular expression and runs BPE inside each chunk:
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// in words: an English contraction; or an optional space and then a run of letters, or of digits, or of
// other symbols; or a run of whitespace (leaving its last space to start the next word). Swift's Regex can
// express this, but a hand-written scanner over Unicode scalars says the same thing, one rule per line, and
// is many times faster. Tests check it against the classic cases.

/// How text is cut into chunks before byte-pair encoding.
public enum PreSplit: String, Codable, Sendable, CaseIterable {
    /// No cutting: the whole text is one sequence of bytes, and merges may cross words (minbpe's BasicTokenizer).
    case none
    /// GPT-2's pattern: contractions, letters, digits, other symbols and whitespace never merge with each other.
    case gpt2

    /// The chunks of `text`, as ranges of its UTF-8 bytes, in order and covering every byte.
    ///
    ///     PreSplit.gpt2.chunks("I'm 42 ok!!")   ->  "I", "'m", " 42", " ok", "!!"
    public func chunks(_ text: String) -> [Range<Int>] {
        let count = text.utf8.count
        switch self {
        case .none: return count == 0 ? [] : [0..<count]
        case .gpt2: return GPT2Scanner(text).chunks()
        }
    }
}

/// GPT-2's pre-split pattern, as a scanner. Character classes are Unicode's: letters (\p{L}), numbers (\p{N}),
/// White_Space (\s), and everything else.
struct GPT2Scanner {
    enum Kind { case letter, number, space, other }

    let scalars: [Unicode.Scalar]
    /// offsets[i] = the UTF-8 offset where scalar i starts; offsets[scalars.count] = the byte count.
    let offsets: [Int]

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
        var offsets = [0]
        offsets.reserveCapacity(scalars.count + 1)
        for scalar in scalars { offsets.append(offsets.last! + UTF8.width(scalar)) }
        self.offsets = offsets
    }

    static func kind(_ scalar: Unicode.Scalar) -> Kind {
        if scalar.isASCII {   // the common case, without a Unicode table lookup
            let v = scalar.value
            if (v >= 65 && v <= 90) || (v >= 97 && v <= 122) { return .letter }
            if v >= 48 && v <= 57 { return .number }
            if v == 32 || (v >= 9 && v <= 13) { return .space }
            return .other
        }
        if scalar.properties.isWhitespace { return .space }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    func chunks() -> [Range<Int>] {
        let kinds = scalars.map(Self.kind)
        let n = scalars.count
        var result: [Range<Int>] = []
        var i = 0
        func take(_ end: Int) { result.append(offsets[i]..<offsets[end]); i = end }
        func runEnd(from start: Int, of kind: Kind) -> Int {
            var j = start
            while j < n && kinds[j] == kind { j += 1 }
            return j
        }
        while i < n {
            // 's 't 're 've 'm 'll 'd
            if scalars[i] == "'", i + 1 < n {
                let one = scalars[i + 1], two: Unicode.Scalar? = i + 2 < n ? scalars[i + 2] : nil
                if "stmd".unicodeScalars.contains(one) { take(i + 2); continue }
                if let two, (one == "r" && two == "e") || (one == "v" && two == "e") || (one == "l" && two == "l") {
                    take(i + 3); continue
                }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one space may lead a run of anything but whitespace.
            if scalars[i] == " ", i + 1 < n, kinds[i + 1] != .space {
                take(runEnd(from: i + 1, of: kinds[i + 1])); continue
            }
            if kinds[i] != .space { take(runEnd(from: i, of: kinds[i])); continue }
            // `\s+(?!\S)|\s+`: whitespace, minus its last character when a word follows (that character
            // then leads the word, if it is a plain space), unless the run is a single character.
            let end = runEnd(from: i, of: .space)
            take(end < n && end - i >= 2 ? end - 1 : end)
        }
        return result
    }
}
