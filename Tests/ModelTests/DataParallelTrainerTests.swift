import NanoGPT
import TensorCore
import Testing
import TextData
import Training

/// One process of a run of two, without MPI: its partner is taken to hold the same numbers, so a sum comes
/// back twice this process's and an average leaves the gradient as it is. It counts the all-reduces.
private final class OneOfTwo: ProcessGroup {
    let rank: Int, size = 2
    var averages = 0
    init(rank: Int) { self.rank = rank }
    func average(_ storage: Storage) { averages += 1 }
    func sum(_ values: [Double]) -> [Double] { values.map { 2 * $0 } }
    func range(_ value: Double) -> ClosedRange<Double> { value...value }
}

@Suite("DataParallelTrainer: each process its own slice (chapter 07)")
struct DataParallelTrainerTests {
    let settings = Hyperparameters(steps: 1, batchSize: 4, blockSize: 6, embeddingSize: 8, heads: 2, layers: 1,
                                   learningRate: 1e-3, evalInterval: 1, evalIters: 2)
    let dataset = try! TokenDataset(tokens: (0..<400).map { ($0 * 7 + $0 / 5) % 11 }, blockSize: 6)
    func model() -> NanoGPT { NanoGPT(GPTConfig(settings, vocabularySize: 11), seed: 5) }
    /// The first training batch every trainer of these settings draws.
    var firstBatch: Batch {
        dataset.batch(.train, batchSize: settings.batchSize, blockSize: settings.blockSize,
                      random: SeededRandom(seed: settings.seed, stream: .batches))
    }

    /// Process r of 2 computes the loss of sequences 2r and 2r + 1 only, and averages the gradient once a step.
    @Test func eachProcessComputesItsSliceAndAveragesOnce() throws {
        let plain = Trainer(model: model(), dataset: dataset, hyperparameters: settings)
        let halves = withoutGradients {
            [0..<2, 2..<4].map { plain.loss(on: firstBatch.sequences($0), training: false).scalar }
        }
        let whole = withoutGradients { plain.loss(on: firstBatch, training: false).scalar }
        #expect(abs(halves[0] - halves[1]) > 1e-4, "the two halves should differ, or this test proves nothing")
        for rank in 0..<2 {
            let group = OneOfTwo(rank: rank)
            let trainer = DataParallelTrainer(model: model(), dataset: dataset, hyperparameters: settings, processes: group)
            let loss = trainer.trainStep()   // its slice's loss, summed with the partner's (the same) and halved
            #expect(abs(loss - halves[rank]) < 1e-6, "rank \(rank): \(loss) against its half's \(halves[rank])")
            #expect(group.averages == 1)
        }
        #expect(abs((halves[0] + halves[1]) / 2 - whole) < 1e-5)   // the mean of the slices' means is the batch's
    }

    /// The loss estimate: every process draws every batch and computes every other one.
    @Test func eachProcessEstimatesItsShareOfTheBatches() throws {
        let plain = Trainer(model: model(), dataset: dataset, hyperparameters: settings).estimateLoss()
        let shares = (0..<2).map { rank in
            DataParallelTrainer(model: model(), dataset: dataset, hyperparameters: settings,
                                processes: OneOfTwo(rank: rank)).estimateLoss()
        }
        #expect(abs(shares[0].val - shares[1].val) > 1e-4, "the two processes' batches should differ")
        #expect(abs((shares[0].train + shares[1].train) / 2 - plain.train) < 1e-5)
        #expect(abs((shares[0].val + shares[1].val) / 2 - plain.val) < 1e-5)
    }
}
