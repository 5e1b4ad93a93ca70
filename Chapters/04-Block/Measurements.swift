// The chapter's measurements of a stack, fresh or as it trains: how large each block's output is, how much the
// top still depends on the last character, how large each block's gradient is (section 5), the loss at each
// position (section 4), and how alike the positions' outputs become as LayerNorm alone trains (section 6).
import Foundation
import TensorCore
import TextData
import Training

/// The standard deviation of all of a tensor's numbers.
func standardDeviation(_ x: Tensor) -> Float {
    let values = x.values, mean = values.reduce(0, +) / Float(values.count)
    return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)).squareRoot()
}

/// One batch through a stack: each block's output standard deviation; after each block, the relative change
/// of the last position when the last character changes, and of position 0 when the first character
/// changes; each block's gradient norm after one backward (the stack's gradients must be zero before: a
/// fresh stack's are). Blocks first to last.
func measure<Layer>(_ stack: BlockStackLanguageModel<Layer>, on batch: Batch)
    -> (outputSpread: [Float], lastCharacterEffects: [Float], firstCharacterEffects: [Float], gradientNorms: [Float]) {
    var x = stack.embedding(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize)   // (B, T, C)
    var spreads: [Float] = []
    for block in stack.blocks {
        x = block(x, training: false)                                                          // (B, T, C)
        spreads.append(standardDeviation(x))
    }
    crossEntropy(stack.languageModelHead(x), targets: batch.targets).backward()
    let norms = stack.blocks.map(\.namedParameters).map { parameters in
        parameters.reduce(Float(0)) { total, named in total + (named.1.gradValues ?? []).reduce(0) { $0 + $1 * $1 } }.squareRoot()
    }
    return (spreads, characterEffects(stack, on: batch, at: batch.blockSize - 1), characterEffects(stack, on: batch, at: 0), norms)
}

/// After each block, how much the output at `position` changes when every sequence's character there is
/// replaced by the next one in the vocabulary: |change| / |output| over that position of every sequence.
func characterEffects<Layer>(_ stack: BlockStackLanguageModel<Layer>, on batch: Batch, at position: Int) -> [Float] {
    let (b, t) = (batch.batchSize, batch.blockSize)
    var changed = batch.inputs
    for sequence in 0..<b { changed[sequence * t + position] = (changed[sequence * t + position] + 1) % stack.vocabularySize }
    return withoutGradients {
        var x = stack.embedding(batch.inputs, batchSize: b, length: t)                  // (B, T, C)
        var xChanged = stack.embedding(changed, batchSize: b, length: t)
        return stack.blocks.map { block in
            x = block(x, training: false)
            xChanged = block(xChanged, training: false)
            let (now, then, width) = (x.values, xChanged.values, x.shape[2])
            var squaredChange: Float = 0, squaredSize: Float = 0
            for sequence in 0..<b {
                for i in ((sequence * t + position) * width)..<((sequence * t + position + 1) * width) {
                    squaredChange += (now[i] - then[i]) * (now[i] - then[i])
                    squaredSize += now[i] * now[i]
                }
            }
            return (squaredChange / squaredSize).squareRoot()
        }
    }
}

/// The loss's gradient at each block's input (B, T, C), first block to last: what reaches the block from
/// above, as numbers. For each block, its input is copied into a leaf that records gradients, the blocks
/// from there up and the head run forward, and the loss's backward stops at that leaf. (The parameters'
/// gradients pile up meanwhile: use a stack whose gradients are not read afterwards.)
func inputGradients<Layer>(_ stack: BlockStackLanguageModel<Layer>, on batch: Batch) -> [[Float]] {
    let inputs: [Tensor] = withoutGradients {                                    // each block's input, (B, T, C)
        var x = stack.embedding(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize)
        var inputs: [Tensor] = []
        for block in stack.blocks {
            inputs.append(x)
            x = block(x, training: false)
        }
        return inputs
    }
    return inputs.indices.map { first in
        let leaf = Tensor(shape: inputs[first].shape, values: inputs[first].values, requiresGrad: true)
        var x = leaf
        for block in stack.blocks[first...] { x = block(x, training: false) }
        crossEntropy(stack.languageModelHead(x), targets: batch.targets).backward()
        return leaf.gradValues ?? []
    }
}

/// The norm of a tensor's numbers.
func norm(_ values: [Float]) -> Float { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }

/// The share of a gradient's square (B, T, C) that sits at its sequences' first position: 1/T when spread
/// evenly, 1 when all of it is there.
func firstPositionShare(_ g: [Float], sequences: Int, length: Int) -> Float {
    let width = g.count / (sequences * length)
    let first = (0..<sequences).reduce(Float(0)) { total, sequence in
        total + g[(sequence * length * width)..<((sequence * length + 1) * width)].reduce(0) { $0 + $1 * $1 }
    }
    return first / g.reduce(0) { $0 + $1 * $1 }
}

/// The mean cross-entropy at each position of the context (0 ..< T), over `batches` val batches drawn from
/// their own seeded stream: how much a stack has learned with 0, 1, ..., T - 1 characters before the one
/// it predicts. Inference mode.
func lossByPosition(_ model: some LanguageModel, dataset: TokenDataset, batchSize: Int, blockSize: Int,
                    batches: Int) -> [Double] {
    let random = SeededRandom(seed: 11)
    var totals = [Double](repeating: 0, count: blockSize)
    for _ in 0..<batches {
        let batch = dataset.batch(.val, batchSize: batchSize, blockSize: blockSize, random: random)
        let logits = withoutGradients { model.logits(batch.inputs, batchSize: batchSize, length: blockSize, training: false) }
        let values = logits.values, width = logits.shape[2]   // (B, T, V)
        for row in 0..<(batchSize * blockSize) {
            let scores = values[(row * width)..<((row + 1) * width)], largest = scores.max()!
            let logSum = log(scores.reduce(0.0) { $0 + exp(Double($1 - largest)) }) + Double(largest)
            totals[row % blockSize] += logSum - Double(scores[scores.startIndex + batch.targets[row]])
        }
    }
    return totals.map { $0 / Double(batches * batchSize) }
}

/// For each block of `stack`, how much its output (B, T, C) still differs from one position and sequence to
/// the next (`variationAcrossRows`). 1 or so for outputs that differ everywhere; near 0 when every position
/// gets the same vector.
func contextVariation<Layer>(_ stack: BlockStackLanguageModel<Layer>, on batch: Batch) -> [Float] {
    withoutGradients {
        var x = stack.embedding(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize)   // (B, T, C)
        return stack.blocks.map { block in
            x = block(x, training: false)
            return variationAcrossRows(x.values, width: x.shape[2])
        }
    }
}

/// How much rows of `width` numbers differ from their mean row: the root mean square of each row minus the
/// mean row, over the root mean square of the rows. 0 when every row is the same.
func variationAcrossRows(_ values: [Float], width: Int) -> Float {
    let mean = meanRow(values, width: width)
    var varying: Float = 0, total: Float = 0
    for (i, value) in values.enumerated() {
        varying += (value - mean[i % width]) * (value - mean[i % width])
        total += value * value
    }
    return (varying / total).squareRoot()
}

/// Each block's output (B, T, C) on `batch`, as numbers: first block to last. Inference mode.
func blockOutputs<Layer>(_ stack: BlockStackLanguageModel<Layer>, on batch: Batch) -> [[Float]] {
    withoutGradients {
        var x = stack.embedding(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize)   // (B, T, C)
        return stack.blocks.map { block in
            x = block(x, training: false)
            return x.values
        }
    }
}

/// For each block, how much of the change in its output between `start` and `now` (the same batch) is one
/// vector added at every position: the root mean square of the change's mean row, over the root mean square
/// of the change's rows. 1 when every position moved by the same vector; small when each moved its own way.
func sharedPartOfTheChange(_ now: [[Float]], since start: [[Float]], width: Int) -> [Float] {
    zip(now, start).map { now, start in
        let change = zip(now, start).map { $0 - $1 }, rows = change.count / width
        let meanRowSize = meanRow(change, width: width).reduce(0) { $0 + $1 * $1 }
        let rowSize = change.reduce(0) { $0 + $1 * $1 } / Float(rows)
        return (meanRowSize / rowSize).squareRoot()
    }
}

/// Section 6's step 1, measured on the vocabulary head's weight gradient, dW = sum over the batch's N
/// positions of g_i x_i^T (V x C: g_i the loss's gradient on position i's logits, x_i the top block's output
/// there). With m and xMean the mean rows of g and x, it splits exactly into the part every position
/// shares, N m xMean^T, and the rest, the sum of (g_i - m)(x_i - xMean)^T, each position's own target
/// against its own input. Returns the two parts' norms. Inference mode, one batch.
func splitOfTheHeadGradient<Layer>(_ stack: BlockStackLanguageModel<Layer>, on batch: Batch) -> (shared: Float, own: Float) {
    let x = withoutGradients {
        var x = stack.embedding(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize)   // (B, T, C)
        for block in stack.blocks { x = block(x, training: false) }
        return x
    }
    let logits = Tensor(shape: [batch.batchSize, batch.blockSize, stack.vocabularySize],
                        values: withoutGradients { stack.languageModelHead(x) }.values, requiresGrad: true)   // (B, T, V), a leaf
    crossEntropy(logits, targets: batch.targets).backward()
    let g = logits.gradValues ?? [], xs = x.values                       // (N, V), (N, C) as rows
    let (rows, V, C) = (batch.batchSize * batch.blockSize, stack.vocabularySize, x.shape[2])
    let (m, xMean) = (meanRow(g, width: V), meanRow(xs, width: C))
    let sharedNorm = Float(rows) * m.reduce(0) { $0 + $1 * $1 }.squareRoot() * xMean.reduce(0) { $0 + $1 * $1 }.squareRoot()
    var own = [Float](repeating: 0, count: V * C)                        // sum of (g_i - m)(x_i - xMean)^T
    for i in 0..<rows {
        for v in 0..<V {
            let gv = g[i * V + v] - m[v]
            for c in 0..<C { own[v * C + c] += gv * (xs[i * C + c] - xMean[c]) }
        }
    }
    return (sharedNorm, own.reduce(0) { $0 + $1 * $1 }.squareRoot())
}

/// For each block of a LayerNorm-only stack, the standard deviation of what each of its two LayerNorms reads:
/// the block's input x, and the attention half's output. Each LayerNorm divides by that size forward, and the
/// gradient by it backward. Inference mode.
func layerNormInputSpreads(_ stack: BlockStackLanguageModel<PlainBlock>, on batch: Batch) -> (first: [Float], second: [Float]) {
    withoutGradients {
        var x = stack.embedding(batch.inputs, batchSize: batch.batchSize, length: batch.blockSize)   // (B, T, C)
        var first: [Float] = [], second: [Float] = []
        for block in stack.blocks {
            let attended = block.attention(block.norm1.map { $0(x) } ?? x, training: false)        // (B, T, C)
            first.append(standardDeviation(x))
            second.append(standardDeviation(attended))
            x = block(x, training: false)
        }
        return (first, second)
    }
}

/// Section 6, where the shared vector lives: for each block of a LayerNorm-only stack, the root mean square
/// of its output's mean row over the batch's positions (the vector every position shares), and of its
/// feed-forward's last bias (a vector the block adds at every position, whatever the input). Also the
/// vocabulary head's bias, which could hold the characters' frequencies alone. Inference mode.
func sharedVectorsAndBiases(_ stack: BlockStackLanguageModel<PlainBlock>, on batch: Batch, width: Int)
    -> (shared: [Float], bias: [Float], headBias: Float) {
    func rootMeanSquare(_ v: [Float]) -> Float { (v.reduce(0) { $0 + $1 * $1 } / Float(v.count)).squareRoot() }
    let shared = blockOutputs(stack, on: batch).map { rootMeanSquare(meanRow($0, width: width)) }   // each (B, T, C) as rows of C
    let bias = stack.blocks.map { rootMeanSquare($0.feedForward.contract.bias?.values ?? []) }
    return (shared, bias, rootMeanSquare(stack.languageModelHead.bias?.values ?? []))
}

/// The mean of `values` taken as rows of `width` numbers: one row, the average of all of them.
func meanRow(_ values: [Float], width: Int) -> [Float] {
    let rows = values.count / width
    return (0..<width).map { j in stride(from: j, to: values.count, by: width).reduce(0) { $0 + values[$1] } / Float(rows) }
}
