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
// With --tokenizer-text FILE, only chapter 06's byte-pair tokenizer instead (TokenizerBenchmark.swift).
import ArgumentParser
import ChapterSupport
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Tensor core speed measurements.")
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Timed repetitions per measurement (the median is reported).") var repeats = 30
    @Option(help: "Training configs to time, from T, S, M (comma-separated).") var configs = "T,S"
    @Option(help: "Also train each config this many steps and report resident memory after step 100 and at the end (0: skip).")
    var memorySteps = 0
    @Flag(help: "Skip the sgemm table and the Linear layer: time only the model (for example under a profiler).")
    var modelOnly = false
    @Flag(help: "Also time the PyTorch reference (Tests/Reference/nanogpt_reference.py; needs torch) in this run, and print ratios.")
    var comparePytorch = false
    @Option(help: "With --compare-pytorch: steady-state training steps each side times per round (default: T 5000, S 400, M 200, so the steps, not the processes' start-up, fill the time; M then takes about an hour).")
    var compareSteps: Int?
    @Option(help: "With --compare-pytorch: rounds, each ours then PyTorch, one process each.") var compareRounds = 3
    @Option(help: .hidden) var timeSteps = 0   // one config, N steps, one JSON line: what --compare-pytorch runs
    @Option(help: "Time only the byte-pair tokenizer: train on this text and encode all of it, with and without GPT-2's pre-split.")
    var tokenizerText: String?
    @Option(help: "Vocabulary size for --tokenizer-text.") var vocabularySize = 512
    @Option(help: "Timed runs of the tokenizer (the best is reported).") var tokenizerRepeats = 3
    @Flag(help: "With --tokenizer-text, also time Hugging Face tokenizers (Tests/Reference/hf_tokenizer_reference.py; pip install tokenizers) in this run. Takes about 6 minutes: without a pre-split its trainer is slow.")
    var compareTokenizers = false

    func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        if repeats <= 0 { throw ValidationError("--repeats must be positive") }
        if tokenizerRepeats <= 0 { throw ValidationError("--tokenizer-repeats must be positive") }
        if (compareSteps ?? 2) < 2 || compareRounds < 1 { throw ValidationError("--compare-steps must be at least 2 and --compare-rounds at least 1") }
        if !(256...65536).contains(vocabularySize) { throw ValidationError("--vocabulary-size must be in 256...65536") }
    }

    func run() {
        if let threads { BLAS.threadCount = threads }
        // OpenBLAS picks its kernel for this CPU when it loads, unless OPENBLAS_CORETYPE names one; the sgemm
        // speed (and so every training row) depends on which, so the header says who chose.
        let chosenBy = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { "set by OPENBLAS_CORETYPE=\($0)" }
            ?? "picked by OpenBLAS for this CPU"
        print("machine: \(Machine.description); OpenBLAS kernel \(BLAS.coreName) (\(chosenBy)), \(BLAS.threadCount) thread(s)")
        let avx512Kernels: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil, Machine.cpuFlags.contains("avx512f"),
           !avx512Kernels.contains(BLAS.coreName) {
            print("note: this CPU has AVX-512 but OPENBLAS_CORETYPE holds OpenBLAS to a narrower kernel; "
                  + "`env -u OPENBLAS_CORETYPE` lets it choose (README, Speed)")
        }
        print()
        if let tokenizerText { return tokenizerBenchmark(file: tokenizerText) }
        if timeSteps > 0 { return timeSteadySteps() }
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

    /// `--time-steps N --configs X`: 5 warm-up steps, then N consecutive steps timed as one block.
    func timeSteadySteps() {
        guard let (config, batch) = Self.trainingConfigs[configs] else { print("unknown config \(configs)"); return }
        let trainer = Self.benchTrainer(config, batch: batch)
        for _ in 0..<5 { trainer.trainStep() }
        let time = seconds { for _ in 0..<timeSteps { trainer.trainStep() } }
        print("{\"config\": \"\(configs)\", \"steps\": \(timeSteps), \"mean_ms_per_step\": \(time / Double(timeSteps) * 1e3)}")
    }

    /// Training speed against PyTorch, the steady way: each round runs our bench and then the PyTorch
    /// reference as separate processes, each timing `compareSteps` consecutive steps after 5 warm-up steps.
    /// Two methods per side: the mean step as the process timed it, and the process's wall time less that
    /// of a one-step run of the same process (which cancels start-up, imports, model construction and
    /// warm-up), over the steps in between. Rounds alternate ours, PyTorch, ours, PyTorch, so a slow phase
    /// of the machine falls on both; the spread over rounds is printed.
    func compareTrainingWithPyTorch() {
        print("\nTraining against PyTorch: \(compareRounds) rounds, each ours then PyTorch, one process each;")
        print("\"in\": the mean step as timed inside the process; \"wall\": (process wall time - a 1-step run's) / (steps - 1)")
        print("config  round   ours ms/step (in / wall)   PyTorch ms/step (in / wall)   speed-up (in / wall)")
        let me = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let threads = String(BLAS.threadCount)
        func ours(_ name: String, _ steps: Int) -> (msPerStep: Double, seconds: Double)? {
            timedProcess(me, ["--time-steps", String(steps), "--configs", name, "--threads", threads])
        }
        func theirs(_ name: String, _ steps: Int) -> (msPerStep: Double, seconds: Double)? {
            timedProcess("/usr/bin/env", ["python3", "Tests/Reference/nanogpt_reference.py", "--bench", name, "--steps", String(steps),
                                          "--threads", threads])
        }
        for name in configs.split(separator: ",").map(String.init) where Self.trainingConfigs[name] != nil {
            let compareSteps = self.compareSteps ?? ["T": 5_000, "S": 400, "M": 200][name]!
            print("\(name): \(compareSteps) steps a process")
            guard let ourStart = ours(name, 1), let theirStart = theirs(name, 1) else {
                print("  \(name): a run failed (is torch installed? pip install torch safetensors)"); return
            }
            var inside: [Double] = [], wall: [Double] = []
            for round in 1...compareRounds {
                guard let our = ours(name, compareSteps), let their = theirs(name, compareSteps) else { print("  \(name): a run failed"); return }
                let between = Double(compareSteps - 1)
                let (ourWall, theirWall) = ((our.seconds - ourStart.seconds) / between * 1e3, (their.seconds - theirStart.seconds) / between * 1e3)
                inside.append(their.msPerStep / our.msPerStep)
                wall.append(theirWall / ourWall)
                print(String(format: "%-6@ %5d %14.2f / %-10.2f %14.2f / %-12.2f %8.2fx / %.2fx", name, round, our.msPerStep, ourWall,
                             their.msPerStep, theirWall, inside.last!, wall.last!))
            }
            print(String(format: "%-6@ speed-up over %d rounds: in-process %.2f-%.2fx (median %.2fx), wall %.2f-%.2fx (median %.2fx)",
                         name, compareRounds, inside.min()!, inside.max()!, median(inside), wall.min()!, wall.max()!, median(wall)))
        }
    }

    /// Runs a process that prints a JSON line with "mean_ms_per_step"; returns that and its wall time.
    func timedProcess(_ executable: String, _ arguments: [String]) -> (msPerStep: Double, seconds: Double)? {
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
               let ms = object["mean_ms_per_step"] as? Double { return (ms, seconds) }
        }
        return nil
    }

    /// A Trainer on random tokens, dropout 0: what every training measurement here runs.
    static func benchTrainer(_ config: GPTConfig, batch: Int) -> Trainer {
        let random = SeededRandom(seed: 3)
        let tokens = (0..<200_000).map { _ in random.integer(below: 65) }
        let settings = Hyperparameters(steps: 1_000_000, batchSize: batch, blockSize: config.blockSize,
                                       embeddingSize: config.embeddingSize, heads: config.headCount,
                                       layers: config.layerCount, learningRate: 1e-3, evalInterval: 1_000_000, evalIters: 1)
        let dataset = try! TokenDataset(tokens: tokens, blockSize: config.blockSize)
        return Trainer(model: NanoGPT(config, seed: 1), dataset: dataset, hyperparameters: settings)
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

    /// Returns tokens/s (recompute, key/value cache) of each config.
    ///
    /// Recomputation: 500 new tokens after a 1-token prompt. The cache: 4,000 new tokens, so the window
    /// slides many times (a refill of blockSize/2 tokens every blockSize/2 tokens), as in a long stream.
    /// Then the wait for the first token after a full prompt (blockSize tokens, 256 at M): one batched pass.
    func generation() -> [String: (Double, Double)] {
        var results: [String: (Double, Double)] = [:]
        print("\nGeneration at batch 1 (weights at initialization): recompute 500 new tokens after a 1-token prompt;")
        print("the key/value cache streams 4,000 (the window slides every blockSize/2 tokens); first token after a")
        print("blockSize-token prompt (median of 5)")
        print("and the ceiling: every weight matrix of the model through one matrix-vector product per token (sgemv),")
        print("which batch-1 generation cannot beat: it reads all the weights for every token")
        print("config   recompute tok/s   key/value cache tok/s   first token after the prompt   sgemv ceiling tok/s")
        for name in configs.split(separator: ",").map(String.init) {
            guard let (config, _) = Self.trainingConfigs[name] else { continue }
            let model = NanoGPT(config, seed: 1)
            let rates = [(GenerationMode.recompute, 500), (.keyValueCache, 4_000)].map { mode, count -> Double in
                _ = Array(model.generateStream(prompt: [0], maxNewTokens: 20, random: SeededRandom(seed: 1), mode: mode))
                let time = seconds { _ = Array(model.generateStream(prompt: [0], maxNewTokens: count, random: SeededRandom(seed: 2), mode: mode)) }
                return Double(count) / time
            }
            let prompt = (0..<config.blockSize).map { $0 % config.vocabularySize }
            let firstToken = median((0..<5).map { _ in
                seconds { _ = Array(model.generateStream(prompt: prompt, maxNewTokens: 1, random: SeededRandom(seed: 3))) }
            })
            let ceiling = 1 / weightReadingTime(model)
            print(String(format: "%-6@ %17.0f %23.0f %17.1f ms (%d tokens) %15.0f", name, rates[0], rates[1], firstToken * 1e3,
                         config.blockSize, ceiling))
            results[name] = (rates[0], rates[1])
        }
        return results
    }

    /// Seconds to multiply one vector by every weight matrix of `model` (median of 21 sweeps): the memory
    /// traffic of one generated token, without anything else.
    func weightReadingTime(_ model: NanoGPT) -> Double {
        let matrices = model.namedParameters.filter { $0.1.shape.count == 2 && !$0.0.contains("embedding_table") }.map(\.1)   // looked up, not multiplied
        let inputs = matrices.map { Storage.zeros(count: $0.shape[1]) }, outputs = matrices.map { Storage(count: $0.shape[0]) }
        func sweep() {
            for ((weight, x), y) in zip(zip(matrices, inputs), outputs) {
                weight.backend.gemm(transposeB: true, m: 1, n: weight.shape[0], k: weight.shape[1], a: MatrixOperand(x),
                                    b: MatrixOperand(weight.storage), beta: 0, c: MatrixOperand(y))
            }
        }
        for _ in 0..<5 { sweep() }
        return median((0..<21).map { _ in seconds(sweep) })
    }

    /// The three model sizes of the speed comparison with PyTorch.
    static let trainingConfigs: [String: (config: GPTConfig, batch: Int)] = [
        "T": (GPTConfig(vocabularySize: 65, blockSize: 8, embeddingSize: 32, headCount: 1, layerCount: 1), 32),
        "S": (GPTConfig(vocabularySize: 65, blockSize: 64, embeddingSize: 128, headCount: 4, layerCount: 4), 12),
        "M": (GPTConfig(vocabularySize: 65, blockSize: 256, embeddingSize: 384, headCount: 6, layerCount: 6), 16),
    ]

    /// Returns the median seconds per step of each config.
    func trainingSteps() -> [String: Double] {
        var results: [String: Double] = [:]
        print("\nNanoGPT training step (random tokens, dropout 0, AdamW), median of \(repeats) after 5 warm-up steps")
        print("GFLOP/s counts the FLOPs of the step's own sgemm calls; peak is sgemm at the model's largest shape, now;")
        print("MFU = GFLOP/s / peak; peak RSS is this process's high-water mark while training that config")
        print("config   ms/step    tokens/s   sgemm ms   step/sgemm   GFLOP/s   peak   MFU   peak RSS")
        for name in configs.split(separator: ",").map(String.init) {
            guard let (config, batch) = Self.trainingConfigs[name] else { print("unknown config \(name)"); continue }
            BufferPool.drain()   // give back what earlier measurements left in the pool
            Memory.resetPeak()
            let trainer = Self.benchTrainer(config, batch: batch)
            for _ in 0..<5 { trainer.trainStep() }
            var stepTimes: [Double] = [], gemmTimes: [Double] = [], flops = 0.0
            for _ in 0..<repeats {
                BLAS.timedSeconds = 0
                BLAS.timedFlops = 0
                BLAS.isTiming = true
                stepTimes.append(seconds { trainer.trainStep() })
                BLAS.isTiming = false
                gemmTimes.append(BLAS.timedSeconds)
                flops = BLAS.timedFlops
            }
            let step = median(stepTimes), gemm = median(gemmTimes)
            let peak = sgemmPeak(rows: batch * config.blockSize, width: config.embeddingSize)
            results[name] = step
            print(String(format: "%-6@ %9.2f %11.0f %10.2f %12.2f %9.1f %6.1f %4.0f%% %7.0f MB", name, step * 1e3,
                         Double(batch * config.blockSize) / step, gemm * 1e3, step / gemm, flops / step / 1e9, peak,
                         100 * flops / step / 1e9 / peak, Memory.peakMegabytes))
            if memorySteps > 0 {
                var at100 = 0.0
                for done in trainer.step..<memorySteps {
                    trainer.trainStep()
                    if done == 100 { at100 = Memory.currentMegabytes }
                }
                print(String(format: "       resident memory after step 100: %.0f MB, after step %d: %.0f MB", at100,
                             memorySteps, Memory.currentMegabytes))
            }
        }
        return results
    }

    /// The best sgemm GFLOP/s among the model's feed-forward products (rows x 4C x C and rows x C x 4C), now.
    func sgemmPeak(rows: Int, width: Int) -> Double {
        let random = SeededRandom(seed: 5)
        let a = Tensor.normal([rows * 4 * width], std: 1, random: random), b = Tensor.normal([4 * width * width], std: 1, random: random)
        let c = Storage(count: rows * 4 * width)
        var best = 0.0
        for (n, k) in [(4 * width, width), (width, 4 * width)] {
            let flops = 2 * Double(rows * n * k), inner = max(1, Int(1e8 / flops))
            for _ in 0..<5 {
                let time = seconds { for _ in 0..<inner {
                    c.backend.gemm(m: rows, n: n, k: k, a: MatrixOperand(a.storage), b: MatrixOperand(b.storage), beta: 0,
                                   c: MatrixOperand(c))
                } } / Double(inner)
                best = max(best, flops / time / 1e9)
            }
        }
        return best
    }

    func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    func sgemmTable() {
        print("cblas_sgemm, GFLOP/s (median of \(repeats))")
        print("     M      N      K       NN       NT       TN")
        let random = SeededRandom(seed: 1)
        for (m, n, k) in [(768, 384, 128), (768, 128, 384), (768, 128, 128), (768, 512, 128), (768, 65, 128),
                          (4096, 384, 384), (1024, 1024, 1024)] {
            let a = Tensor.normal([m * k], std: 1, random: random), b = Tensor.normal([k * n], std: 1, random: random)
            let c = Storage(count: m * n)
            var row = String(format: "%6d %6d %6d", m, n, k)
            for (ta, tb) in [(false, false), (false, true), (true, false)] {
                let flops = 2 * Double(m * n * k)
                let inner = max(1, Int(2e8 / flops))
                let times = (0..<repeats).map { _ in
                    seconds { for _ in 0..<inner {
                        c.backend.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: MatrixOperand(a.storage),
                                       b: MatrixOperand(b.storage), beta: 0, c: MatrixOperand(c))
                    } } / Double(inner)
                }
                row += String(format: " %8.1f", flops / median(times) / 1e9)
            }
            print(row)
        }
        print()
    }

    func linearLayerOverhead() {
        let (rows, inputs, outputs) = (768, 128, 512)
        let random = SeededRandom(seed: 2)
        let x = Tensor.normal([rows, inputs], std: 1, random: random, requiresGrad: true)
        let weight = Tensor.normal([outputs, inputs], std: 0.02, random: random, requiresGrad: true)
        let bias = Tensor.zeros([outputs], requiresGrad: true)
        let upstream = Tensor.normal([rows, outputs], std: 1, random: random)
        let dx = Storage(count: rows * inputs), dw = Storage(count: outputs * inputs), y = Storage(count: rows * outputs)

        // The tensor core: forward, then backward from a given upstream gradient (as inside a network).
        func core() {
            x.clearGrad()
            let out = linear(x, weight: weight, bias: bias)
            out.backward(seed: upstream.values)
        }
        // Only the three matrix products that layer needs, on preallocated buffers.
        func rawSgemm() {
            let backend = x.backend
            backend.gemm(transposeB: true, m: rows, n: outputs, k: inputs, a: MatrixOperand(x.storage),
                         b: MatrixOperand(weight.storage), beta: 0, c: MatrixOperand(y))
            backend.gemm(m: rows, n: inputs, k: outputs, a: MatrixOperand(upstream.storage), b: MatrixOperand(weight.storage),
                         beta: 0, c: MatrixOperand(dx))
            backend.gemm(transposeA: true, m: outputs, n: inputs, k: rows, a: MatrixOperand(upstream.storage),
                         b: MatrixOperand(x.storage), beta: 1, c: MatrixOperand(dw))
        }
        for _ in 0..<5 { core(); rawSgemm() }
        let inner = 10
        var coreTimes: [Double] = [], sgemmTimes: [Double] = []
        for _ in 0..<repeats {   // interleaved, so both see the same machine
            coreTimes.append(seconds { for _ in 0..<inner { core() } } / Double(inner))
            sgemmTimes.append(seconds { for _ in 0..<inner { rawSgemm() } } / Double(inner))
        }
        let coreTime = median(coreTimes), sgemmTime = median(sgemmTimes)
        print("Linear layer \(rows)x\(inputs) -> \(outputs), forward + backward (median of \(repeats) x \(inner))")
        print(String(format: "  tensor core      %8.3f ms", coreTime * 1e3))
        print(String(format: "  its 3 sgemm      %8.3f ms  (%.1f GFLOP/s)", sgemmTime * 1e3,
                     6 * Double(rows * inputs * outputs) / sgemmTime / 1e9))
        print(String(format: "  overhead ratio   %8.2f    (target <= 1.30)", coreTime / sgemmTime))
    }
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
