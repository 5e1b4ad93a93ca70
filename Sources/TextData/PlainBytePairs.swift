// Chapter 06: byte-pair encoding the plain way, as minbpe writes it. Before every merge, recount every
// adjacent pair of the whole text; merge the most frequent one everywhere; repeat. Easy to check by eye,
// and the reference the tests hold the fast version (PairMerging.swift) to, but each merge rescans the
// whole text: 256 merges over Tiny Shakespeare's 1.1 MB would be 280 million steps.

/// Byte-pair encoding with a full recount before every merge (minbpe's `get_stats` and `merge`).
public enum PlainBytePairs {
    /// How often each adjacent pair occurs.
    ///
    ///     [1, 2, 3, 1, 2]  ->  {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    public static func pairCounts(_ ids: [Int], into counts: inout [TokenPair: Int]) {
        for (a, b) in zip(ids, ids.dropFirst()) { counts[TokenPair(a, b), default: 0] += 1 }
    }

    /// Every occurrence of `pair`, left to right, replaced by `newToken`.
    ///
    ///     [1, 2, 3, 1, 2], pair (1, 2), newToken 4  ->  [4, 3, 4]
    public static func merge(_ ids: [Int], _ pair: TokenPair, into newToken: Int) -> [Int] {
        var merged: [Int] = [], i = 0
        while i < ids.count {
            if i + 1 < ids.count, ids[i] == pair.first, ids[i + 1] == pair.second {
                merged.append(newToken)
                i += 2
            } else {
                merged.append(ids[i])
                i += 1
            }
        }
        return merged
    }

    /// Learns `vocabularySize - 256` merges: cut the text into chunks (`preSplit`; merges never cross
    /// them), start from their UTF-8 bytes, then again and again merge the most frequent pair (of equally
    /// frequent pairs, the smallest).
    public static func train(_ text: String, vocabularySize: Int, preSplit: PreSplit = .none) -> [TokenPair] {
        let bytes = Array(text.utf8)
        var chunks = preSplit.chunks(text).map { bytes[$0].map(Int.init) }
        var merges: [TokenPair] = []
        for newToken in 256..<max(256, vocabularySize) {
            var counts: [TokenPair: Int] = [:]
            for chunk in chunks { pairCounts(chunk, into: &counts) }               // a full recount, every time
            // The most frequent pair; `max(by:)` asks "is a below b?", and of two equally frequent pairs the
            // smaller one counts as above, so it is the one picked. In Python:
            // max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
            guard let (pair, _) = counts.max(by: { a, b in
                a.value != b.value ? a.value < b.value : (a.key.first, a.key.second) > (b.key.first, b.key.second)
            }) else { break }                                                      // no pairs left
            chunks = chunks.map { merge($0, pair, into: newToken) }
            merges.append(pair)
        }
        return merges
    }

    /// Text to token ids, as minbpe encodes: in each chunk, merge the present pair that was learned first,
    /// until no learned pair is left.
    public static func encode(_ text: String, merges: [TokenPair], preSplit: PreSplit = .none) -> [Int] {
        let rank = Dictionary(uniqueKeysWithValues: merges.enumerated().map { ($1, $0) })   // pair -> when it was learned
        let bytes = Array(text.utf8)
        return preSplit.chunks(text).flatMap { range -> [Int] in
            var ids = bytes[range].map(Int.init)
            while ids.count >= 2 {
                let pairs = zip(ids, ids.dropFirst()).map { TokenPair($0, $1) }
                guard let next = pairs.filter({ rank[$0] != nil }).min(by: { rank[$0]! < rank[$1]! }) else { break }
                ids = merge(ids, next, into: 256 + rank[next]!)
            }
            return ids
        }
    }
}
