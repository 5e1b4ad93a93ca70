// bench --tokenizer-text FILE: the byte-pair tokenizer of chapter 06, trained and run on a real text, and,
// with --compare-tokenizers, Hugging Face `tokenizers` (Rust) doing the same in the same run
// (Tests/Reference/hf_tokenizer_reference.py; pip install tokenizers).
import Foundation
import TextData

extension Bench {
    func tokenizerBenchmark(file: String) {
        let text: String
        do { text = try Corpus.readText(at: file) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(1)
        }
        print("Byte-pair tokenizer on \(file) (\(text.utf8.count) bytes), vocabulary \(vocabularySize), best of \(tokenizerRepeats):")
        print("pre-split   train s   encode s   tokens    | HF train s   HF encode s   HF tokens   | HF ÷ ours: train   encode")
        for split in PreSplit.allCases {
            var trainTimes: [Double] = [], encodeTimes: [Double] = [], tokenCount = 0
            for _ in 0..<tokenizerRepeats {
                var tokenizer: BytePairTokenizer? = nil
                trainTimes.append(seconds { tokenizer = try? BytePairTokenizer.train(on: text, vocabularySize: vocabularySize, preSplit: split) })
                encodeTimes.append(seconds { tokenCount = tokenizer?.encode(text).count ?? 0 })
            }
            var line = split.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(format: " %9.3f %10.3f %9d", trainTimes.min()!, encodeTimes.min()!, tokenCount)
            if compareTokenizers, let theirs = huggingFace(file: file, split: split) {
                line += String(format: "    | %10.3f %13.3f %11d   | %15.1fx %7.1fx", theirs.train, theirs.encode, theirs.tokens,
                               theirs.train / trainTimes.min()!, theirs.encode / encodeTimes.min()!)
            }
            print(line)
        }
    }

    /// Runs the Hugging Face reference; nil (with a note) when python3 or `tokenizers` is missing.
    func huggingFace(file: String, split: PreSplit) -> (train: Double, encode: Double, tokens: Int)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Without a pre-split, HF's trainer treats the whole text as one word: minutes per run, so one run.
        process.arguments = ["python3", "Tests/Reference/hf_tokenizer_reference.py", file, "--vocabulary-size", String(vocabularySize),
                             "--pre-split", split.rawValue, "--repeats", split == .none ? "1" : String(tokenizerRepeats)]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { print("  cannot run python3: \(error)"); return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let train = object["train_seconds"] as? Double, let encode = object["encode_seconds"] as? Double,
              let tokens = object["tokens"] as? Int else {
            print("  the HF reference failed (pip install tokenizers)"); return nil
        }
        return (train, encode, tokens)
    }
}
