// nanogpt quantize: a checkpoint's matrices as int8 blocks, in a file about a quarter of the size, which
// `nanogpt generate` loads and runs in int8.
import ArgumentParser
import Checkpoints
import Foundation
import NanoGPT
import Quantization
import TextData

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint with int8 weights (blocks of 32 with one scale each, Q8_0), for `generate`.",
        discussion: """
            Every matrix that a product multiplies by (attention, projection, feed-forward, output head) is
            stored as blocks of 32 int8 values with one half-precision scale each; the embedding tables, biases
            and LayerNorm gains stay float32. `nanogpt generate --checkpoint FILE` runs it in int8.
            With --data, it also measures what int8 costs this model: the val loss in float32 and in int8 on
            the same batches of that text, and how many of the first greedy tokens stay the same.
            """)

    @Option(help: "Run folder (its best/, else latest/), checkpoint folder or .safetensors file.") var checkpoint: String
    @Option(help: "The int8 file to write (.safetensors).") var out: String
    @Option(help: "JSON config and vocabulary, for a safetensors file without our metadata.") var config: String?
    @Option(help: "A text to measure int8 against float32 on (its last 10% is the val split, as in training).") var data: String?
    @Option(help: "With --data: val batches of 16 sequences averaged, each way.") var evalBatches = 50
    @Option(help: "With --data: greedy tokens compared.") var greedyTokens = 1_000

    func validate() throws {
        guard (1...100_000).contains(evalBatches) else { throw ValidationError("--eval-batches must be in 1...100000, got \(evalBatches)") }
        guard (1...1_000_000).contains(greedyTokens) else { throw ValidationError("--greedy-tokens must be in 1...1000000, got \(greedyTokens)") }
    }

    func run() throws {
        let destination = URL(fileURLWithPath: out)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: destination.path, isDirectory: &isFolder), isFolder.boolValue {
            throw CommandFailure(description: "--out \(out) is a folder: give the file to write, e.g. \(out)/model-int8.safetensors")
        }
        let source = Generate.checkpointFolder(checkpoint)
        let loaded = try Checkpoint.load(from: source, configFile: config.map { URL(fileURLWithPath: $0) })
        guard loaded.metadata["weights"] != Checkpoint.int8Weights else {
            throw CommandFailure(description: "\(checkpoint) is already int8")
        }
        // The text to measure on is read before anything is written, so that a bad --data fails first.
        let dataset = try data.map { try TokenDataset(text: try Corpus.load(path: $0), tokenizer: loaded.tokenizer,
                                                      blockSize: loaded.model.config.blockSize) }
        let input = source.hasDirectoryPath || (try? source.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true
            ? source.appendingPathComponent(Checkpoint.weightsFile) : source
        guard input.standardizedFileURL.path != destination.standardizedFileURL.path else {
            throw CommandFailure(description: "--out would overwrite the checkpoint it reads: choose another file")
        }
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Checkpoint.saveInt8(loaded.model, tokenizer: loaded.tokenizer, step: loaded.step, to: destination)
        func size(_ url: URL) -> String {
            let bytes = Double((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0)
            return bytes >= 1e6 ? String(format: "%.2f MB", bytes / 1e6) : String(format: "%.1f kB", bytes / 1e3)
        }
        print("wrote \(destination.path): \(size(destination)), against \(size(input)) in float32 "
              + "(\(loaded.model.multiplyingMatrices.count) matrices in int8 blocks)")
        guard let dataset else { return }
        let quality = Int8Quality(of: loaded.model, dataset: dataset, evaluationBatches: evalBatches, batchSize: 16,
                                  seed: 1337, greedyTokens: greedyTokens, start: loaded.tokenizer.startToken)
        print(String(format: "val loss over %d batches of 16: float32 %.5f (%.4f bits per token), int8 %.5f (%.4f): %+.5f nats",
                     evalBatches, quality.float32Loss, quality.float32Loss / log(2), quality.int8Loss, quality.int8Loss / log(2),
                     quality.int8Loss - quality.float32Loss))
        print("greedy decoding: the first \(quality.agreeing) of \(greedyTokens) tokens are the same")
    }
}
