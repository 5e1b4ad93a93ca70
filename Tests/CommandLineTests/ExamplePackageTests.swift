// Examples/StreamText, a package of its own that depends on this one by path, built against the exported
// library products and run on a checkpoint that `nanogpt train` writes here.
import Foundation
import Testing

@Suite("The package as a dependency")
struct ExamplePackageTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `swift` with these arguments; nil when there is no swift on the PATH.
    static func swift(_ arguments: [String]) throws -> ProcessResult? {
        guard let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
            .map({ URL(fileURLWithPath: String($0)).appendingPathComponent("swift") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else { return nil }
        return try Executables.run(program: path, arguments)
    }

    @Test func streamTextBuildsAgainstTheLibrariesAndStreamsWhatNanogptGenerates() throws {
        let example = Self.packageRoot.appendingPathComponent("Examples/StreamText").path
        guard let build = try Self.swift(["build", "--package-path", example]) else {
            print("skipped: no swift on the PATH to build Examples/StreamText with")
            return
        }
        #expect(build.status == 0, "swift build --package-path Examples/StreamText failed:\n\(build.errors)\(build.output.suffix(3000))")
        let binFolder = try #require(try Self.swift(["build", "--package-path", example, "--show-bin-path"]))
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        let streamText = URL(fileURLWithPath: binFolder).appendingPathComponent("StreamText")

        // A checkpoint to stream from: a tiny model trained for 30 steps on made-up play text.
        let folder = Executables.temporaryFolder("example"), out = folder.appendingPathComponent("run")
        let data = Executables.writePlayText(to: folder)
        let train = try Executables.run("nanogpt", ["train", "--data", data, "--out", out.path, "--steps", "30",
                                                    "--eval-interval", "30", "--batch-size", "4", "--block-size", "8",
                                                    "--embedding-size", "16", "--heads", "2", "--layers", "1",
                                                    "--eval-iters", "2", "--threads", "1"])
        #expect(train.status == 0, "\(train.errors)")
        let checkpoint = out.appendingPathComponent("best").path

        let run = try Executables.run(program: streamText, [checkpoint, "ROMEO:"])
        let streamed = run.output
        #expect(run.status == 0, "\(run.errors)")
        #expect(streamed.hasPrefix("ROMEO:") && streamed.count > 100)
        // The example's settings (200 tokens, temperature 0.8, top-k 40, seed 1337) through nanogpt give the same text.
        let tool = try Executables.run("nanogpt", ["generate", "--checkpoint", checkpoint, "--prompt", "ROMEO:",
                                                   "--max-new-tokens", "200", "--temperature", "0.8", "--top-k", "40",
                                                   "--seed", "1337"])
        #expect(tool.status == 0 && tool.output == streamed)

        // A missing checkpoint is one line and a non-zero status, from the library's own error.
        let missing = try Executables.run(program: streamText, [folder.appendingPathComponent("nothing-here").path])
        #expect(missing.status == 1 && missing.errors.hasPrefix("StreamText: ") && missing.errors.split(separator: "\n").count == 1)
    }
}
