// Chapter 07 · Data parallel: one model, trained by several processes
// ===================================================================
//
// One process trains on one batch at a time. Data parallel splits every batch between N processes: each
// holds the whole model, computes the gradient of its own share of the batch, and the processes average
// their gradients (an all-reduce) before every update, so every process makes the same update to the same
// weights. It is how nanoGPT (PyTorch's DDP), llm.c (MPI) and nanochat train on many GPUs. Here it runs on
// Open MPI, a real engine that spans the cores of one machine or many machines, with no GPU needed.
//
//   swift run -c release ch07            (--quick for a few seconds, --help for every flag)
//
// The chapter starts itself under `mpirun -np 2` when it is not under MPI already; every process runs this
// same program, and this page is process 0's output (the others print nothing).
//
// Expected: the all-reduce gives every process the same sum; 2 processes train what 1 process trains, up to
// the order of float sums (the losses of 200 steps within about 1e-3); at this model's size a step's
// all-reduce takes under a millisecond to a few, a few percent of the step (it varies from run to run).
import ArgumentParser
import ChapterSupport
import DataParallel
import Foundation
import NanoGPT
import TensorCore
import TextData
import Training

// MARK: - Hyperparameters
//
// Chapter 05's model and recipe, for 200 steps: enough to compare one process with two.

var defaults = Hyperparameters.nanoGPT
defaults.steps = 200
defaults.warmupSteps = 20
defaults.evalInterval = 100
defaults.evalIters = 20
// Under mpirun already, or start it: `mpirun -np N` this program, with the same flags (Sources/DataParallel).
if !MPIProcessGroup.launchedByMPIRun {
    exitOnError { try MPIRun.run(processes: Chapter07.parseOrExitWithOneLine().processes) }
}
let group = MPIProcessGroup.join()!
if group.rank != 0 { _ = freopen("/dev/null", "w", stdout) }   // one process speaks for all
let (command, settings, report) = Chapter07.start(defaults, plots: "07-data-parallel", title: "Data parallel")   // the flags: Flags.swift
let options = command.training
// The machine's cores are shared by its processes: --threads (default: all cores) is split between them.
BLAS.threadCount = max(1, (options.threads ?? ProcessInfo.processInfo.activeProcessorCount) / group.localSize)
if command.timingSteps > 0 { timeStepsAndStop(command.timingSteps) }   // section 5's second job
let doneMarker = report.folder.appendingPathComponent(".section-5-done")
if group.rank == 0 { try? FileManager.default.removeItem(at: doneMarker) }   // before any process can look for it
print("Chapter 07 · Data parallel\n")
section("Hyperparameters")
print("\(settings.table)\n")

// MARK: - 1. What each process holds
//
// Every process runs this program from the top: it loads the same text, builds the same model from the
// same seed, and draws the same batches from the same generator. Only its rank differs, and with it the
// slice of each batch it computes: sequences rank × B/N ..< (rank + 1) × B/N.

section("1. What each process holds")
let (text, tokenizer, dataset) = options.loadChapterData(settings)
let model = NanoGPT(GPTConfig(settings, vocabularySize: tokenizer.vocabularySize), seed: settings.seed)
let parameterBytes = model.parameterCount * 4
print("process \(group.rank) of \(group.size), \(BLAS.threadCount) BLAS thread(s) (the machine's cores split between "
      + "its processes); every process runs this same program")
print("each holds the whole model: \(model.parameterCount) parameters (\(parameterBytes / 1000) kB), and with their "
      + "gradients and AdamW's two moments \(4 * parameterBytes / 1000) kB in all")
print("each computes \(settings.batchSize / group.size) of the \(settings.batchSize) sequences of every batch "
      + "(\(text.count) characters of text, \(tokenizer.summary))\n")

// MARK: - 2. The all-reduce
//
// An all-reduce takes one vector from every process and gives every process their sum. Each process here
// contributes [rank + 1, 10 (rank + 1)]; by hand, the sum over ranks 0 ..< N is [N(N+1)/2, 10 N(N+1)/2].
// MPI has no mean, so averaging gradients is a sum and then a division by N. MPI works on the gradient
// arena's own memory (a device's gradients are copied to the host and back):
// show: Sources/DataParallel/MPIProcessGroup.swift MPIProcessGroup.average MPIProcessGroup.sum

section("2. The all-reduce")
let mine = [Double(group.rank + 1), Double(10 * (group.rank + 1))]
let byHand = [Double(group.size * (group.size + 1) / 2), Double(10 * group.size * (group.size + 1) / 2)]
let reduced = group.sum(mine)
print("process \(group.rank) contributes \(mine); the sum by hand is \(byHand); MPI_Allreduce gives \(reduced): "
      + (reduced == byHand ? "the same" : "DIFFERENT"))
let agreed = group.range(reduced[0] + reduced[1])
print("every process received the same: \(agreed.lowerBound == agreed.upperBound ? "yes" : "NO")\n")

// MARK: - 3. One step, split between the processes
//
// `DataParallelTrainer` is the Trainer (chapter 05's step, AdamW and schedule) with the step's gradient and
// the loss estimates computed in pieces. Its step: the same global batch on every process, each its own slice,
// the gradient of its mean loss, then the average of the processes' gradients. The mean of N equal
// slices' means is the mean of the whole batch, so the averaged gradient is the one a single process
// would compute; only the order of the float sums differs. Every process then applies the same AdamW
// update, and the weights stay identical (a checksum compared across processes at every evaluation
// checks it). With `accumulationSteps` K, each slice is cut once more into K micro-batches whose gradients
// add up, each scaled by 1/K: the same step in smaller pieces, for less memory. B must split evenly: the
// trainer refuses a batch that does not (`nanogpt train` says so in one line). Clipping comes after the
// average, so every process clips the same gradient.
//
// nanoGPT's DDP does it the other way round: each process draws its own batch of B, so the global batch is
// B × N × K and grows with the processes, and the micro-steps before the last skip the all-reduce
// (`no_sync`). Here B is the global batch, the same whatever N and K: a run means the same thing on one
// process or many, which is what lets a checkpoint move between them.
// show: Sources/Training/ProcessGroup.swift Batch.sequences
// show: Sources/Training/Trainer.swift Trainer.trainStep Trainer.lossAndGradient
// show: Sources/Training/DataParallelTrainer.swift DataParallelTrainer.init DataParallelTrainer.lossAndGradient
//
// The training loop is the Trainer's, with two checks added: all processes stop at the same step when any
// is asked to (Ctrl-C), and after every evaluation the checksum: a sum of all the weights, its smallest and
// largest value across the processes (`range`, an all-reduce with MPI_MIN and MPI_MAX), which must be
// equal. Each process computes its share of the evaluation batches, and their losses are summed.
// show: Sources/Training/DataParallelTrainer.swift DataParallelTrainer.train DataParallelTrainer.everyProcessAgrees(toStop:) DataParallelTrainer.checkReplicasAgree DataParallelTrainer.meanLoss
// show: Sources/DataParallel/MPIProcessGroup.swift MPIProcessGroup.range
//
// The proof on this model: train it with every process, then let process 0 train the same model alone,
// from the same seed, on the whole batches, and compare. The two differ only in the rounding of their
// float sums: after one step, by a few 1e-7 at most. Training amplifies such differences
// step by step (AdamW divides each gradient by its running size, so a weight whose gradient is nearly 0
// moves by about the learning rate in whichever direction the rounding says), so after a few hundred steps
// the weights differ by a few percent of their size, and the losses by far less: two runs of one model.

section("3. One step, split between the processes")
// One step each, from fresh copies of the model: the difference is only the rounding.
let firstStep = DataParallelTrainer(model: NanoGPT(GPTConfig(settings, vocabularySize: tokenizer.vocabularySize), seed: settings.seed),
                                    dataset: dataset, hyperparameters: settings, processes: group)
firstStep.trainStep()
if group.rank == 0 {
    let single = Trainer(model: NanoGPT(model.config, seed: settings.seed),
                         dataset: dataset, hyperparameters: settings)
    single.trainStep()
    let gap = zip(firstStep.parameters.values.toHost(), single.parameters.values.toHost()).map { abs($0 - $1) }.max() ?? 0
    print(String(format: "after one step, %d processes against 1: weights differ by at most %.1e", group.size, gap))
    let accumulated = DataParallelTrainer(model: NanoGPT(model.config, seed: settings.seed), dataset: dataset,
                                          hyperparameters: settings, processes: nil, accumulationSteps: 2)   // one process, the batch in 2 micro-batches
    accumulated.trainStep()
    let accumulationGap = zip(accumulated.parameters.values.toHost(), single.parameters.values.toHost()).map { abs($0 - $1) }.max() ?? 0
    print(String(format: "after one step, 1 process with 2 accumulation steps against 1 without: at most %.1e", accumulationGap))
}
let trainer = DataParallelTrainer(model: model, dataset: dataset, hyperparameters: settings, processes: group)
exitOnError { try trainer.train() }
exitOnError { try trainer.checkReplicasAgree() }
print("every process holds the same weights after \(trainer.step) steps (their checksums agree)")
let alone: Trainer? = group.rank == 0 ? Trainer(model: NanoGPT(model.config, seed: settings.seed), dataset: dataset,
                                                hyperparameters: settings) : nil
if let alone {
    exitOnError { try alone.train(log: { _ in }) }   // quiet: the same schedule as above
    let together = trainer.parameters.values.toHost(), single = alone.parameters.values.toHost()
    let norm = { (values: [Float]) in values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let weightGap = norm(zip(together, single).map { $0 - $1 }) / norm(single)   // |difference| / |weights|
    let lossGap = zip(trainer.evaluations, alone.evaluations).map { max(abs($0.trainLoss - $1.trainLoss), abs($0.valLoss - $1.valLoss)) }.max() ?? 0
    print(String(format: "\none process alone, the same %d steps: losses differ by at most %.1e, weights by %.1e of their size",
                 settings.steps, lossGap, weightGap))
    exitOnError { try report.plotLoss([("\(group.size) processes", trainer), ("1 process", alone)],
                                      title: "\(report.heading): \(group.size) processes against 1") }
}

// MARK: - 4. Where a step's time goes
//
// A step has three parts: compute (forward and backward on this process's slice), communication (the
// all-reduce of every gradient) and the update (AdamW, the same on every process). A ring all-reduce, the
// algorithm MPI and NCCL use for large vectors, sends each process's gradients around the ring in N pieces
// and moves 2 (N - 1) / N of the gradient's bytes per process: once the gradient at N = 2, and never twice
// it, however many processes. So its cost grows with the model, hardly with N (plus a small latency per
// piece, which grows with N). Timed over 20 steps (the all-reduce's time includes any wait for the
// slower process):

section("4. Where a step's time goes")
func milliseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-6
}
var (compute, communicate, update) = (0.0, 0.0, 0.0)
let timingRandom = SeededRandom(seed: 0)
for _ in 0..<20 {
    let batch = dataset.batch(.train, batchSize: settings.batchSize, blockSize: settings.blockSize, random: timingRandom)
    let share = settings.batchSize / group.size
    trainer.parameters.zeroGrad()
    compute += milliseconds { trainer.loss(on: batch.sequences((group.rank * share)..<((group.rank + 1) * share)), training: true).backward() }
    communicate += milliseconds { group.average(trainer.parameters.grads) }
    update += milliseconds { trainer.optimizer.update(trainer.parameters, learningRate: 1e-6) }
}
let bytes = Double(model.parameterCount * 4), ring = 2 * Double(group.size - 1) / Double(group.size) * bytes
print(String(format: "per step: compute %.1f ms, all-reduce %.2f ms, update %.2f ms; the all-reduce is %.1f%% of the step",
             compute / 20, communicate / 20, update / 20, 100 * communicate / (compute + communicate + update)))
print(String(format: "the gradient: %.2f MB; a ring all-reduce moves 2(N-1)/N of it per process: %.2f MB at N = %d",
             bytes / 1e6, ring / 1e6, group.size))
print(String(format: "training tokens/s, all processes together: %.0f", trainer.tokensPerSecond))

// MARK: - 5. More processes than cores
//
// Four processes on two cores. Each step, every process waits in the all-reduce for the slowest, and
// Open MPI waits by spinning (polling is fastest when a core is free), so a process that waits still takes
// a core from one that computes. Process 0 starts a second job of 4 processes that times the same step on
// the same model (the other processes of this job step aside meanwhile, waiting without MPI so the cores
// stay free); compare its tokens/s with section 4's.

section("5. More processes than cores")
/// The second job's work: a few warm-up steps, then `steps` timed, and one line from process 0.
func timeStepsAndStop(_ steps: Int) -> Never {
    let (_, tokenizer, dataset) = options.loadChapterData(settings)
    let model = NanoGPT(GPTConfig(settings, vocabularySize: tokenizer.vocabularySize), seed: settings.seed)
    let trainer = DataParallelTrainer(model: model, dataset: dataset, hyperparameters: settings, processes: group)
    for _ in 0..<3 { trainer.trainStep() }
    let start = Date()
    for _ in 0..<steps { trainer.trainStep() }
    let seconds = Date().timeIntervalSince(start)
    print(String(format: "%d processes on %d cores: %.1f ms per step, %.0f tokens/s", group.size,
                 ProcessInfo.processInfo.activeProcessorCount, 1e3 * seconds / Double(steps),
                 Double(steps * settings.batchSize * settings.blockSize) / seconds))
    exit(0)
}
if group.rank == 0 {
    let arguments = Array(CommandLine.arguments.dropFirst()) + ["--timing-steps", "10"]
    let measured = MPIRun.output(processes: 4, arguments: arguments).split(separator: "\n")
        .last { $0.contains("processes on") }.map(String.init) ?? "the 4-process job gave no result"
    print(measured)
    print(String(format: "(%d processes, section 4: %.0f tokens/s)\n", group.size, trainer.tokensPerSecond))
    _ = FileManager.default.createFile(atPath: doneMarker.path, contents: nil)
} else {
    while !FileManager.default.fileExists(atPath: doneMarker.path) { usleep(20_000) }
}

// MARK: - 6. Across machines
//
// The program does not change: mpirun starts the processes wherever a hostfile says (`node1 slots=2` per
// line), and Open MPI picks the transport (shared memory on one machine, TCP or InfiniBand between them;
// `--mca btl tcp,self` forces TCP, which the tests run). Each machine needs the same build and the same
// text at the same path, and ssh between them without a password. The first process alone prints, logs
// and saves.

section("6. Across machines")
print("the same run on two machines of two cores each:")
print("  mpirun --hostfile hosts -np 4 .build/release/ch07 --data /data/tinyshakespeare.txt")
print("or for your own text: mpirun --hostfile hosts -np 4 .build/release/nanogpt train --data /data/my.txt --out runs/big")
exitOnError { try report.writeSummary(trainer: trainer, tokenizer: tokenizer, generationTokensPerSecond: 0) }
print("wrote \(report.folder.path)/: loss.png, summary.json")
