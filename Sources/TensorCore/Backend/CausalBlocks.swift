// The blocks a causal attention product is computed in, the same on every backend.
//
// Query i sees keys 0 ... offset + i (CausalMask). Cutting the query rows into blocks and multiplying each
// block only by the keys its last row can see skips most of the masked triangle, in a few large products
// instead of one per row. Both backends walk exactly these blocks, so they skip the same work.

/// The query rows of a causal product, cut into up to 4 blocks of at least 64 rows (a multiple of 8).
/// Block [r0, r1) sees keys 0..<r1, so 4 blocks compute 10 of 16 tiles: 62.5% of the full product. Smaller
/// blocks would skip more, but small products lose more to per-call overhead than they save (at T = 64,
/// two blocks of 32 were no faster than one product: `bench --configs S`).
///
///     causalRowBlocks(256)   // [0..<64, 64..<128, 128..<192, 192..<256]
///     causalRowBlocks(130)   // [0..<64, 64..<128, 128..<130]
///     causalRowBlocks(64)    // [0..<64]
public func causalRowBlocks(_ rows: Int) -> [Range<Int>] {
    let size = max(64, (rows / 4 + 7) / 8 * 8)
    return stride(from: 0, to: rows, by: size).map { $0..<min(rows, $0 + size) }
}

/// The query blocks of a causal product: rows `rows` are multiplied by keys 0 ..< `visible` (the forward
/// products and dQ). Without a mask, one block of every row against every key.
///
///     causalQueryBlocks(queries: 130, keys: 130, causal: CausalMask(queries: 130))
///     // [(0..<64, 64), (64..<128, 128), (128..<130, 130)]
public func causalQueryBlocks(queries m: Int, keys n: Int, causal: CausalMask?) -> [(rows: Range<Int>, visible: Int)] {
    guard let causal else { return [(0..<m, n)] }
    return causalRowBlocks(m).map { ($0, causal.offset + $0.upperBound) }
}

/// The key blocks of a causal product's backward (dK, dV): keys `keys` get gradient from queries
/// `firstQuery ..< m` only, the ones that can see the block's first key. `firstQuery == m`: none can (with
/// a cache offset), and the block's gradient is 0.
public func causalKeyBlocks(queries m: Int, keys n: Int, causal: CausalMask?) -> [(keys: Range<Int>, firstQuery: Int)] {
    guard let causal else { return [(0..<n, 0)] }
    return causalRowBlocks(n).map { ($0, Swift.min(m, Swift.max(0, $0.lowerBound - causal.offset))) }
}
