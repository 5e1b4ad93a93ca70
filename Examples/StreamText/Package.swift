// swift-tools-version: 6.0
//
// A program of your own that uses NanoGPTSwift as a library: it loads a checkpoint written by
// `nanogpt train` (or chapter 05) and streams text from it. It depends on the package by path; in your
// own package, point `path:` at your copy of NanoGPTSwift.
import PackageDescription

let package = Package(
    name: "StreamText",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "NanoGPTSwift", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "StreamText",
            dependencies: [
                .product(name: "NanoGPT", package: "NanoGPTSwift"),       // the model, generateStream
                .product(name: "Checkpoints", package: "NanoGPTSwift"),   // Checkpoint.load
                .product(name: "Training", package: "NanoGPTSwift"),      // SamplingOptions
                .product(name: "TensorCore", package: "NanoGPTSwift"),    // SeededRandom
            ]),
    ]
)
