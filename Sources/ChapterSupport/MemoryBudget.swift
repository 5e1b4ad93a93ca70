// Refusing sizes that cannot fit, before anything is allocated: `--embedding-size 1000000` or
// `--batch-size 1000000000` should end in one clear line, not in the operating system killing the process.
import ArgumentParser
import Foundation
import NanoGPT
import Training

public enum MemoryBudget {
    /// Roughly how many numbers one training step of that NanoGPT keeps for its backward: per position and
    /// layer about 22 C (LayerNorms, keys, queries, values, the feed-forward's 4C twice, residuals) and each
    /// head's row of attention weights, then the logits and their probabilities. An upper bound for the
    /// earlier chapters too.
    public static func nanoGPTActivations(batch b: Double, block t: Double, channels c: Double, heads h: Double,
                                          layers l: Double, vocabulary v: Double) -> Double {
        b * t * (l * (22 * c + h * t) + 3 * c + 2 * v)
    }

    /// Throws unless 24 bytes per parameter (value, gradient, AdamW's two moments, a spare copy) plus 8 bytes
    /// per activation (value and gradient) fit in this machine's physical memory.
    public static func check(parameters: Double, activations: Double) throws {
        let needed = parameters * 24 + activations * 8, available = Double(ProcessInfo.processInfo.physicalMemory)
        guard needed < available else {
            throw ValidationError(String(format: "these sizes need about %.3g GB (%.3g parameters, %.3g activations per step), "
                                         + "more than this machine's %.1f GB; use smaller sizes",
                                         needed / 1e9, parameters, activations, available / 1e9))
        }
    }
}

extension Hyperparameters {
    /// `MemoryBudget.check` for a NanoGPT of these sizes and vocabulary (chapters 02 to 06, nanogpt train).
    public func checkFitsInMemory(vocabularySize: Int) throws {
        let (v, b, t) = (Double(vocabularySize), Double(batchSize), Double(blockSize))
        let (c, h, l) = (Double(embeddingSize), Double(heads), Double(layers))
        // Every earlier chapter's model of the same sizes (one Head, MultiHead, Blocks) holds fewer parameters.
        try MemoryBudget.check(parameters: GPTConfig(self, vocabularySize: vocabularySize).parameterCount,
                               activations: MemoryBudget.nanoGPTActivations(batch: b, block: t, channels: c, heads: h,
                                                                             layers: l, vocabulary: v))
    }
}
