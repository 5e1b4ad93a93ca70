// Data parallel: several processes train one model, each on its own slice of every batch, and combine
// their gradients before every update, so every process applies the same update to the same weights.
// DataParallelTrainer needs only these collective operations; Sources/DataParallel supplies them over Open MPI.
import TensorCore
import TextData

/// The processes of one data-parallel run, as one of them sees them.
public protocol ProcessGroup: AnyObject {
    /// This process's number, 0 ..< size. Process 0 alone prints, logs and writes files.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `storage` on every process with the mean over the processes (an all-reduce).
    func average(_ storage: Storage)
    /// The element-wise sum of every process's `values`, on every process.
    func sum(_ values: [Double]) -> [Double]
    /// The smallest and the largest of every process's `value`, on every process.
    func range(_ value: Double) -> ClosedRange<Double>
}

extension Batch {
    /// Sequences `rows` of the batch (each `blockSize` tokens): one process's slice, or one micro-batch.
    public func sequences(_ rows: Range<Int>) -> Batch {
        Batch(inputs: Array(inputs[(rows.lowerBound * blockSize)..<(rows.upperBound * blockSize)]),
              targets: Array(targets[(rows.lowerBound * blockSize)..<(rows.upperBound * blockSize)]),
              batchSize: rows.count, blockSize: blockSize)
    }
}
