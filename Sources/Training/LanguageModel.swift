// What every model in the chapters is, as far as training and sampling care: token ids in, one row of
// next-token logits per position out.
import TensorCore

public protocol LanguageModel: AnyObject {
    /// The longest context the model can look at (T at most this). The bigram looks at one token but
    /// accepts any length.
    var blockSize: Int { get }
    var vocabularySize: Int { get }
    /// Every trainable tensor, named as in the PyTorch state dict of the reference model.
    var namedParameters: [(String, Tensor)] { get }
    /// ids (B, T) -> logits (B, T, V). `training` switches dropout on.
    func logits(_ ids: [Int], batchSize: Int, length: Int, training: Bool) -> Tensor
    /// The arena the model keeps its parameters in, if it packs them itself (NanoGPT does); a Trainer
    /// adopts it instead of packing them a second time.
    var parameterArena: Parameters? { get }
}

extension LanguageModel {
    public var parameterArena: Parameters? { nil }
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.1.count } }
}
