// Small pieces the chapters lean on: PyTorch's default initialization (chapter 03's exercise), the
// running mean drawn over every step's loss, and how counts are printed.
import Layers
import TensorCore
import Testing
import ChapterSupport
import Training

@Suite("Chapter support")
struct ChapterSupportTests {
    @Test func pytorchInitializationDrawsWhatPyTorchsLayersStartFrom() {
        let random = SeededRandom(seed: 5)
        let table = Tensor.zeros([64, 32]), weight = Tensor.zeros([16, 64]), bias = Tensor.zeros([16])
        let gain = Tensor.zeros([16]), shift = Tensor.filled([16], with: 3)
        PyTorchInitialization.apply(to: [("token_embedding_table.weight", table), ("proj.weight", weight), ("proj.bias", bias),
                                         ("ln1.weight", gain), ("ln1.bias", shift)], random: random)
        let values = table.values
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
        #expect(abs(mean) < 0.1 && abs(variance - 1) < 0.1, "embedding: mean \(mean), variance \(variance)")
        let bound: Float = 1 / 8   // 1/sqrt(64), the weight's input width, for the weight and for its bias
        for tensor in [weight, bias] {
            #expect(tensor.values.allSatisfy { abs($0) <= bound })
            #expect(tensor.values.map(abs).max()! > 0.8 * bound)   // spread over the whole interval, not stuck near 0
        }
        #expect(gain.values.allSatisfy { $0 == 1 } && shift.values.allSatisfy { $0 == 0 })
    }

    @Test func groupedPutsACommaEveryThreeDigits() {
        #expect([0, 999, 1_000, 568_586, 1_234_567, -1_234].map(grouped) == ["0", "999", "1,000", "568,586", "1,234,567", "-1,234"])
    }

    @Test func runningMeanAveragesTheLastWindowValues() {
        #expect(ChapterReport.runningMean([1, 2, 3, 4, 5], window: 2) == [1, 1.5, 2.5, 3.5, 4.5])
        #expect(ChapterReport.runningMean([4, 2], window: 5) == [4, 3])
        #expect(ChapterReport.runningMean([7, 1], window: 1) == [7, 1])
    }
}
