// swift-tools-version: 6.0
//
// The package graph is the syllabus. Read it top to bottom:
//
//   COpenBLAS, CGnuplotBridge   system glue: BLAS matrix products, gnuplot files
//   CPUCheck                    before main: does this CPU have the AVX2/FMA the build uses?
//   TensorCore                  tensors, reverse-mode autograd, AdamW      (chapter 00);
//                               its backends: the CPU, and an OpenCL device (chapter 05a)
//   FileFormats                 safetensors, strict JSON, atomic writes: the files the libraries read and write
//   Plotting                    loss curves and heatmaps through gnuplot
//   TextData                    corpus, character tokenizer, batches       (chapter 01),
//                               byte-pair tokenizer                        (chapter 06)
//   Training                    LanguageModel, the training loop, estimateLoss, sampling (chapter 01)
//   Layers                      Linear, Embedding, LayerNorm, token + position embedding (chapter 02)
//   Attention                   averaging the past, Head (chapter 02), MultiHead and its cache (chapter 03)
//   Transformer                 FeedForward and Block (chapter 04)
//   NanoGPT                     the full model, streaming generation with a key/value cache (chapter 05)
//   CInt8Kernels, Quantization  int8 weights in blocks of 32 for streaming, and their products (chapter 08)
//   Checkpoints                 a model (and a whole training run) to safetensors and back (chapter 05)
//   CMPI, DataParallel          training across processes and machines on Open MPI (nanogpt train --processes)
//   ChapterSupport              what only the executables share: flags, reports and plots, one-line exits,
//                               memory checks (the only library with ArgumentParser and Plotting)
//   Chapters/NN-*               one executable per concept: ch00 ... ch08, and ch05a and ch05b (asides after 05)
//   nanogpt, compare, bench     after the chapters: train/generate on any text, compare chapters, measure speed
//   Weaving, weave              each chapter's page (Chapters/NN-*/README.md) from its source and a run of it
//   FuzzTargets                 our file readers under arbitrary bytes (Tests/Fuzz builds libFuzzer binaries on it)
//
// Nothing in a library depends on a later one, TensorCore knows nothing about GPTs, and no model library
// imports the argument parser or the plot bridge. (Training comes before the model libraries because
// chapter 01 introduces the loop that every later chapter reuses.)
import PackageDescription

// SwiftPM builds for baseline x86-64 (SSE2) unless told otherwise. The kernels want AVX2 + FMA (without
// them the compiler splits every SIMD8<Float> into two SSE halves and calls expf one value at a time), so
// ask for them on x86_64 and leave other architectures alone.
// `-fno-math-errno` lets Swift's square root (which goes through C's sqrtf) become one vsqrtps for eight
// floats instead of eight calls that check for negative inputs to set errno: same results, and AdamW's
// update runs as SIMD (S's step ÷ sgemm 1.24 -> 1.20, `bench --configs S`).
//
// Release builds also drop Swift's run-time exclusivity checks (debug builds, and so the tests, keep them):
// every access to a class's stored property or a global otherwise calls swift_beginAccess. Dropping them
// took 8% off the instructions of `bench --model-only --configs T` (counted with valgrind --tool=callgrind).
//
// A CPU without AVX2/FMA gets one line at start-up (Sources/CPUCheck) instead of SIGILL, and
// `NANOGPT_PORTABLE=1 swift build -c release` builds for it: baseline x86-64, slower kernels.
let uncheckedExclusivity: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
#if arch(x86_64)
let needsX86_64_v3 = Context.environment["NANOGPT_PORTABLE"] == nil
#else
let needsX86_64_v3 = false
#endif
let fastMath: [SwiftSetting] = needsX86_64_v3
    ? [.unsafeFlags(["-Xcc", "-march=x86-64-v3", "-target-cpu", "haswell", "-Xcc", "-fno-math-errno"])] + uncheckedExclusivity
    : uncheckedExclusivity
let fastC: [CXXSetting] = needsX86_64_v3 ? [.unsafeFlags(["-march=x86-64-v3"])] : []
let cpuCheck: [CSetting] = needsX86_64_v3 ? [.define("NANOGPT_NEEDS_X86_64_V3")] : []

func chapter(_ name: String, _ folder: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name, dependencies: dependencies + [.product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Chapters/\(folder)", exclude: ["README.md", "Exercises.md", "Checklist.txt", "figures"], swiftSettings: fastMath)   // its page
}

let package = Package(
    name: "NanoGPTSwift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ch00", targets: ["ch00"]),
        .executable(name: "ch01", targets: ["ch01"]),
        .executable(name: "ch02", targets: ["ch02"]),
        .executable(name: "ch03", targets: ["ch03"]),
        .executable(name: "ch04", targets: ["ch04"]),
        .executable(name: "ch05", targets: ["ch05"]),
        .executable(name: "ch06", targets: ["ch06"]),
        .executable(name: "ch07", targets: ["ch07"]),
        .executable(name: "ch08", targets: ["ch08"]),
        .executable(name: "nanogpt", targets: ["nanogpt"]),
        .executable(name: "compare", targets: ["compare"]),
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "weave", targets: ["weave"]),
        // The libraries, for a package of your own (Examples/StreamText depends on them by path): the tensor
        // core, tokenizers and data, the training loop and sampling, the layers, the model with its streaming
        // generation, and checkpoints.
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "TensorCoreOpenCL", targets: ["TensorCoreOpenCL"]),
        .library(name: "FileFormats", targets: ["FileFormats"]),
        .library(name: "TextData", targets: ["TextData"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "Attention", targets: ["Attention"]),
        .library(name: "Transformer", targets: ["Transformer"]),
        .library(name: "NanoGPT", targets: ["NanoGPT"]),
        .library(name: "Quantization", targets: ["Quantization"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        // For the libFuzzer binaries in Tests/Fuzz (a package of their own, built by scripts/fuzz.sh).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // --- System glue -------------------------------------------------------------------
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        // Open MPI (Debian's libopenmpi-dev): MPI_Init, MPI_Allreduce, and the macros Swift cannot import.
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),
        .target(
            name: "CGnuplotBridge", path: "Sources/CGnuplotBridge",
            cxxSettings: fastC,
            linkerSettings: [.linkedLibrary("boost_iostreams"), .linkedLibrary("boost_filesystem"),
                             .linkedLibrary("boost_system")]),

        // --- Libraries, in the order the chapters introduce them ----------------------------
        // Runs before main: one clear line on a CPU this build cannot run on (compiled for baseline x86-64).
        .target(name: "CPUCheck", path: "Sources/CPUCheck", cSettings: cpuCheck),
        .target(name: "TensorCore", dependencies: ["COpenBLAS", "CPUCheck"], swiftSettings: fastMath),
        // The OpenCL backend (chapter 05a): OpenCL and CLBlast opened at run time, registered with TensorCore
        // by `OpenCLBackend.register()`, so the core names no device.
        .target(name: "TensorCoreOpenCL", dependencies: ["TensorCore"], swiftSettings: fastMath),
        // The files the libraries read and write: safetensors, strict JSON, atomic writes.
        .target(name: "FileFormats", dependencies: ["TensorCore"]),
        .target(name: "Plotting", dependencies: ["CGnuplotBridge"]),
        .target(name: "TextData", dependencies: ["TensorCore", "FileFormats"], swiftSettings: fastMath),
        .target(name: "Layers", dependencies: ["TensorCore"], swiftSettings: fastMath),
        .target(name: "Attention", dependencies: ["TensorCore", "Layers"], swiftSettings: fastMath),
        .target(name: "Transformer", dependencies: ["TensorCore", "Layers", "Attention"], swiftSettings: fastMath),
        .target(name: "Training", dependencies: ["TensorCore", "TextData"], swiftSettings: fastMath),
        .target(name: "NanoGPT", dependencies: ["TensorCore", "Layers", "Attention", "Transformer", "Training"],
                swiftSettings: fastMath),
        // Int8 weights for streaming (chapter 08): the Q8_0 blocks, and their products in C (AVX2, AVX512-VNNI).
        .target(name: "CInt8Kernels", path: "Sources/CInt8Kernels"),
        .target(name: "Quantization", dependencies: ["CInt8Kernels", "TensorCore", "TextData", "Training", "Layers", "Attention", "NanoGPT"],
                swiftSettings: fastMath),
        // Training across processes and machines: the ProcessGroup the Trainer needs, over Open MPI.
        .target(name: "DataParallel", dependencies: ["CMPI", "TensorCore", "Training"], swiftSettings: fastMath),
        .target(name: "Checkpoints", dependencies: ["TensorCore", "FileFormats", "TextData", "Training", "Attention", "NanoGPT",
                                                   "Quantization"],
                swiftSettings: fastMath),
        .target(name: "ChapterSupport",
                dependencies: ["TensorCore", "TensorCoreOpenCL", "FileFormats", "TextData", "Training", "NanoGPT", "Plotting",
                               .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // --- Chapters: one concept each -----------------------------------------------------
        chapter("ch00", "00-Tensors", ["TensorCore", "Plotting", "ChapterSupport"]),
        chapter("ch01", "01-Bigram", ["TensorCore", "Plotting", "TextData", "Training", "ChapterSupport"]),
        chapter("ch02", "02-SelfAttention", ["TensorCore", "TextData", "Training", "Layers", "Attention", "ChapterSupport"]),
        chapter("ch03", "03-MultiHead", ["TensorCore", "TextData", "Training", "Layers", "Attention", "ChapterSupport"]),
        chapter("ch04", "04-Block", ["TensorCore", "Plotting", "TextData", "Training", "Layers", "Attention", "Transformer", "ChapterSupport"]),
        chapter("ch05", "05-NanoGPT", ["TensorCore", "TextData", "Training", "NanoGPT", "Checkpoints", "ChapterSupport"]),
        chapter("ch05b", "05b-TiledAttention", ["TensorCore", "Plotting", "ChapterSupport"]),
        chapter("ch05a", "05a-Device", ["TensorCore", "TensorCoreOpenCL", "Plotting", "TextData", "Training", "NanoGPT", "ChapterSupport"]),
        chapter("ch07", "07-DataParallel", ["TensorCore", "TextData", "Training", "NanoGPT", "DataParallel", "ChapterSupport"]),
        chapter("ch08", "08-Precision", ["TensorCore", "TextData", "Training", "Layers", "Attention", "NanoGPT", "Quantization", "Checkpoints", "Plotting",
                                         "ChapterSupport"]),
        chapter("ch06", "06-Tokens", ["TensorCore", "FileFormats", "Plotting", "TextData", "Training", "NanoGPT", "Checkpoints", "ChapterSupport"]),

        // The tool for after the chapters: nanogpt train / nanogpt generate.
        .executableTarget(
            name: "nanogpt", dependencies: ["TensorCore", "TextData", "Training", "Plotting", "NanoGPT", "Quantization", "Checkpoints", "DataParallel",
                                            "ChapterSupport",
                                            .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/NanoGPTCommand", swiftSettings: fastMath),

        // Reads every chapter's summary.json: one val-loss plot and a Markdown table.
        .executableTarget(
            name: "compare", dependencies: ["TensorCore", "FileFormats", "Plotting", "ChapterSupport",
                                            .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Compare"),

        // --- The chapters' pages: main.swift and a real run, woven into Chapters/NN-*/README.md ----
        .target(name: "Weaving"),
        .executableTarget(
            name: "weave", dependencies: ["Weaving", "ChapterSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Weave"),

        // --- Measurements (never timed in tests) --------------------------------------------
        .executableTarget(
            name: "bench", dependencies: ["TensorCore", "COpenBLAS", "Attention", "TextData", "Training", "NanoGPT", "Quantization",
                                          "ChapterSupport", "DataParallel",
                                          .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Benchmarks", swiftSettings: fastMath),

        // --- Hostile input: what the fuzz targets run (Tests/Fuzz), and the tests replay ----------
        .target(name: "FuzzTargets", dependencies: ["TensorCore", "FileFormats", "TextData", "Training", "NanoGPT", "Checkpoints"]),

        // --- Tests ---------------------------------------------------------------------------
        // The `.onEveryDevice` trait: a test on the CPU, then again on the OpenCL device when there is one.
        .target(name: "DeviceTesting", dependencies: ["TensorCore", "TensorCoreOpenCL"], path: "Tests/DeviceTesting"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TensorCoreOpenCL", "DeviceTesting"], swiftSettings: fastMath),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        // Fixtures/ holds GPT-2's pre-split of a random text, written by Tests/Reference/write_presplit_fixture.py.
        .testTarget(name: "TextDataTests", dependencies: ["TextData", "FileFormats"], exclude: ["Fixtures"]),
        // Fixtures/ holds golden values written by Tests/Reference/nanogpt_reference.py (PyTorch).
        .testTarget(name: "ModelTests", dependencies: ["TensorCore", "TensorCoreOpenCL", "FileFormats", "Layers", "Attention", "Transformer", "NanoGPT", "Training", "Quantization",
                                                      "Checkpoints", "ChapterSupport", "DeviceTesting"],
                    exclude: ["Fixtures"]),
        // Runs every executable (chapters in --quick mode, compare, nanogpt), so it depends on them.
        .testTarget(name: "CommandLineTests", dependencies: ["TensorCore", "FileFormats", "DeviceTesting", "ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch05a", "ch05b", "ch06", "ch07", "ch08", "compare",
                                                            "nanogpt", "weave"]),
        // The committed pages against the sources they were woven from (the drift test), and the weave's parts.
        .testTarget(name: "WeaveTests", dependencies: ["Weaving"]),
        // Every input in Tests/Fuzz/Corpus, through the same entry points as the fuzzers.
        .testTarget(name: "FuzzCorpusTests", dependencies: ["FuzzTargets"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
