import TensorCore

/// Random values away from 0 (so ReLU's kink never sits inside a finite-difference step).
func randomTensor(_ shape: [Int], _ random: SeededRandom, requiresGrad: Bool = true, awayFromZero: Bool = false) -> Tensor {
    let values = (0..<shape.reduce(1, *)).map { _ -> Float in
        let x = random.normal()
        return awayFromZero ? (x < 0 ? x - 0.1 : x + 0.1) : x
    }
    return Tensor(shape: shape, values: values, requiresGrad: requiresGrad)
}

func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    // A NaN anywhere is an infinite difference (max() would skip it, and a broken kernel would pass).
    let differences = zip(a, b).map { abs($0 - $1) }
    return differences.contains { $0.isNaN } ? .infinity : differences.max() ?? 0
}
