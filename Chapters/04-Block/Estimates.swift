// Section 5's estimates at the start: for each kind of stack, each block's output std, the last character's
// effect after each block, and the factor each block passes the gradient down, from the rules of thumb of
// section 5's table of rules. Nothing here runs a model.
import Foundation

/// The four stacks' numbers at the start, estimated. `keeps` names a plain stack (what it keeps); nil is the
/// Blocks, which keep both.
struct StartEstimates {
    let blockSize: Int, layers: Int, embeddingSize: Int, vocabularySize: Int

    /// A `Linear` with n inputs and weights N(0, 0.02^2) scales a size by 0.02 sqrt(n), forward and backward.
    func throughLinear(_ inputs: Int) -> Double { 0.02 * Double(inputs).squareRoot() }
    /// ReLU keeps the positive half: sqrt(1/2).
    let reLU = 0.5.squareRoot()
    /// The std of the embedding entering the first block: a token row plus a position row, each N(0, 0.02^2).
    let embeddingSpread = 2.0.squareRoot() * 0.02
    /// Attention's equal weights, forward, on rows that differ from position to position: position t averages
    /// t + 1 of them, shrinking them by sqrt(t + 1); over the T positions, sqrt(mean of 1/(t + 1)).
    var attentionAverage: Double {
        ((1...blockSize).reduce(0.0) { $0 + 1 / Double($1) } / Double(blockSize)).squareRoot()
    }
    /// A plain block's Linears and ReLU: value and projection, then the feed-forward's expand, ReLU, contract.
    var perPlainBlock: Double { throughLinear(embeddingSize) * throughLinear(embeddingSize) * feedForwardHalf }
    /// What each half of a Block adds, reading a unit-size input (LayerNorm's): value, average, projection;
    /// expand, ReLU, contract.
    var attentionHalf: Double { throughLinear(embeddingSize) * attentionAverage * throughLinear(embeddingSize) }
    var feedForwardHalf: Double { throughLinear(embeddingSize) * reLU * throughLinear(4 * embeddingSize) }

    /// Each block's output std, first block to last.
    func outputSpreads(keeps: PlainBlock.Keeps?) -> [Double] {
        switch keeps {
        case .nothing?:      // the averaging shrinks only in the first block; then the Linears and ReLU
            return (0..<layers).map { embeddingSpread * attentionAverage * pow(perPlainBlock, Double($0 + 1)) }
        case .layerNorm?:    // the feed-forward on a unit-size input, last
            return Array(repeating: feedForwardHalf, count: layers)
        case .residuals?:    // the embedding carried up; the halves add a few percent of it
            return Array(repeating: embeddingSpread, count: layers)
        case nil:            // each half adds its own fixed size, in a direction of its own: the squares add
            return (0..<layers).reduce(into: [Double]()) { spreads, _ in
                let x = spreads.last ?? embeddingSpread
                spreads.append((x * x + attentionHalf * attentionHalf + feedForwardHalf * feedForwardHalf).squareRoot())
            }
        }
    }

    /// The last character's effect after each block, first block to last.
    func lastCharacterEffects(keeps: PlainBlock.Keeps?) -> [Double] {
        switch keeps {
        case .nothing?, .layerNorm?:   // only attention carries it: 1/sqrt(T) after the first block, then / T a block
            return (0..<layers).map { 1 / Double(blockSize).squareRoot() / pow(Double(blockSize), Double($0)) }
        case .residuals?:              // the token row swapped, carried up whole
            return Array(repeating: 1, count: layers)
        case nil:                      // the embedding's change, plus what each feed-forward half moves; squares add
            // (the attention half moves it little: its average holds the changed row at weight 1/32)
            // Of ReLU's output, the part that moves with its input: for z ~ N(0, sigma^2), ReLU(z) has mean square
            // sigma^2 / 2 and mean sigma / sqrt(2 pi), so its variance is sigma^2 (1 - 1/pi) / 2: sqrt(1 - 1/pi)
            // of its size varies, the rest is the mean, the same at every position.
            let inputDependentShare = (1 - 1 / Double.pi).squareRoot()
            return outputSpreads(keeps: nil).reduce(into: (change: embeddingSpread, effects: [Double]())) { state, spread in
                let added = feedForwardHalf * inputDependentShare * (state.effects.last ?? 1)
                state.change = (state.change * state.change + added * added).squareRoot()
                state.effects.append(state.change / spread)
            }.effects
        }
    }

    /// The factor each block but the top one passes the gradient down (its input's gradient norm over its
    /// output's), first block to last but one.
    func gradientFactors(keeps: PlainBlock.Keeps?) -> [Double] {
        let inputSpreads = [embeddingSpread] + outputSpreads(keeps: keeps).dropLast()   // x's size entering each block
        let belowTheTop = inputSpreads.dropLast()
        switch keeps {
        case .nothing?:      // the Linears and ReLU; the average about 1 on a gradient gathered at the first positions
            return belowTheTop.map { _ in perPlainBlock }
        case .layerNorm?:    // the feed-forward, then the first LayerNorm's 1 / x's size; the second LayerNorm
                             // divides by just what the attention half multiplies by, so the two cancel
            return belowTheTop.map { feedForwardHalf / $0 }
        case .residuals?:    // `+` hands it down; the halves add a few hundredths
            return belowTheTop.map { _ in 1 }
        case nil:            // `+` hands it down, and each half adds its share, 1 / x's size times its forward factors
            return belowTheTop.map { spread in
                let (attentionShare, feedForwardShare) = (attentionHalf / spread, feedForwardHalf / spread)
                return (1 + attentionShare * attentionShare).squareRoot() * (1 + feedForwardShare * feedForwardShare).squareRoot()
            }
        }
    }
}
