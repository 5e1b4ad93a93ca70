// swift-tools-version: 6.0
//
// The libFuzzer binaries: one per reader of untrusted files, each a thin shell around an entry point in
// the main package's FuzzTargets library (which the test suite also replays the corpora through).
// A package of its own so that the main package's `swift build` and `swift test` never link them
// (libFuzzer supplies `main`). Built and run by scripts/fuzz.sh, with -sanitize=fuzzer,address.
import PackageDescription

func fuzzer(_ name: String) -> Target {
    .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzerMain"], path: "Sources/\(name)")
}

let package = Package(
    name: "Fuzz",
    dependencies: [.package(name: "NanoGPTSwift", path: "../..")],
    targets: [
        // libFuzzer's entry point, declared for Swift. SwiftPM gives every executable its own `main`, so
        // each target's main.swift hands its target to libFuzzer's driver (FuzzerMain) instead.
        .target(name: "LibFuzzerDriver", path: "Sources/LibFuzzerDriver"),
        // The main every binary shares: seeds, or the driver running one target.
        .target(name: "FuzzerMain", dependencies: ["LibFuzzerDriver", .product(name: "FuzzTargets", package: "NanoGPTSwift")],
                path: "Sources/FuzzerMain"),
        fuzzer("safetensors"), fuzzer("checkpoint"), fuzzer("tokenizer"),
    ],
    swiftLanguageModes: [.v5]
)
