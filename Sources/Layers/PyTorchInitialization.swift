// PyTorch's default initialization, for comparing a chapter with the lecture's gpt.py, which keeps these
// defaults. This project starts every weight as N(0, 0.02^2) (GPT-2's choice); PyTorch starts larger.
import TensorCore

public enum PyTorchInitialization {
    /// Overwrites `parameters` (named as in PyTorch) with what PyTorch's layers start from:
    ///   nn.Embedding (`*_embedding_table.weight`)   N(0, 1)
    ///   nn.Linear weight (out, in) and its bias     uniform in [-1/sqrt(in), 1/sqrt(in)]
    ///   nn.LayerNorm weight and bias                1 and 0
    /// Call it before training (it writes the values in place, wherever they live).
    public static func apply(to parameters: [(String, Tensor)], random: SeededRandom) {
        let shapes = Dictionary(parameters.map { ($0.0, $0.1.shape) }, uniquingKeysWith: { first, _ in first })
        for (name, tensor) in parameters {
            let layer = name.hasSuffix(".weight") ? String(name.dropLast(7)) : name.hasSuffix(".bias") ? String(name.dropLast(5)) : name
            let weightShape = shapes[layer + ".weight"] ?? tensor.shape
            let values: [Float]
            if name.contains("embedding_table") {
                values = (0..<tensor.count).map { _ in random.normal() }
            } else if weightShape.count == 2 {
                let bound = 1 / Float(weightShape[1]).squareRoot()   // fan-in: the weight's input width
                values = (0..<tensor.count).map { _ in (2 * random.uniform() - 1) * bound }
            } else {   // a LayerNorm's gain and bias
                values = [Float](repeating: name.hasSuffix(".weight") ? 1 : 0, count: tensor.count)
            }
            tensor.storage.copy(fromHost: values)
        }
    }
}
