// bench --compare-pytorch: our training steps against the PyTorch reference's, in interleaved rounds of
// separate processes, and the reference's generation speeds.
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

extension Bench {
    /// Training speed against PyTorch, the steady way: each round runs our bench and then the PyTorch
    /// reference in both of its layouts (gpt.py's per-head attention, and nanoGPT's packed qkv with
    /// scaled_dot_product_attention, PyTorch's best here) as separate processes, each timing `compareSteps`
    /// consecutive steps after 5 warm-up steps. Two methods per side: the mean step as the process timed it,
    /// and the process's wall time less that of a one-step run of the same process (which cancels start-up,
    /// imports, model construction and warm-up), over the steps in between. Rounds alternate the three, so
    /// a slow phase of the machine falls on all; the spread over rounds is printed, and each process's peak
    /// resident memory.
    func compareTrainingWithPyTorch() {
        print("\nTraining against PyTorch: \(compareRounds) rounds, each ours, then PyTorch in gpt.py's layout, then in nanoGPT's (SDPA);")
        print("\"in\": the mean step as timed inside the process; \"wall\": (process wall time - a 1-step run's) / (steps - 1);")
        print("\"bound\": the SDPA step over our step's time in products, the best speed-up if everything else were free")
        print("config  round   ours ms/step (in / wall)   gpt.py layout (in / wall)   SDPA layout (in / wall)   speed-up vs SDPA (in / wall)   peak MB ours / SDPA   bound")
        let me = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let threads = String(BLAS.threadCount)
        func ours(_ name: String, _ steps: Int) -> TimedRun? {
            timedProcess(me, ["--time-steps", String(steps), "--configs", name, "--threads", threads])
        }
        func theirs(_ name: String, _ steps: Int, _ layout: String) -> TimedRun? {
            timedProcess("/usr/bin/env", ["python3", "Tests/Reference/nanogpt_reference.py", "--bench", name, "--steps", String(steps),
                                          "--threads", threads, "--layout", layout])
        }
        for name in configs.split(separator: ",").map(String.init) where Self.trainingConfigs[name] != nil {
            let compareSteps = self.compareSteps ?? ["T": 5_000, "S": 400, "M": 200, "L": 100][name]!
            print("\(name): \(compareSteps) steps a process")
            guard let ourStart = ours(name, 1), let perHeadStart = theirs(name, 1, "gpt.py"), let sdpaStart = theirs(name, 1, "sdpa") else {
                print("  \(name): a run failed (is torch installed? pip install torch safetensors)"); return
            }
            var inside: [Double] = [], wall: [Double] = [], insidePerHead: [Double] = [], wallPerHead: [Double] = []
            var productShares: [Double] = [], linearShares: [Double] = [], productBounds: [Double] = [], linearBounds: [Double] = []
            for round in 1...compareRounds {
                guard let our = ours(name, compareSteps), let perHead = theirs(name, compareSteps, "gpt.py"),
                      let sdpa = theirs(name, compareSteps, "sdpa") else { print("  \(name): a run failed"); return }
                func wallTime(_ run: TimedRun, _ start: TimedRun) -> Double { (run.seconds - start.seconds) / Double(compareSteps - 1) * 1e3 }
                let (ourWall, perHeadWall, sdpaWall) = (wallTime(our, ourStart), wallTime(perHead, perHeadStart), wallTime(sdpa, sdpaStart))
                inside.append(sdpa.msPerStep / our.msPerStep)
                productShares.append(our.productShare)
                linearShares.append(our.linearShare)
                productBounds.append(sdpa.msPerStep / (our.msPerStep * our.productShare))
                linearBounds.append(sdpa.msPerStep / (our.msPerStep * our.linearShare))
                wall.append(sdpaWall / ourWall)
                insidePerHead.append(perHead.msPerStep / our.msPerStep)
                wallPerHead.append(perHeadWall / ourWall)
                print(String(format: "%-6@ %5d %14.2f / %-10.2f %13.2f / %-11.2f %11.2f / %-11.2f %14.2fx / %-12@ %7.0f / %-9.0f %.2fx", name,
                             round, our.msPerStep, ourWall, perHead.msPerStep, perHeadWall, sdpa.msPerStep, sdpaWall, inside.last!,
                             String(format: "%.2fx", wall.last!), our.peakMegabytes, sdpa.peakMegabytes, productBounds.last!))
            }
            print(String(format: "%-6@ speed-up over %d rounds, against the SDPA layout: in-process %.2f-%.2fx (median %.2fx), "
                         + "wall %.2f-%.2fx (median %.2fx)", name, compareRounds, inside.min()!, inside.max()!, median(inside),
                         wall.min()!, wall.max()!, median(wall)))
            print(String(format: "%-6@ against gpt.py's layout: in-process median %.2fx, wall median %.2fx", name,
                         median(insidePerHead), median(wallPerHead)))
            // What bounds the ratio: each round's SDPA step over our step's floor if everything outside the
            // products cost nothing, and if attention's products cost nothing too (the Linear layers' alone).
            print(String(format: "%-6@ bound: in our rounds' product-timed steps the products took %.0f-%.0f%% of a step, the Linear "
                         + "layers' products %.0f-%.0f%%; against the SDPA layout's steps, ours could be at most %.2fx (median over rounds) "
                         + "with everything outside the products free, %.2fx with attention's products free too", name,
                         100 * productShares.min()!, 100 * productShares.max()!, 100 * linearShares.min()!, 100 * linearShares.max()!,
                         median(productBounds), median(linearBounds)))
        }
    }

    /// What a timed process reports: its mean step, its wall time and its peak resident memory; ours also
    /// the share of a step its products took, and its Linear layers' products (nan where not reported).
    struct TimedRun { let msPerStep: Double, seconds: Double, peakMegabytes: Double, productShare: Double, linearShare: Double }

    /// Runs a process that prints a JSON line with "mean_ms_per_step" (and "peak_rss_mb"); returns them and
    /// its wall time.
    func timedProcess(_ executable: String, _ arguments: [String]) -> TimedRun? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let start = DispatchTime.now().uptimeNanoseconds
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        guard process.terminationStatus == 0 else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let ms = object["mean_ms_per_step"] as? Double {
                return TimedRun(msPerStep: ms, seconds: seconds, peakMegabytes: object["peak_rss_mb"] as? Double ?? 0,
                                productShare: object["product_share"] as? Double ?? .nan,
                                linearShare: object["linear_share"] as? Double ?? .nan)
            }
        }
        return nil
    }

    /// Runs the PyTorch reference on the same configs and thread count, now, and prints ours ÷ theirs.
    func compareWithPyTorch(training: [String: Double], generation: [String: (Double, Double)]) {
        print("\nPyTorch reference, same configs, \(BLAS.threadCount) thread(s), same run:")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "Tests/Reference/nanogpt_reference.py", "--bench", configs,
                             "--threads", String(BLAS.threadCount), "--repeats", String(repeats)]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { print("  cannot run python3: \(error)"); return }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            print("  the reference failed (is torch installed? pip install torch safetensors)"); return
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        if let about = objects.first(where: { $0["torch"] != nil }), let version = about["torch"] as? String,
           let capability = about["cpu_capability"] as? String, let blas = about["blas"] as? String {
            print("PyTorch \(version), CPU capability \(capability), matrix products by \(blas)")
        }
        print("(the training columns: medians of --repeats single steps, a noisier method than the rounds above)")
        print("config   PyTorch ms/step   ours ms/step   speed-up   PyTorch recompute / cache tok/s   ours ÷ PyTorch")
        for object in objects {
            guard let name = object["config"] as? String, let theirs = object["ms_per_step"] as? Double,
                  let recompute = object["recompute_tokens_per_second"] as? Double,
                  let cache = object["cache_tokens_per_second"] as? Double,
                  let ours = training[name], let (ourRecompute, ourCache) = generation[name] else { continue }
            print(String(format: "%-6@ %17.2f %14.2f %9.2fx %16.0f / %-12.0f %6.2fx / %.2fx", name, theirs, ours * 1e3,
                         theirs / (ours * 1e3), recompute, cache, ourRecompute / recompute, ourCache / cache))
        }
    }
}
