// nanogpt generate: load a saved model and stream text from it.
import ArgumentParser
import ChapterSupport
import Checkpoints
import Foundation
import NanoGPT
import Quantization
import TensorCore
import TextData
import Training

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream text from a saved model, each token as soon as it is sampled.",
        discussion: """
            --checkpoint takes a run folder (runs/nanogpt: its best/, else its latest/), a checkpoint folder
            (runs/nanogpt/latest) or a .safetensors file. A file
            written elsewhere (e.g. by PyTorch, with the same tensor names) needs its config and vocabulary:
            --config FILE.json, or config.json beside it, holding {"vocabularySize", "blockSize",
            "embeddingSize", "heads", "layers", "characters": ["\\n", " ", ...]}. Checkpoints trained with --tokenizer bpe carry their merges.
            Without --prompt, the prompt is asked for on a terminal, or read from standard input.
            --weights int8 quantizes the matrices at load (blocks of 32 int8 values with one scale each), a
            quarter of the bytes to read for every token; a file written by `nanogpt quantize` runs in int8
            unless told --weights float32. Int8 runs on the CPU.
            """)

    enum Weights: String, ExpressibleByArgument, CaseIterable { case float32, int8 }

    @Option(help: "Run folder (its best/, else latest/), checkpoint folder or .safetensors file.") var checkpoint: String
    @Option(help: "Text to continue (default: ask, or read standard input).") var prompt: String?
    @Option(help: "Tokens to generate.") var maxNewTokens = 500
    @Option(help: "Sampling temperature, > 0: lower is more predictable.") var temperature: Float = 1
    @Option(help: "Sample only from the k most likely tokens.") var topK: Int?
    @Option(help: "Sample only from the most likely tokens whose probabilities add up to p, in (0, 1].") var topP: Float?
    @Option(help: "Random seed: the same seed and flags give the same text.") var seed: UInt64 = 1337
    @Option(help: "JSON config and vocabulary, for a safetensors file without our metadata.") var config: String?
    @Option(help: "BLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Where the model runs: cpu or opencl (a checkpoint from either loads on either). Default: $NANOGPT_DEVICE, else cpu.")
    var device: Device?
    @Option(help: "Weights to compute with: float32 or int8 (default: what the file holds).") var weights: Weights?
    @Flag(help: "Print the whole text at the end instead of streaming it.") var noStream = false
    @Flag(help: "Recompute the whole context for every token (the original method; exact when sliding past the block size) instead of using the key/value cache.")
    var recompute = false

    func validate() throws {
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens cannot be negative, got \(maxNewTokens)") }
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be > 0, got \(temperature)") }
        if let topK, topK <= 0 { throw ValidationError("--top-k must be positive, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    func run() throws {
        if let threads { BLAS.threadCount = threads }
        try Devices.select(device)
        let loaded = try Checkpoint.load(from: Self.checkpointFolder(checkpoint), configFile: config.map { URL(fileURLWithPath: $0) })
        let storedInt8 = loaded.metadata["weights"] == Checkpoint.int8Weights
        if (weights ?? (storedInt8 ? .int8 : .float32)) == .int8 {
            guard Backends.current is CPUBackend else {
                throw CommandFailure(description: "int8 weights run on the CPU only: use --device cpu, or --weights float32")
            }
            if !storedInt8 { loaded.model.useInt8Weights() }
        } else if storedInt8 {
            loaded.model.useFloat32Weights()   // the int8 blocks' values, d x q, in float32
        }
        let text = prompt ?? readPrompt()
        // An empty prompt starts from the tokenizer's start token (a newline), which is not printed.
        let ids = text.isEmpty ? [loaded.tokenizer.startToken] : try loaded.tokenizer.encode(text)
        let options = SamplingOptions(temperature: temperature, topK: topK, topP: topP)
        let stream = loaded.model.generateStream(prompt: ids, maxNewTokens: maxNewTokens, options: options,
                                                 random: SeededRandom(seed: seed), mode: recompute ? .recompute : .decode)
        let start = Date()
        var generated: [Int] = []
        if noStream {
            generated = Array(stream)
            print(text + loaded.tokenizer.decode(generated))
        } else {
            print(text, terminator: "")
            var printable = loaded.tokenizer.streamingDecoder()   // never prints half a character
            for token in stream {
                print(printable.text(after: token), terminator: "")
                fflush(stdout)
                generated.append(token)
            }
            print(printable.finish())
        }
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data(String(format: "%d tokens in %.2f s: %.0f tokens/s\n", generated.count, seconds,
                                                   Double(generated.count) / max(seconds, 1e-9)).utf8))
    }

    /// A run folder (what `nanogpt train --out` wrote) stands for its best/ checkpoint, else its latest/;
    /// which one is said on stderr. Anything else is used as given.
    static func checkpointFolder(_ path: String) -> URL {
        let url = URL(fileURLWithPath: path)
        let manager = FileManager.default
        guard !manager.fileExists(atPath: url.appendingPathComponent(Checkpoint.weightsFile).path) else { return url }
        for (name, why) in [("best", "the lowest val loss"), ("latest", "the newest; no best/ yet")] {
            let candidate = url.appendingPathComponent(name)
            if manager.fileExists(atPath: candidate.appendingPathComponent(Checkpoint.weightsFile).path) {
                FileHandle.standardError.write(Data("loading \(candidate.path) (\(why))\n".utf8))
                return candidate
            }
        }
        return url
    }

    /// Asks on a terminal; otherwise reads all of standard input.
    func readPrompt() -> String {
        if isatty(STDIN_FILENO) != 0 {
            print("prompt> ", terminator: "")
            fflush(stdout)
            return readLine(strippingNewline: true) ?? ""
        }
        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
}
