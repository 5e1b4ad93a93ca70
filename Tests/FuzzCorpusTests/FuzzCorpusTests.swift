import Foundation
import FuzzTargets
import Testing

/// Every input the fuzzers kept (Tests/Fuzz/Corpus: seeds, minimized coverage, past crashes), through the
/// same entry points as the libFuzzer binaries, so a fixed crash stays fixed without a fuzzer in CI.
@Suite("Fuzz corpora replayed")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    static func inputs(_ target: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: corpus.appendingPathComponent(target), includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzTargets.all.map(\.name))
    func everyCommittedInputEndsCleanly(target: String) throws {
        let run = FuzzTargets.all.first { $0.name == target }!.run
        let files = try Self.inputs(target)
        #expect(files.count >= 3, "the \(target) corpus is missing")
        var accepted = 0
        for file in files {
            switch run(try Data(contentsOf: file)) {
            case .accepted: accepted += 1
            case .refused(let message): #expect(!message.isEmpty)
            case .violated(let problem): Issue.record("\(target)/\(file.lastPathComponent): \(problem)")
            }
        }
        #expect(accepted >= 1, "no input of \(target) is accepted: the replay would not reach the code past the checks")
    }

    /// The seeds our code writes today are accepted (so a format change cannot silently leave the fuzzer
    /// starting from files that are refused at the first byte), and the committed seeds are too.
    @Test(arguments: FuzzTargets.all.map(\.name))
    func seedsAreAccepted(target: String) throws {
        let run = FuzzTargets.all.first { $0.name == target }!.run
        for (name, data) in try FuzzTargets.seeds(for: target) {
            #expect(run(data) == .accepted, "fresh seed \(name)")
            let committed = Self.corpus.appendingPathComponent(target).appendingPathComponent(name)
            #expect(run(try Data(contentsOf: committed)) == .accepted, "committed seed \(target)/\(name) (rewrite with scripts/fuzz.sh --seeds)")
        }
    }

    /// Each crash the fuzzers found is kept as regression-* and must now be refused (or accepted) cleanly.
    @Test func pastCrashesAreKept() throws {
        let regressions = try FuzzTargets.all.flatMap { try Self.inputs($0.name) }.filter { $0.lastPathComponent.hasPrefix("regression-") }
        #expect(regressions.count >= 3)
    }
}
