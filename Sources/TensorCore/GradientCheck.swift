// Checking a gradient against the definition of a derivative.
//
// For a function f of the inputs, pick a random upstream gradient R of f's shape and look at the scalar
// L = sum(R * f). Autograd gives dL/dx for every input element at once. Central finite differences give
// the same thing one element at a time:  dL/dx ~ (L(x + eps) - L(x - eps)) / (2 eps).
// The two agree when |analytic - numeric| <= absoluteTolerance + relativeTolerance * |numeric|.

public struct GradientCheckResult: CustomStringConvertible {
    /// The largest |analytic - numeric| over all checked elements, and where it happened.
    public var maxAbsoluteError: Float
    public var worstInput: Int, worstElement: Int
    public var worstAnalytic: Float, worstNumeric: Float
    public var checkedElements: Int
    /// Elements outside the tolerance.
    public var failures: Int
    public var passed: Bool { failures == 0 }

    public var description: String {
        "\(checkedElements) elements checked, \(failures) outside tolerance; worst |analytic - numeric| = "
            + "\(maxAbsoluteError) (input \(worstInput), element \(worstElement): \(worstAnalytic) vs \(worstNumeric))"
    }
}

/// Compares autograd's gradient of `function` with respect to each of `inputs` with central differences.
/// `function` must recompute from the inputs' current values each time it is called (it is called twice
/// per element), and must be deterministic (reseed any dropout inside it).
public func gradientCheck(_ inputs: [Tensor], epsilon: Float = 1e-2, absoluteTolerance: Float = 1e-3,
                          relativeTolerance: Float = 1e-2, seed: UInt64 = 1337,
                          _ function: () -> Tensor) -> GradientCheckResult {
    inputs.forEach { $0.clearGrad() }
    let output = function()
    let random = SeededRandom(seed: seed)
    let upstream = (0..<output.count).map { _ in output.count == 1 ? 1 : random.normal() }
    output.backward(seed: upstream)
    let analytic = inputs.map { $0.gradValues ?? [Float](repeating: 0, count: $0.count) }

    func weightedOutput() -> Double {
        let values = function().values
        return zip(values, upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    var result = GradientCheckResult(maxAbsoluteError: 0, worstInput: 0, worstElement: 0, worstAnalytic: 0,
                                     worstNumeric: 0, checkedElements: 0, failures: 0)
    for (inputIndex, input) in inputs.enumerated() {
        for element in 0..<input.count {
            let original = input.storage[element]   // one-element host copies
            input.storage[element] = original + epsilon
            let plus = weightedOutput()
            input.storage[element] = original - epsilon
            let minus = weightedOutput()
            input.storage[element] = original
            let numeric = Float((plus - minus) / (2 * Double(epsilon)))
            let error = abs(analytic[inputIndex][element] - numeric)
            result.checkedElements += 1
            if error > absoluteTolerance + relativeTolerance * abs(numeric) { result.failures += 1 }
            if error >= result.maxAbsoluteError {
                result.maxAbsoluteError = error
                (result.worstInput, result.worstElement) = (inputIndex, element)
                (result.worstAnalytic, result.worstNumeric) = (analytic[inputIndex][element], numeric)
            }
        }
    }
    return result
}
