// bench --data-parallel: one machine's cores used three ways on the same training step, in interleaved
// rounds: 1 process with every core as a BLAS thread, N processes of 1 thread each (each on B/N of the
// batch, gradients averaged over Open MPI), and the same with 2 accumulation steps. Each layout runs as a
// process (or an mpirun job) of its own, `bench --data-parallel-worker`, which times its steps and says so
// in one JSON line.
import DataParallel
import Foundation
import NanoGPT
import TensorCore
import Training

extension Bench {
    /// The layouts, as (processes, BLAS threads each, accumulation steps).
    var dataParallelLayouts: [(processes: Int, threads: Int, accumulation: Int)] {
        let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
        return [(1, cores, 1), (cores, 1, 1), (cores, 1, 2)]
    }

    func dataParallelComparison() {
        guard let mpirun = MPIRun.executableOnPath("mpirun") else {
            print("--data-parallel needs Open MPI's mpirun (apt-get install openmpi-bin libopenmpi-dev)")
            return
        }
        let program = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let steps = compareSteps ?? 100
        for name in configs.split(separator: ",").map(String.init) {
            guard let (_, batch) = Self.trainingConfigs[name] else { print("unknown config \(name)"); continue }
            print("\nconfig \(name): \(compareRounds) rounds, each layout in turn, \(steps) timed steps after 5 warm-up steps")
            var results = dataParallelLayouts.map { _ in [(msPerStep: Double, allReduceMs: Double, bytes: Double)]() }
            for _ in 0..<compareRounds {
                for (index, layout) in dataParallelLayouts.enumerated() {
                    guard batch % (layout.processes * layout.accumulation) == 0 else { continue }
                    let worker = [program, "--data-parallel-worker", "--configs", name, "--threads", String(layout.threads),
                                  "--time-steps", String(steps), "--accumulation-steps", String(layout.accumulation)]
                    let command = layout.processes == 1 ? worker
                        : [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", String(layout.processes)] + worker
                    guard let line = MPIRun.output(of: command).split(separator: "\n").last(where: { $0.hasPrefix("{") }),
                          let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double] else {
                        print("  a run of \(command.joined(separator: " ")) gave no result"); continue
                    }
                    results[index].append((object["ms_per_step"] ?? .nan, object["allreduce_ms"] ?? 0, object["bytes"] ?? 0))
                }
            }
            print("layout                                              ms/step (median)   tokens/s   vs 1 process   all-reduce ms   share   bytes per process")
            let baseline = median(results[0].map(\.msPerStep))
            for (layout, rounds) in zip(dataParallelLayouts, results) where !rounds.isEmpty {
                let ms = median(rounds.map(\.msPerStep)), reduce = median(rounds.map(\.allReduceMs))
                let label = "\(layout.processes) process(es) x \(layout.threads) thread(s)"
                    + (layout.accumulation > 1 ? ", \(layout.accumulation) accumulation steps" : "")
                // A ring all-reduce moves 2 (N - 1) / N of the gradient per process.
                let moved = layout.processes > 1 ? 2 * Double(layout.processes - 1) / Double(layout.processes) * (rounds[0].bytes) : 0
                print(label.padding(toLength: 52, withPad: " ", startingAt: 0)
                      + String(format: "%9.1f   %12.0f   %10.2fx   %13.2f   %4.1f%%   %.2f MB", ms, Double(batch * Self.trainingConfigs[name]!.config.blockSize) / ms * 1e3,
                               baseline / ms, reduce, 100 * reduce / ms, moved / 1e6))
            }
            print("rounds (ms/step): " + results.map { $0.map { String(format: "%.1f", $0.msPerStep) }.joined(separator: " ") }.joined(separator: " | "))
        }
    }

    /// One layout's run: under mpirun, every process trains its share; process 0 prints the result.
    func runDataParallelWorker() {
        guard let (config, batch) = Self.trainingConfigs[configs] else { print("unknown config \(configs)"); return }
        let group = MPIProcessGroup.join()
        let trainer = Self.benchTrainer(config, batch: batch, processes: group, accumulationSteps: accumulationSteps)
        for _ in 0..<5 { trainer.trainStep() }
        let stepTime = seconds { for _ in 0..<timeSteps { trainer.trainStep() } } / Double(timeSteps)
        // The all-reduce alone, on the gradient arena the steps averaged.
        let reduceTime = group.map { group in seconds { for _ in 0..<20 { group.average(trainer.parameters.grads) } } / 20 } ?? 0
        if (group?.rank ?? 0) == 0 {
            print("{\"ms_per_step\": \(stepTime * 1e3), \"allreduce_ms\": \(reduceTime * 1e3), \"bytes\": \(Double(trainer.parameters.count * 4))}")
        }
    }
}
