// Chapter 06: the machinery under byte-pair encoding. Training merges the most frequent pair again and
// again; encoding replays the learned merges in order. Done plainly (PlainBytePairs.swift, minbpe's
// `get_stats` + `merge`), each merge rescans the whole text: 256 merges over 1.1 MB is 280 million steps. Here the text is a
// doubly linked list of tokens with an index from each adjacent pair to where it occurs, so a merge
// touches only the places where its pair is, and the pair counts are updated as it goes.

/// Two adjacent token ids: `first` then `second`.
public struct TokenPair: Hashable, Sendable, Codable {
    public var first: Int
    public var second: Int
    public init(_ first: Int, _ second: Int) { self.first = first; self.second = second }
}

/// Text as chunks of tokens that can be merged in place.
///
/// Every chunk is a linked list (positions index `tokens`, `previous` and `next`; -1 ends a list), so
/// merging the pair at position p into one token is O(1): p keeps the new token, and its right neighbour
/// is unlinked. `occurrences[pair]` lists positions where `pair` started at some point; entries go stale
/// as neighbours merge, so each is checked again when it is used.
struct MergeableChunks {
    private(set) var tokens: [Int32]          // the token at each position, -1 once merged into its left neighbour
    private var previous: [Int32]
    private var next: [Int32]
    private let weights: [Int32]              // how many times the chunk holding each position occurs in the text
    private let starts: [Int]                 // the first position of each chunk
    private var occurrences: [TokenPair: [Int32]] = [:]
    /// How many times each adjacent pair occurs in the text (weighted by chunk counts). Kept only when
    /// training asks for it.
    private(set) var pairCounts: [TokenPair: Int] = [:]
    private let countsPairs: Bool

    /// `chunks[i]` occurs `weights[i]` times in the text (all 1 when encoding).
    init<Chunks: Collection>(chunks: Chunks, weights chunkWeights: [Int]? = nil, countPairs: Bool)
    where Chunks.Element: Collection<UInt8> {
        var tokens: [Int32] = [], previous: [Int32] = [], next: [Int32] = [], weights: [Int32] = [], starts: [Int] = []
        for (index, chunk) in chunks.enumerated() {
            let start = tokens.count, weight = Int32(chunkWeights?[index] ?? 1)
            starts.append(start)
            for (offset, byte) in chunk.enumerated() {
                let position = start + offset
                tokens.append(Int32(byte))
                previous.append(offset == 0 ? -1 : Int32(position - 1))
                next.append(Int32(position + 1))
                weights.append(weight)
            }
            if tokens.count > start { next[tokens.count - 1] = -1 }
        }
        self.tokens = tokens; self.previous = previous; self.next = next; self.weights = weights; self.starts = starts
        countsPairs = countPairs
        for position in tokens.indices where next[position] >= 0 {
            record(TokenPair(Int(tokens[position]), Int(tokens[Int(next[position])])), at: position)
        }
    }

    private mutating func record(_ pair: TokenPair, at position: Int) {
        occurrences[pair, default: []].append(Int32(position))
        if countsPairs { pairCounts[pair, default: 0] += Int(weights[position]) }
    }

    private mutating func forget(_ pair: TokenPair, at position: Int) {
        guard countsPairs else { return }
        let remaining = pairCounts[pair, default: 0] - Int(weights[position])
        pairCounts[pair] = remaining > 0 ? remaining : nil
    }

    /// The pair to merge next when training: the most frequent, and among equally frequent pairs the
    /// smallest (lowest first id, then lowest second id). Nil when no pairs are left.
    ///
    ///     counts {(97, 98): 2, (256, 97): 2, (98, 100): 1}  ->  (97, 98)   (a tie at 2; 97 < 256)
    func mostFrequentPair() -> TokenPair? {
        var best: (pair: TokenPair, count: Int)? = nil
        for (pair, count) in pairCounts {
            guard let current = best else { best = (pair, count); continue }
            if count > current.count
                || (count == current.count && (pair.first, pair.second) < (current.pair.first, current.pair.second)) {
                best = (pair, count)
            }
        }
        return best?.pair
    }

    /// Replaces every occurrence of `pair` with `newToken`, left to right within each chunk, as a reader
    /// would by hand: (a, a) in "a a a" gives "Z a", not "a Z".
    ///
    ///     tokens [1, 2, 3, 1, 2], pair (1, 2), newToken 4  ->  [4, 3, 4]
    mutating func merge(_ pair: TokenPair, into newToken: Int) {
        guard var places = occurrences.removeValue(forKey: pair) else { return }
        places.sort()
        let first = Int32(pair.first), second = Int32(pair.second), merged = Int32(newToken)
        for place in places {
            let left = Int(place)
            guard tokens[left] == first else { continue }                          // stale: merged since
            let right = Int(next[left])
            guard right >= 0, tokens[right] == second else { continue }
            let before = Int(previous[left]), after = Int(next[right])
            // The pairs around this spot change: (x, a) (a, b) (b, y) become (x, Z) (Z, y).
            forget(pair, at: left)
            if before >= 0 { forget(TokenPair(Int(tokens[before]), pair.first), at: before) }
            if after >= 0 { forget(TokenPair(pair.second, Int(tokens[after])), at: right) }
            tokens[left] = merged
            tokens[right] = -1
            next[left] = Int32(after)
            if after >= 0 { previous[after] = Int32(left) }
            if before >= 0 { record(TokenPair(Int(tokens[before]), newToken), at: before) }
            if after >= 0 { record(TokenPair(newToken, Int(tokens[after])), at: left) }
        }
    }

    /// The tokens of chunk `index`, in order.
    func tokens(ofChunk index: Int) -> [Int] {
        var result: [Int] = []
        guard index < starts.count, starts[index] < tokens.count,
              index + 1 == starts.count || starts[index + 1] > starts[index] else { return result }
        var position = starts[index]
        while position >= 0 {
            result.append(Int(tokens[position]))
            position = Int(next[position])
        }
        return result
    }
}
