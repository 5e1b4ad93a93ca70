// Chapter 05: the settings the full model trains with, shared by chapter 05, chapter 06 and
// `nanogpt train` (and, shortened, by chapter 05a).
import Training

extension Hyperparameters {
    /// The model and batch nanoGPT trains on a CPU (12 x 64 tokens, 4 layers of 4 heads, 128 wide), trained
    /// longer than its 2,000 iterations and at twice its peak rate, with its warmup and cosine decay. Each
    /// can be overridden by a flag of the same name (`--layers 6`, `--dropout 0.2`, ...).
    public static let nanoGPT = Hyperparameters(
        steps: 5000,            // optimizer steps
        batchSize: 12,          // B: sequences per step
        blockSize: 64,          // T: context length
        embeddingSize: 128,     // C: channels per position
        heads: 4,               // heads per block (head size 32)
        layers: 4,              // Blocks
        learningRate: 2e-3,     // peak learning rate, reached after the warmup...
        minLearningRate: 1e-4,  // ...then a cosine decay down to this by the last step
        warmupSteps: 100,
        weightDecay: 0.1,       // on matrices only
        gradientClip: 1,        // clip the global gradient norm at 1
        dropout: 0,             // the val loss still falls with the train loss to the end: no need yet
        seed: 1337,
        evalInterval: 500,      // estimate the loss every 500 steps...
        evalIters: 100,         // ...over 100 batches (77k characters) of each split
        maxNewTokens: 500)      // tokens sampled after training
}
