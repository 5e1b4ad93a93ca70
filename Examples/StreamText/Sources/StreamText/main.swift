// StreamText CHECKPOINT [PROMPT]: streams 200 tokens from a model saved by `nanogpt train`, using only
// the public API of NanoGPTSwift's libraries.
import Checkpoints   // Checkpoint.load: weights, config and tokenizer from one file
import Foundation
import NanoGPT       // the model and generateStream
import TensorCore    // SeededRandom: the same seed gives the same text
import Training      // SamplingOptions: temperature, top-k, top-p

let arguments = CommandLine.arguments.dropFirst()
guard let path = arguments.first else {
    FileHandle.standardError.write(Data("usage: StreamText CHECKPOINT [PROMPT]\n".utf8))
    exit(2)
}
let prompt = arguments.dropFirst().first ?? "\n"
func show(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }   // unbuffered: each piece at once

do {
    // A checkpoint folder (runs/nanogpt/best) or a .safetensors file: the weights, the config, the tokenizer.
    let loaded = try Checkpoint.load(from: URL(fileURLWithPath: path))
    var decoder = loaded.tokenizer.streamingDecoder()   // holds back half a UTF-8 character until it is whole
    show(prompt)
    let tokens = loaded.model.generateStream(prompt: try loaded.tokenizer.encode(prompt), maxNewTokens: 200,
                                             options: SamplingOptions(temperature: 0.8, topK: 40),
                                             random: SeededRandom(seed: 1337))
    for token in tokens {   // each token as soon as it is sampled
        show(decoder.text(after: token))
    }
    show(decoder.finish() + "\n")
} catch {
    FileHandle.standardError.write(Data("StreamText: \(error)\n".utf8))
    exit(1)
}
