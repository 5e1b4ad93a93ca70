// bench: speed measurements, never run as tests. Every figure is measured in this run, and the
// comparisons are ratios of things measured side by side (interleaved), because these machines are noisy.
//
//   swift run -c release bench [--threads N] [--repeats N]
//
// 1. cblas_sgemm GFLOP/s at the shapes a small GPT uses (plain and transposed).
// 2. The tensor core's forward + backward of one Linear layer (x 768x128, 128 -> 512, with bias)
//    against the three sgemm calls that layer makes: the ratio is the core's overhead (target <= 1.3).
// 3. NanoGPT training steps at three sizes (T, S, M; dropout 0): ms per step, tokens/s, and the share
//    of each step spent inside sgemm (step time / sgemm time: what everything around the products costs).
// 4. Generation at batch 1: full recomputation for every token against the key/value cache (a 4,000-token
//    stream, so the window slides), and the wait for the first token after a full-block prompt.
// 5. With --compare-pytorch: the PyTorch reference on the same configs, interleaved with ours, and what
//    bounds the ratio: the best it could be if everything outside our products (or outside the Linear
//    layers' products) cost nothing. With --products: one config's step, product shape by product shape.
// 6. With --data-parallel: the cores used as 1 process x N threads, N processes x 1 thread (Open MPI),
//    and N processes with 2 accumulation steps, interleaved (DataParallelBenchmark).
// 7. With --int8: streaming with float32 against int8 weights, interleaved (Int8Benchmark).
// With --tokenizer-text FILE, only chapter 06's byte-pair tokenizer instead (TokenizerBenchmark.swift).
// One file each: ProductsBenchmark (1, 2), TrainingBenchmark (3), GenerationBenchmark (4), PyTorchComparison (5),
// DataParallelBenchmark (6), Int8Benchmark (7).
import ArgumentParser
import Attention
import ChapterSupport
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Tensor core speed measurements.")
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Where the model rows run: cpu or opencl (on PoCL, OpenCL on this CPU: a correctness target, not a speed one). Default: $NANOGPT_DEVICE, else cpu.")
    var device: Device?
    @Option(help: "Timed repetitions per measurement (the median is reported).") var repeats = 30
    @Option(help: "Training configs to time, from T, S, M and L (M at T 1024) (comma-separated).") var configs = "T,S"
    @Option(help: "Also train each config this many steps and report resident memory after step 100 and at the end (0: skip).")
    var memorySteps = 0
    @Flag(help: "Skip the sgemm table and the Linear layer: time only the model (for example under a profiler).")
    var modelOnly = false
    @Flag(help: "Also time the PyTorch reference (Tests/Reference/nanogpt_reference.py; needs torch) in this run, and print ratios.")
    var comparePytorch = false
    @Option(help: "With --compare-pytorch: steady-state training steps each side times per round (default: T 5000, S 400, M 200, L 100, so the steps, not the processes' start-up, fill the time; M then takes about an hour).")
    var compareSteps: Int?
    @Option(help: "With --compare-pytorch: rounds, each ours then PyTorch, one process each.") var compareRounds = 3
    @Flag(help: "With --compare-pytorch: only its interleaved training rounds (no single-step tables, no generation).")
    var roundsOnly = false
    @Option(help: "How the model computes attention: tiled (the online softmax, what every model uses) or weights (the (B, nh, T, T) weights kept whole, as dropout on them needs).")
    var attention = "tiled"
    @Flag(help: "Only break each config's training step down product by product (every sgemm shape: calls, time, GFLOP/s), over --repeats steps.")
    var products = false
    @Option(help: .hidden) var timeSteps = 0   // one config, N steps, one JSON line: what --compare-pytorch runs
    @Flag(help: "Only time data-parallel layouts of the training step (1 process x N threads, N processes x 1 thread, with and without accumulation), interleaved in --compare-rounds rounds of --compare-steps steps (default 100).")
    var dataParallel = false
    @Flag(help: .hidden) var dataParallelWorker = false   // one layout's run: what --data-parallel runs
    @Option(help: .hidden) var accumulationSteps = 1
    @Flag(help: "Only time streaming with float32 against int8 weights (4,000 tokens each, --compare-rounds interleaved rounds), with both ceilings.")
    var int8 = false
    @Option(help: "Time only the byte-pair tokenizer: train on this text and encode all of it, with and without GPT-2's pre-split.")
    var tokenizerText: String?
    @Option(help: "Vocabulary size for --tokenizer-text.") var vocabularySize = 512
    @Option(help: "Timed runs of the tokenizer (the best is reported).") var tokenizerRepeats = 3
    @Flag(help: "With --tokenizer-text, also time Hugging Face tokenizers (Tests/Reference/hf_tokenizer_reference.py; pip install tokenizers) in this run. Takes about 6 minutes: without a pre-split its trainer is slow.")
    var compareTokenizers = false

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        if repeats <= 0 { throw ValidationError("--repeats must be positive") }
        if !["tiled", "weights"].contains(attention) { throw ValidationError("--attention must be tiled or weights") }
        if roundsOnly && !comparePytorch { throw ValidationError("--rounds-only needs --compare-pytorch") }
        if tokenizerRepeats <= 0 { throw ValidationError("--tokenizer-repeats must be positive") }
        if (compareSteps ?? 2) < 2 || compareRounds < 1 { throw ValidationError("--compare-steps must be at least 2 and --compare-rounds at least 1") }
        if !(256...65536).contains(vocabularySize) { throw ValidationError("--vocabulary-size must be in 256...65536") }
    }

    func run() {
        if let threads { BLAS.threadCount = threads }
        CausalAttention.keepsWeights = attention == "weights"
        exitOnError { try Devices.select(device) }
        // OpenBLAS picks its kernel for this CPU when it loads, unless OPENBLAS_CORETYPE names one; the sgemm
        // speed (and so every training row) depends on which, so the header says who chose.
        let chosenBy = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { "set by OPENBLAS_CORETYPE=\($0)" }
            ?? "picked by OpenBLAS for this CPU"
        print("machine: \(Machine.description); OpenBLAS kernel \(BLAS.coreName) (\(chosenBy)), \(BLAS.threadCount) thread(s)")
        if !(Backends.current is CPUBackend) {
            print("device: \(Backends.current.name)")
            if Backends.current.name.contains("Portable Computing Language") {
                print("note: PoCL runs OpenCL on this machine's CPU cores. Its rows show that the device path works and what")
                print("its launches and copies cost; they are not a GPU's speed (scripts/gpu-check.sh measures one).")
            }
        }
        let avx512Kernels: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil, Machine.cpuFlags.contains("avx512f"),
           !avx512Kernels.contains(BLAS.coreName) {
            print("note: this CPU has AVX-512 but OPENBLAS_CORETYPE holds OpenBLAS to a narrower kernel; "
                  + "`env -u OPENBLAS_CORETYPE` lets it choose (docs/performance.md)")
        }
        print()
        if let tokenizerText { return tokenizerBenchmark(file: tokenizerText) }
        if dataParallelWorker { return runDataParallelWorker() }
        if dataParallel { return dataParallelComparison() }
        if timeSteps > 0 { return timeSteadySteps() }
        if products { return productBreakdown() }
        if int8 { return int8Streaming() }
        if comparePytorch && roundsOnly { return compareTrainingWithPyTorch() }
        if !modelOnly {
            sgemmTable()
            linearLayerOverhead()
        }
        let training = trainingSteps()
        let generating = generation()
        if comparePytorch {
            compareTrainingWithPyTorch()
            compareWithPyTorch(training: training, generation: generating)
        }
    }

    func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

/// Resident memory from /proc/self/status; the high-water mark is reset through /proc/self/clear_refs.
enum Memory {
    static func field(_ name: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") else { return .nan }
        return kilobytes / 1024
    }
    static var peakMegabytes: Double { field("VmHWM") }
    static var currentMegabytes: Double { field("VmRSS") }
    static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
}

Bench.main()
