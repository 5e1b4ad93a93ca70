// Data-parallel training across processes and machines, on Open MPI. `mpirun -np N program ...` starts N
// copies of the program; each joins the group here, learns its rank, and the Trainer averages the
// gradients of all N with one all-reduce per step (Training/ProcessGroup.swift).
import CMPI
import Foundation
import TensorCore
import Training

/// This process's place in an `mpirun` job, and the all-reduces the Trainer needs.
public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int, size: Int
    /// The processes of the job on this machine (Open MPI's local size): they share its cores.
    public let localSize: Int

    /// Whether this process was started by Open MPI's mpirun (which sets OMPI_COMM_WORLD_SIZE).
    public static var launchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// Joins the job this process was started in (MPI_Init); nil when mpirun did not start it. Call once.
    public static func join() -> MPIProcessGroup? {
        guard launchedByMPIRun else { return nil }
        MPI_Init(nil, nil)
        atexit { MPI_Finalize() }   // mpirun counts a rank that exits without it as failed
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(cmpi_world(), &rank)
        MPI_Comm_size(cmpi_world(), &size)
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? Int(size)
        return MPIProcessGroup(rank: Int(rank), size: Int(size), localSize: max(1, local))
    }

    private init(rank: Int, size: Int, localSize: Int) { self.rank = rank; self.size = size; self.localSize = localSize }

    /// One MPI_Allreduce (sum) of the whole buffer, in place, then a scale by 1/N: MPI has no mean. The CPU
    /// lends its own buffer; a device's numbers cross through the host (`Storage.withHostBuffer`).
    public func average(_ storage: Storage) {
        let scale = 1 / Float(size)
        storage.withHostBuffer { buffer in
            _ = MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), cmpi_float(), cmpi_sum(), cmpi_world())
            for i in buffer.indices { buffer[i] *= scale }
        }
    }

    public func sum(_ values: [Double]) -> [Double] {
        var result = values
        result.withUnsafeMutableBufferPointer { buffer in
            _ = MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), cmpi_double(), cmpi_sum(), cmpi_world())
        }
        return result
    }

    public func range(_ value: Double) -> ClosedRange<Double> {
        var low = value, high = value
        _ = MPI_Allreduce(cmpi_in_place(), &low, 1, cmpi_double(), cmpi_min(), cmpi_world())
        _ = MPI_Allreduce(cmpi_in_place(), &high, 1, cmpi_double(), cmpi_max(), cmpi_world())
        return low...high
    }
}
