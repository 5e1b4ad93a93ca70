// Chapter 06's neighbour count (section 4): where a byte stays a token of its own, what stands beside it.

/// For every place the single-byte token `byte` stands alone in `tokens`, the token beside it: the one
/// before when `side` is -1, the one after when it is 1. Returns each neighbouring token with the number
/// of times the byte stood alone beside it.
func neighboursWhereAlone(_ byte: Int, in tokens: [Int], side: Int) -> [Int: Int] {
    var alone: [Int: Int] = [:]
    for i in 1..<max(tokens.count - 1, 1) where tokens[i] == byte { alone[tokens[i + side], default: 0] += 1 }
    return alone
}
