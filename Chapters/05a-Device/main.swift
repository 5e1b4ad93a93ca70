// Chapter 05a · Device: the same model on another device
// ======================================================
//
// An aside after chapter 05. Every number of every tensor lives in a `Storage`: a buffer that belongs to a
// backend (TensorCore/Backend/Backend.swift). The CPU backend keeps it in host memory and runs OpenBLAS and
// SIMD loops; the OpenCL backend keeps it in a device's memory and runs each op as an OpenCL kernel, and
// each matrix product through CLBlast. Nothing above the backend changes: the model, the Trainer and the
// sampler are chapter 05's. Here we run chapter 05's model on the device and look at what moves between the
// host and the device, what one kernel launch costs, and when a device pays for that cost.
//
//   swift run -c release ch05a            (--quick for a few seconds; needs OpenCL: see below)
//
// The device is the first OpenCL GPU, else the first OpenCL device of any kind. Without a GPU that is PoCL
// (Debian's pocl-opencl-icd), OpenCL on the CPU's own cores: it computes the same results up to float
// rounding, more slowly than OpenBLAS, which makes it a correctness target here, not a speed one. Expected:
// the two runs' losses within about 1e-6 after a few steps and a few 1e-3 after 200 (rounding compounds),
// each kernel launch costs microseconds, and on PoCL the CPU wins at every size.
// Measured on a 2-core AMD EPYC with PoCL. No real GPU has measured it: `scripts/gpu-check.sh` measures one.
import ArgumentParser
import ChapterSupport
import Foundation
import NanoGPT
import Plotting
import TensorCore
import TensorCoreOpenCL
import TextData
import Training

// MARK: - Hyperparameters
//
// Chapter 05's model and recipe, for 200 steps instead of 5,000: enough to see both devices learn the same
// thing, short enough for PoCL.

var defaults = Hyperparameters.nanoGPT   // chapter 05's model and recipe, shortened: PoCL is slow
defaults.steps = 200
defaults.warmupSteps = 20
defaults.evalInterval = 50
defaults.evalIters = 10
defaults.maxNewTokens = 200

let (command, settings, report) = Chapter05a.start(defaults, plots: "05a-device", title: "Device")   // the flags: Flags.swift
let options = command.training
print("Chapter 05a · Device\n")
section("Hyperparameters")
print("\(settings.table)\n")

// MARK: - 1. Two backends
//
// `Backends.backend(for:)` gives the CPU's backend or the OpenCL device's (made once per run: the first call
// compiles the kernels of TensorCoreOpenCL/OpenCLKernels.swift for the device). A program picks one with
// `--device`; this chapter uses both, side by side, with `Backends.using`, which makes every tensor created
// inside its closure on that backend. An OpenCL backend op is a kernel launch with the storages' buffers
// and offsets as arguments. A kernel is the body of a loop: the device runs it once per *work item* (an
// index, here one per element), and a GPU runs thousands of work items at once on its lanes. The ReLU
// (its OpenCL C kernel is three lines):
// show: Sources/TensorCoreOpenCL/OpenCLBackend.swift OpenCLBackend.relu

section("1. Two backends")
let cpu = CPUBackend.shared
let device = exitOnError { try OpenCLBackend.shared() }
print("the CPU:    \(cpu.name)")
print("the device: \(device.name)\n")

// MARK: - 2. What crosses between the host and the device
//
// Numbers enter the device through explicit host copies (`Tensor(shape:values:)` copies its values in,
// `.values` copies them out) and through the integers a step hands over (token ids, positions, targets);
// everything else, the weights, activations, gradients and AdamW's moments, stays on the device from start
// to end. What comes back is the loss and the gradient norm, as 4,096 partial sums that the host adds in
// Double (as the CPU does). The counts below are the OpenCL backend's own (`OpenCLBackend.traffic`).

section("2. What crosses between the host and the device")
let (text, tokenizer, dataset) = options.loadChapterData(settings)
print("\(text.count) characters, vocabulary: \(tokenizer.summary)")
let config = GPTConfig(settings, vocabularySize: tokenizer.vocabularySize)
let (trainerOnDevice, oneStep) = Backends.using(device) { () -> (Trainer, DeviceTraffic) in
    let trainer = Trainer(model: NanoGPT(config, seed: settings.seed), dataset: dataset, hyperparameters: settings)
    let before = device.traffic
    trainer.trainStep()
    return (trainer, device.traffic.since(before))
}
let parameterBytes = trainerOnDevice.parameters.count * 4
print(String(format: "the model: %d parameters, %.1f MB of weights, made on the device (and its gradients and moments, 3x more)",
             trainerOnDevice.parameters.count, Double(parameterBytes) / 1e6))
print("one training step (B = \(settings.batchSize), T = \(settings.blockSize)):")
print("  kernel launches        \(oneStep.kernelLaunches)")
print("  CLBlast products       \(oneStep.products)")
print("  bytes to the device    \(oneStep.bytesToDevice)   (token ids, positions and targets, as 32-bit integers)")
print("  bytes to the host      \(oneStep.bytesToHost)   (the loss, and the gradient norm's partial sums)\n")

// MARK: - 3. What a kernel launch costs
//
// A GPU runs thousands of lanes at once, but each op is one launch: the host sets the kernel's arguments
// and queues it, the driver hands it to the device. For a tiny op that overhead is the whole cost. Time
// 2,000 launches of the scale kernel on one float, then one host copy that waits for them, against the
// same ops on the CPU backend. That is the rate at which the host can issue launches: a floor for any op
// (a GPU may run earlier launches meanwhile, but never issues them faster). A blocking copy costs more: it
// waits until the queue is empty and the driver has handed the data over.

section("3. What a kernel launch costs")
func microsecondsPerOp(on backend: any Backend, count: Int = 2_000) -> Double {
    Backends.using(backend) {
        let x = Storage(host: [1]), y = Storage(count: 1)
        for _ in 0..<100 { backend.scale(x, by: 2, out: y) }
        _ = y.toHost()
        let start = Date()
        for _ in 0..<count { backend.scale(x, by: 2, out: y) }
        _ = y.toHost()   // a host copy waits for every op queued before it
        return Date().timeIntervalSince(start) / Double(count) * 1e6
    }
}
let launchCost = microsecondsPerOp(on: device), cpuOpCost = microsecondsPerOp(on: cpu)
let roundTrip = Backends.using(device) { () -> Double in
    let x = Storage(host: [1])
    let start = Date()
    for _ in 0..<200 { x.copy(fromHost: [2]); _ = x.toHost() }
    return Date().timeIntervalSince(start) / 200 * 1e6
}
print(String(format: "one op on one float: %.2f µs on the device (a kernel launch), %.3f µs on the CPU (a function call)", launchCost, cpuOpCost))
print(String(format: "one float to the device and back: %.1f µs", roundTrip))
let stepFloor = Double(oneStep.kernelLaunches + oneStep.products) * launchCost / 1e3   // ms
print(String(format: "a training step's %d launches and %d products cost at least %.1f ms in launches alone\n",
             oneStep.kernelLaunches, oneStep.products, stepFloor))

// MARK: - 4. When the device pays
//
// A product of two n x n matrices does 2n^3 operations on 3n^2 numbers: the bigger n, the more arithmetic per
// launch and per number moved, and the more of a GPU's lanes it can fill. Time CLBlast on the device and
// OpenBLAS on the CPU from n = 32 to n = 1024. On a GPU, expect the device's curve to start below the CPU's
// (launches dominate) and to pass it, by far, at large n; on PoCL both run on the same cores, and OpenBLAS,
// tuned for them, wins everywhere.

section("4. When the device pays")
func gflops(_ n: Int, on backend: any Backend) -> Double {
    Backends.using(backend) {
        let random = SeededRandom(seed: 3)
        let a = Storage(host: (0..<(n * n)).map { _ in random.normal() }), b = Storage(host: (0..<(n * n)).map { _ in random.normal() })
        let c = Storage(count: n * n)
        let repeats = max(2, min(200, Int(2e8 / (2 * Double(n * n * n)))))
        func run(_ times: Int) {
            for _ in 0..<times { backend.gemm(m: n, n: n, k: n, a: MatrixOperand(a), b: MatrixOperand(b), beta: 0, c: MatrixOperand(c)) }
            _ = c[0]   // wait for the device
        }
        run(2)   // warm-up (CLBlast compiles its kernels on first use)
        let start = Date()
        run(repeats)
        return 2 * Double(n * n * n) * Double(repeats) / Date().timeIntervalSince(start) / 1e9
    }
}
let sizes = options.quick ? [32, 64, 128] : [32, 64, 128, 256, 512, 1024]
var onCPU: [Double] = [], onDevice: [Double] = []
print("     n    CPU GFLOP/s   device GFLOP/s")
for n in sizes {
    onCPU.append(gflops(n, on: cpu))
    onDevice.append(gflops(n, on: device))
    print(String(format: "%6d %14.1f %16.1f", n, onCPU.last!, onDevice.last!))
}
exitOnError {
    let files = try Plotter.shared.lines(
        [Series("CPU: \(cpu.name)", x: sizes.map(Double.init), y: onCPU),
         Series("device: \(device.name)", x: sizes.map(Double.init), y: onDevice)],
        title: "\(report.heading): an n x n x n matrix product", xLabel: "n (log scale)", yLabel: "GFLOP/s",
        logScaleX: true, in: report.folder, name: "products")
    report.drew(files)
}

// MARK: - 5. Chapter 05's model on both
//
// The same seed, the same batches, the same recipe: one Trainer on each backend. The device adds in other
// orders (CLBlast's blocking, one work item per row), so the two runs differ by float rounding, and the
// difference compounds slowly over the steps; the CPU's loss curve lies under the device's. What differs is
// the time, and section 3's floor says how much of the device's step is launches.

section("5. Chapter 05's model on both")
let trainerOnCPU = Backends.using(cpu) { Trainer(model: NanoGPT(config, seed: settings.seed), dataset: dataset, hyperparameters: settings) }
Backends.using(cpu) { trainerOnCPU.trainStep() }   // the step the device took in section 2, so both start even
print("on the CPU:")
exitOnError { try Backends.using(cpu) { try trainerOnCPU.train() } }
print("\non the device:")
exitOnError { try Backends.using(device) { try trainerOnDevice.train() } }
let gaps = zip(trainerOnCPU.stepLosses, trainerOnDevice.stepLosses).map { abs($0 - $1) }
print(String(format: "\nlargest difference between the two runs' step losses: %.2e over the first 10 steps, %.2e over all %d",
             gaps.prefix(10).max() ?? 0, gaps.max() ?? 0, gaps.count))
let tokensPerStep = Double(settings.batchSize * settings.blockSize)
let (cpuStep, deviceStep) = (tokensPerStep / trainerOnCPU.tokensPerSecond * 1e3, tokensPerStep / trainerOnDevice.tokensPerSecond * 1e3)
print(String(format: "a step: CPU %.1f ms, device %.1f ms, of which launches at least %.1f ms (%.1f%%); the rest is the device's arithmetic",
             cpuStep, deviceStep, stepFloor, 100 * stepFloor / deviceStep))
exitOnError { try report.plotLoss([("CPU", trainerOnCPU), ("device", trainerOnDevice)]) }

// MARK: - 6. Generation on the device, its attention, the summary
//
// Streaming generation at batch 1 is the extreme case: every token is a pass through the whole model for
// one position, many small launches and a blocking copy of its logits, so launches alone cap the tokens/s
// whatever the device's arithmetic, and a GPU gains least here (a training step, with 768 positions per
// launch, gives its lanes far more work). To stream from one model on both, the device model's weights are
// copied into a model on the host (a model moves between devices by host copies, as a checkpoint does).
// The heatmaps are the device model's attention, copied to the host to draw; the summary (and this page's
// header) is the device's run.

section("6. Generation on the device, its attention, the summary")
let deviceModel = trainerOnDevice.model as! NanoGPT
let hostCopy = Backends.using(cpu) { NanoGPT(config, seed: settings.seed) }
for ((_, onHost), (_, onTheDevice)) in zip(hostCopy.namedParameters, deviceModel.namedParameters) {
    onHost.storage.copy(fromHost: onTheDevice.values)   // device -> host -> the host model's arena
}
func tokensPerSecond(on backend: any Backend, _ model: NanoGPT) -> (Double, [Int]) {
    Backends.using(backend) {
        let start = Date()
        let tokens = Array(model.generateStream(prompt: [tokenizer.startToken], maxNewTokens: settings.maxNewTokens,
                                                options: SamplingOptions(temperature: 0.8), random: SeededRandom(seed: 1)))
        return (Double(tokens.count) / Date().timeIntervalSince(start), tokens)
    }
}
let beforeStreaming = device.traffic
let (deviceRate, deviceTokens) = tokensPerSecond(on: device, deviceModel)
let streaming = device.traffic.since(beforeStreaming)
let launchesPerToken = Double(streaming.kernelLaunches + streaming.products) / Double(max(1, deviceTokens.count))
let (cpuRate, cpuTokens) = tokensPerSecond(on: cpu, hostCopy)
print("text from the device's model (temperature 0.8):\n---\n\(tokenizer.decode(deviceTokens))\n---")
print(String(format: "streaming, batch 1: CPU %.0f tokens/s, device %.0f tokens/s; the same tokens from the same weights: %@",
             cpuRate, deviceRate, deviceTokens == cpuTokens ? "yes" : "no"))
print(String(format: "%.0f launches a token: at %.1f µs each, at most %.0f tokens/s from launches alone\n", launchesPerToken,
             launchCost, 1e6 / (launchesPerToken * launchCost)))
let prompt = Array(dataset.val.prefix(min(settings.blockSize, 32)))
_ = Backends.using(device) { deviceModel.logits(prompt, batchSize: 1, length: prompt.count, training: false) }
exitOnError {
    try report.plotAttentionByLayer(deviceModel.lastAttention, prompt: prompt, tokenizer: tokenizer, what: "the device model")
    try report.writeSample(tokenizer.decode(deviceTokens))
    try report.writeSummary(trainer: trainerOnDevice, tokenizer: tokenizer, generationTokensPerSecond: deviceRate)
}
report.printLoss(trainerOnDevice.evaluations)
print("wrote \(report.folder.path)/: products.png, loss.png, attention.png, attention-all-layers.png, sample.txt, summary.json")
