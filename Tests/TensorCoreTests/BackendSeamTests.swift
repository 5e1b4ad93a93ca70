import Foundation
import Testing
@testable import TensorCore

/// The backend contract (Sources/TensorCore/Backend/Backend.swift) holds only if nothing above the
/// backend reaches into memory, and if what it promises about randomness is true.
@Suite("Backend seam") struct BackendSeamTests {
    /// No source file outside the backends (Sources/TensorCore/Backend/, Sources/TensorCoreOpenCL/), tests,
    /// chapters and tools included, uses a raw
    /// memory accessor: storages are opaque, and numbers cross only through explicit host copies.
    @Test func nothingAboveTheBackendTouchesRawMemory() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // `.pointer` as a whole word (Plotting's C strings, `titles.pointers`, are not tensor memory).
        let accessors = [#/\.pointer\b/#, #/\.memory\b/#, #/HostMemory/#, #/BufferPool\.take/#]
        var offenders: [String] = []
        for folder in ["Sources", "Chapters", "Tests"] {
            let files = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path)!
            for case let file as String in files where file.hasSuffix(".swift") {
                let path = "\(folder)/\(file)"
                if path.hasPrefix("Sources/TensorCore/Backend/") || path.hasPrefix("Sources/TensorCoreOpenCL/")
                    || path.hasSuffix("BackendSeamTests.swift") { continue }
                let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    if accessors.contains(where: { line.contains($0) }) { offenders.append("\(path):\(number + 1): \(line)") }
                }
            }
        }
        #expect(offenders.isEmpty, "raw memory above the backend:\n\(offenders.joined(separator: "\n"))")
    }

    /// Random123's published known answers for Philox4x32-10 (Salmon et al. 2011, its kat_vectors).
    @Test func philoxGivesThePublishedKnownAnswers() {
        #expect(Philox4x32.block(SIMD4(0, 0, 0, 0), key: SIMD2(0, 0)) == SIMD4(0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8))
        #expect(Philox4x32.block(SIMD4(repeating: 0xFFFF_FFFF), key: SIMD2(repeating: 0xFFFF_FFFF))
                == SIMD4(0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD))
        #expect(Philox4x32.block(SIMD4(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344), key: SIMD2(0xA409_3822, 0x299F_31D0))
                == SIMD4(0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1))
    }

    /// A dropout mask is a function of (seed, stream, element): a longer mask starts with the shorter one,
    /// another stream or seed gives another mask, and the drop rate is what was asked for.
    @Test func aDropoutMaskDependsOnlyOnSeedStreamAndElement() {
        let backend = CPUBackend.shared
        func mask(count: Int, seed: UInt64, stream: UInt64) -> [Float] {
            let storage = Storage(count: count)
            backend.dropoutMask(probability: 0.25, seed: seed, stream: stream, mask: storage)
            return storage.toHost()
        }
        let long = mask(count: 10_001, seed: 9, stream: 4)
        #expect(Array(long.prefix(7)) == mask(count: 7, seed: 9, stream: 4))
        #expect(mask(count: 64, seed: 9, stream: 5) != Array(long.prefix(64)))
        #expect(mask(count: 64, seed: 10, stream: 4) != Array(long.prefix(64)))
        #expect(Set(long) == [0, 1 / 0.75])
        let dropped = Double(long.filter { $0 == 0 }.count) / Double(long.count)
        #expect(abs(dropped - 0.25) < 0.02)
    }
}

@Suite("Package graph") struct PackageGraphTests {
    /// The model libraries hold concepts only: none of them imports the argument parser or the plot bridge
    /// (those are ChapterSupport's, for the executables).
    @Test func noModelLibraryImportsTheArgumentParserOrThePlotBridge() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var offenders: [String] = []
        for library in ["TensorCore", "TextData", "Training", "Layers", "Attention", "Transformer", "NanoGPT", "Quantization", "Checkpoints"] {
            let folder = sources.appendingPathComponent(library)
            for case let file as String in FileManager.default.enumerator(atPath: folder.path)! where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    if ["ArgumentParser", "Plotting", "CGnuplotBridge", "ChapterSupport"].contains(where: { line.hasSuffix(" " + $0) }) {
                        offenders.append("\(library)/\(file): \(line)")
                    }
                }
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    /// Building a model to load weights into draws no random numbers.
    @Test func withoutInitializationDrawsNothing() {
        let random = SeededRandom(seed: 4)
        let before = random.state
        let weight = withoutInitialization { Tensor.normal([3, 5], std: 0.02, random: random, requiresGrad: true) }
        #expect(random.state == before && weight.shape == [3, 5])
        _ = Tensor.normal([2], std: 1, random: random)
        #expect(random.state != before)   // and outside it, drawing works as before
    }
}
