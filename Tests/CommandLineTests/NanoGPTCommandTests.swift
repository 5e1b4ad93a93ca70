// nanogpt train / generate, end to end through the executable, and every bad input it must refuse.
import FileFormats
import Foundation
import TensorCore
import Testing

@Suite("nanogpt train and generate", .serialized)
struct NanoGPTCommandTests {
    let folder = Executables.temporaryFolder("nanogpt")
    /// A model small enough to train in well under a second.
    let tiny = ["--batch-size", "4", "--block-size", "8", "--embedding-size", "16", "--heads", "2", "--layers", "1",
                "--eval-iters", "2", "--threads", "1"]

    func train(_ arguments: [String]) throws -> ProcessResult { try Executables.run("nanogpt", ["train"] + arguments) }
    func generate(_ arguments: [String]) throws -> ProcessResult { try Executables.run("nanogpt", ["generate"] + arguments) }

    func logLines(_ run: URL) throws -> [String] {
        try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").map {
            // Everything but the wall-clock seconds must match between runs.
            String($0.replacingOccurrences(of: #","seconds":[0-9.]+"#, with: "", options: .regularExpression))
        }
    }

    func weights(_ checkpoint: URL) throws -> [String: SafeTensors.Entry] {
        try SafeTensors.decode(Data(contentsOf: checkpoint.appendingPathComponent("model.safetensors"))).tensors
    }

    @Test func trainingWritesCheckpointsLogAndPlot() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("run")
        let run = try train(["--data", data, "--out", out.path, "--steps", "40", "--eval-interval", "20"] + tiny)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("step 40: train loss "))
        for file in ["latest/model.safetensors", "latest/optimizer-step000040.safetensors", "best/model.safetensors",
                     "log.jsonl", "loss.dat", "loss.gp"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file) missing")
        }
        let log = try logLines(out)
        #expect(log.count == 3 && log[0].hasPrefix(#"{"step":0,"#) && log[2].hasPrefix(#"{"step":40,"#))
        // Only the newest optimizer file is kept.
        let latest = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("latest").path)
        #expect(latest.filter { $0.hasPrefix("optimizer-") } == ["optimizer-step000040.safetensors"])
    }

    @Test func plotOverlaysRunsAndRefusesWhatIsNotALog() throws {
        let data = Executables.writePlayText(to: folder)
        let first = folder.appendingPathComponent("plot-a"), second = folder.appendingPathComponent("plot-b")
        #expect(try train(["--data", data, "--out", first.path, "--steps", "20", "--eval-interval", "10"] + tiny).status == 0)
        #expect(try train(["--data", data, "--out", second.path, "--steps", "30", "--eval-interval", "10", "--seed", "7"] + tiny).status == 0)
        let out = folder.appendingPathComponent("plots")
        let run = try Executables.run("nanogpt", ["plot", first.path, second.appendingPathComponent("log.jsonl").path,
                                                  "--against", "tokens", "--out", out.path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("plot-a: 3 evaluations, last at step 20"))
        #expect(run.output.contains("plot-b: 4 evaluations, last at step 30"))
        #expect(run.output.contains("val loss"))   // the terminal chart's title
        let dat = try String(contentsOf: out.appendingPathComponent("loss-comparison.dat"), encoding: .utf8)
        #expect(dat.contains("# index 0: plot-a: val") && dat.contains("# index 3: plot-b: train"))
        #expect(dat.contains("\n320 "))   // tokens on x: 10 steps of B x T = 4 x 8 tokens
        for file in ["loss-comparison.gp", "loss-comparison.png"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file) missing")
        }
        // Bad input: one line, non-zero exit.
        let empty = folder.appendingPathComponent("empty.jsonl"), broken = folder.appendingPathComponent("broken.jsonl")
        try Data().write(to: empty)
        try Data("{\"step\":0,\"tokens\":0,\"train_loss\":4.1,\"val_loss\":4.2}\nnot json\n".utf8).write(to: broken)
        for (arguments, message) in [([folder.appendingPathComponent("nowhere").path], "no such run folder"),
                                     ([empty.path], "the log is empty"), ([broken.path], "line 2: not a log entry"),
                                     ([first.path, "--against", "epochs"], "epochs"), ([String]() , "run")] {
            let bad = try Executables.run("nanogpt", ["plot"] + arguments + ["--out", out.path])
            #expect(bad.status != 0, "\(arguments)")
            #expect(bad.errors.split(separator: "\n").count == 1 && bad.errors.contains(message), "\(arguments): \(bad.errors)")
        }
    }

    @Test func trainingTwiceAsLongEqualsTrainingThenResuming() throws {
        let data = Executables.writePlayText(to: folder)
        let once = folder.appendingPathComponent("once"), twice = folder.appendingPathComponent("twice")
        // Dropout on, so the resumed run must also restore the dropout generator.
        let common = ["--data", data, "--eval-interval", "10", "--dropout", "0.1", "--decay-steps", "40"] + tiny
        #expect(try train(common + ["--out", once.path, "--steps", "40"]).status == 0)
        #expect(try train(common + ["--out", twice.path, "--steps", "20"]).status == 0)
        let resumed = try train(["--resume", twice.path, "--steps", "40", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("resuming \(twice.path) at step 20"))

        let straight = try logLines(once), split = try logLines(twice)
        #expect(straight.count == 5)
        #expect(straight == split)   // every train and val loss, bit for bit as printed
        #expect(try weights(once.appendingPathComponent("latest")) == weights(twice.appendingPathComponent("latest")))
    }

    @Test func resumingRefusesChangedSettingsAndOtherText() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("fixed")
        #expect(try train(["--data", data, "--out", out.path, "--steps", "10", "--eval-interval", "10"] + tiny).status == 0)
        let changed = try train(["--resume", out.path, "--steps", "20", "--layers", "3"])
        #expect(changed.status != 0 && changed.errors.contains("--layers cannot change when resuming"))
        let other = folder.appendingPathComponent("other.txt")
        try String(repeating: "a different text entirely. ", count: 400).write(to: other, atomically: true, encoding: .utf8)
        let otherText = try train(["--resume", out.path, "--steps", "20", "--data", other.path])
        #expect(otherText.status != 0 && otherText.errors.contains("the text differs"))
        let again = try train(["--data", data, "--out", out.path, "--steps", "10"] + tiny)
        #expect(again.status != 0 && again.errors.contains("already holds a run"))
        let done = try train(["--resume", out.path])
        #expect(done.status != 0 && done.errors.contains("already reached step 10"))
    }

    /// A saved run's settings are input like any other: each crafted one ends in one line naming the
    /// file and the field, before anything is built from it.
    @Test func resumingRefusesCraftedSavedSettings() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("crafted")
        #expect(try train(["--data", data, "--out", out.path, "--steps", "4", "--eval-interval", "4"] + tiny).status == 0)
        let model = out.appendingPathComponent("latest/model.safetensors")
        let original = try Data(contentsOf: model)
        /// Rewrites one field of the saved hyperparameters (a JSON object in the file's metadata).
        func resume(setting field: String, to value: Any) throws -> ProcessResult {
            var (tensors, metadata) = try SafeTensors.decode(original)
            var settings = try JSONSerialization.jsonObject(with: Data(metadata["hyperparameters"]!.utf8)) as! [String: Any]
            settings[field] = value
            metadata["hyperparameters"] = String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
            let named = tensors.keys.sorted().map { ($0, Tensor(shape: tensors[$0]!.shape, values: tensors[$0]!.values)) }
            try SafeTensors.encode(named, metadata: metadata).write(to: model)
            defer { try? original.write(to: model) }
            return try train(["--resume", out.path, "--steps", "8", "--threads", "1"])
        }
        let file = "\(out.path)/latest/model.safetensors: hyperparameters."
        expectRefusal(try resume(setting: "heads", to: 0), file + "heads must be positive, got 0")
        expectRefusal(try resume(setting: "evalInterval", to: 0), file + "evalInterval must be positive, got 0")
        expectRefusal(try resume(setting: "batchSize", to: -3), file + "batchSize must be positive, got -3")
        expectRefusal(try resume(setting: "batchSize", to: 1 << 40), file + "batchSize is 1099511627776, above the limit")
        expectRefusal(try resume(setting: "learningRate", to: -1), file + "learningRate must be a positive number")
        expectRefusal(try resume(setting: "dropout", to: 1.5), file + "dropout must be in [0, 1)")
        // Settings that are valid on their own but contradict the saved model.
        expectRefusal(try resume(setting: "blockSize", to: 16), file + "blockSize is 16 but the saved model's config says 8")
        expectRefusal(try resume(setting: "heads", to: 4), file + "heads is 4 but the saved model's config says 2")
        expectRefusal(try resume(setting: "layers", to: 2), file + "layers is 2 but the saved model's config says 1")
        expectRefusal(try resume(setting: "embeddingSize", to: 32), file + "embeddingSize is 32 but the saved model's config says 16")
        expectRefusal(try resume(setting: "steps", to: "many"), "\(out.path)/latest/model.safetensors: metadata hyperparameters: steps: expected Int")
        // The optimizer file is read with the same care.
        let optimizer = try FileManager.default.contentsOfDirectory(at: out.appendingPathComponent("latest"), includingPropertiesForKeys: nil)
            .first { $0.lastPathComponent.hasPrefix("optimizer-") }!
        let moments = try Data(contentsOf: optimizer)
        for (bytes, fragment) in [(moments.prefix(moments.count - 4), "lie outside the"), (Data("garbage!garbage!".utf8), "above the 100000000-byte limit"),
                                  (try SafeTensors.encode([("first_moment", Tensor.zeros([3])), ("second_moment", Tensor.zeros([3]))]),
                                   "the moments have shapes [3] and [3]")] {
            try bytes.write(to: optimizer)
            expectRefusal(try train(["--resume", out.path, "--steps", "8", "--threads", "1"]), "\(optimizer.path): ")
            expectRefusal(try train(["--resume", out.path, "--steps", "8", "--threads", "1"]), fragment)
        }
        try moments.write(to: optimizer)
        // The untouched run still resumes.
        #expect(try train(["--resume", out.path, "--steps", "8", "--threads", "1"]).status == 0)
    }

    /// Starts `nanogpt train` on a run that would never end, and returns once its first evaluation is
    /// logged (so a checkpoint exists). Its stdout and stderr go to the pipes given, else nowhere.
    func startEndlessTraining(out: URL, evalInterval: Int, output: Pipe? = nil, errors: Pipe? = nil) throws -> Process {
        let data = Executables.writePlayText(to: folder)
        let process = Process()
        process.executableURL = Executables.executable("nanogpt")
        process.arguments = ["train", "--data", data, "--out", out.path, "--steps", "1000000", "--eval-interval", "\(evalInterval)"] + tiny
        process.standardOutput = output ?? FileHandle.nullDevice
        process.standardError = errors ?? FileHandle.nullDevice
        try process.run()
        let log = out.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: log.path) && Date() < deadline { usleep(20_000) }
        return process
    }

    @Test func ctrlCSavesAndTheRunResumes() throws {
        let out = folder.appendingPathComponent("interrupted"), output = Pipe()
        let process = try startEndlessTraining(out: out, evalInterval: 50, output: output)
        usleep(200_000)
        kill(process.processIdentifier, SIGINT)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(printed.contains("interrupted at step"))
        let resumed = try train(["--resume", out.path, "--steps", "1200", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(resumed.output.contains("step 1200: train loss"))
    }

    @Test func aKillAtAnyMomentLeavesALoadableCheckpoint() throws {
        let data = Executables.writePlayText(to: folder)
        for attempt in 0..<4 {
            let out = folder.appendingPathComponent("killed-\(attempt)")
            let process = Process()
            process.executableURL = Executables.executable("nanogpt")
            // A checkpoint every step, so the kill very likely lands in the middle of writing one.
            process.arguments = ["train", "--data", data, "--out", out.path, "--steps", "1000000", "--eval-interval", "1",
                                 "--eval-iters", "1"] + tiny
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let model = out.appendingPathComponent("latest/model.safetensors")
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: model.path) && Date() < deadline { usleep(10_000) }
            usleep(UInt32(50_000 + 37_000 * attempt))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Whatever moment the kill hit, latest/ holds a whole checkpoint: it loads, and it resumes.
            let saved = try SafeTensors.decode(Data(contentsOf: model))
            let step = Int(saved.metadata["step"] ?? "") ?? -1
            #expect(step >= 0)
            let resumed = try train(["--resume", out.path, "--steps", "\(step + 2)", "--threads", "1"])
            #expect(resumed.status == 0, "attempt \(attempt): \(resumed.errors)")
            #expect(resumed.output.contains("resuming \(out.path) at step \(step)"))
        }
    }

    @Test func generationStreamsTheSameTextForTheSameSeed() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("gen")
        #expect(try train(["--data", data, "--out", out.path, "--steps", "30", "--eval-interval", "30"] + tiny).status == 0)
        let checkpoint = out.appendingPathComponent("best").path
        let args = ["--checkpoint", checkpoint, "--prompt", "ROMEO:", "--max-new-tokens", "60", "--seed", "5", "--top-k", "10"]
        let first = try generate(args), second = try generate(args), whole = try generate(args + ["--no-stream"])
        #expect(first.status == 0, "\(first.errors)")
        #expect(first.output.hasPrefix("ROMEO:") && first.output.count >= 60)
        #expect(first.output == second.output && first.output == whole.output)
        #expect(first.errors.contains("tokens/s"))
        let other = try generate(["--checkpoint", checkpoint, "--prompt", "ROMEO:", "--max-new-tokens", "60", "--seed", "6"])
        #expect(other.output != first.output)
        let nucleus = try generate(["--checkpoint", checkpoint, "--prompt", "ROMEO:", "--max-new-tokens", "20", "--top-p", "0.5"])
        #expect(nucleus.status == 0)
        let piped = try Executables.run("nanogpt", ["generate", "--checkpoint", checkpoint, "--max-new-tokens", "5"], input: "JULIET:")
        #expect(piped.status == 0 && piped.output.hasPrefix("JULIET:"))
    }

    /// `quantize` writes an int8 file a fraction of the size, which `generate` streams from in int8 (and in
    /// float32 when told); `--weights int8` quantizes an ordinary checkpoint at load, the same blocks, so
    /// the same text. What cannot work is refused in one line.
    @Test func quantizeWritesAnInt8FileThatGenerateStreamsFrom() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("int8-run")
        #expect(try train(["--data", data, "--out", out.path, "--steps", "30", "--eval-interval", "30"] + tiny).status == 0)
        let int8File = out.appendingPathComponent("int8.safetensors")
        let quantize = try Executables.run("nanogpt", ["quantize", "--checkpoint", out.path, "--out", int8File.path])
        #expect(quantize.status == 0, "\(quantize.errors)")
        #expect(quantize.output.contains("in int8 blocks"))
        let args = ["--prompt", "ROMEO:", "--max-new-tokens", "40", "--seed", "5"]
        let fromFile = try generate(["--checkpoint", int8File.path] + args)
        let atLoad = try generate(["--checkpoint", out.path, "--weights", "int8"] + args)
        let float32 = try generate(["--checkpoint", out.path] + args)
        let blocksInFloat32 = try generate(["--checkpoint", int8File.path, "--weights", "float32"] + args)
        for run in [fromFile, atLoad, float32, blocksInFloat32] { #expect(run.status == 0 && run.output.hasPrefix("ROMEO:"), "\(run.errors)") }
        #expect(fromFile.output == atLoad.output)
        let again = try Executables.run("nanogpt", ["quantize", "--checkpoint", int8File.path, "--out", folder.appendingPathComponent("x.safetensors").path])
        expectRefusal(again, "is already int8")
        expectRefusal(try Executables.run("nanogpt", ["quantize", "--checkpoint", out.path, "--out", folder.path]), "is a folder")
        let latest = out.appendingPathComponent("best/model.safetensors").path
        expectRefusal(try Executables.run("nanogpt", ["quantize", "--checkpoint", latest, "--out", latest]), "would overwrite")
        expectRefusal(try generate(["--checkpoint", out.path, "--weights", "int4"]), "int4")
        // With --data it measures int8 against float32 on the same batches; a missing text fails before
        // anything is written.
        let measured = try Executables.run("nanogpt", ["quantize", "--checkpoint", out.path, "--out", folder.appendingPathComponent("m.safetensors").path,
                                                      "--data", data, "--eval-batches", "2", "--greedy-tokens", "30"])
        #expect(measured.status == 0, "\(measured.errors)")
        let lossLine = measured.output.split(separator: "\n").first { $0.hasPrefix("val loss over 2 batches of 16: float32 ") }
        #expect(lossLine != nil, "\(measured.output)")
        #expect(measured.output.contains(#/greedy decoding: the first \d+ of 30 tokens are the same/#))
        let unread = folder.appendingPathComponent("never.safetensors")
        expectRefusal(try Executables.run("nanogpt", ["quantize", "--checkpoint", latest, "--out", unread.path, "--data", folder.appendingPathComponent("none.txt").path]),
                      "not found")
        #expect(!FileManager.default.fileExists(atPath: unread.path))
    }

    /// On a CPU without the AVX2 and FMA this build targets, every program stops before main with one
    /// line (the CPU is pretended here; this machine has both, and the check found them).
    @Test func aCPUWithoutAVX2OrFMAGetsOneLineInsteadOfSIGILL() throws {
        #expect(CPUFeatures.checkedForX86_64_v3, "the start-up check did not run in this test binary")
        for (lacks, named) in [("avx2", "AVX2"), ("fma", "FMA"), ("avx2,fma", "AVX2 and FMA")] {
            for program in ["nanogpt", "ch00"] {
                let run = try Executables.run(program, ["--help"], environment: ["NANOGPT_PRETEND_CPU_LACKS": lacks])
                #expect(run.status == 1 && run.output.isEmpty, "\(program): \(run.status)")
                #expect(run.errors == "error: this CPU lacks \(named), which this build needs (it targets x86-64-v3); "
                        + "rebuild for this CPU with: NANOGPT_PORTABLE=1 swift build -c release\n")
            }
        }
    }

    /// `--checkpoint runs/mine` means its best/ checkpoint, else its latest/, and says which.
    @Test func generatingFromARunFolderPicksBestElseLatest() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("pick")
        #expect(try train(["--data", data, "--out", out.path, "--steps", "6", "--eval-interval", "3"] + tiny).status == 0)
        let fromRun = try generate(["--checkpoint", out.path, "--prompt", "a", "--max-new-tokens", "20"])
        let fromBest = try generate(["--checkpoint", out.appendingPathComponent("best").path, "--prompt", "a", "--max-new-tokens", "20"])
        #expect(fromRun.status == 0, "\(fromRun.errors)")
        #expect(fromRun.errors.contains("loading \(out.path)/best (the lowest val loss)"))
        #expect(fromRun.output == fromBest.output)
        try FileManager.default.removeItem(at: out.appendingPathComponent("best"))
        let fromLatest = try generate(["--checkpoint", out.path, "--prompt", "a", "--max-new-tokens", "20"])
        #expect(fromLatest.status == 0 && fromLatest.errors.contains("loading \(out.path)/latest (the newest; no best/ yet)"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("latest"))
        expectRefusal(try generate(["--checkpoint", out.path, "--prompt", "a"]), "checkpoint not found: \(out.path)/model.safetensors")
    }

    @Test func aDivergingRunStopsAndKeepsTheLastGoodCheckpoint() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("diverged")
        let run = try train(["--data", data, "--out", out.path, "--steps", "200", "--eval-interval", "1",
                             "--learning-rate", "1e30"] + tiny)
        #expect(run.status == 1)
        #expect(run.errors.hasPrefix("error: training diverged at step ") && run.errors.contains("last good checkpoint"))
        #expect(run.errors.split(separator: "\n").count == 1)
        // What latest/ holds is from before the divergence: it loads, and its weights are finite.
        let weights = try self.weights(out.appendingPathComponent("latest"))
        #expect(!weights.isEmpty && weights.values.allSatisfy { $0.values.allSatisfy(\.isFinite) })
        // The log stays JSON: the estimate that was not a number is written as null.
        let lines = try String(contentsOf: out.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)") }
        #expect(lines.last?.contains(#""val_loss":null"#) == true, "\(lines.last ?? "")")
    }

    /// Ctrl-C saves and stops; Ctrl-C again, while that is still going on, stops at once and says what
    /// is on disk. Either way latest/ loads.
    @Test func aSecondCtrlCStopsAtOnceAndSaysWhatIsSaved() throws {
        let out = folder.appendingPathComponent("twice"), errors = Pipe()
        let process = try startEndlessTraining(out: out, evalInterval: 20, errors: errors)
        usleep(100_000)
        // Two signals sent back to back can merge into one; so keep pressing Ctrl-C, every millisecond,
        // until the process is gone. The first starts the save; a later one lands while it runs (each
        // save syncs two files and a folder to disk).
        kill(process.processIdentifier, SIGINT)
        for _ in 0..<2000 where process.isRunning {
            usleep(1000)
            kill(process.processIdentifier, SIGINT)
        }
        let printed = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(printed.contains("Interrupted again: stopped at once. \(out.path)/latest holds the checkpoint of step "), "\(printed)")
        #expect(printed.contains("nanogpt train --resume \(out.path)"))
        _ = try weights(out.appendingPathComponent("latest"))
    }

    @Test func aSafetensorsFileWrittenByPyTorchGeneratesWithAConfigFile() throws {
        // The parity fixture was written by the PyTorch reference; give it a config and a vocabulary.
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Fixtures/weights.safetensors")
        let config = folder.appendingPathComponent("torch-config.json")
        try #"{"vocabularySize": 11, "blockSize": 8, "embeddingSize": 16, "heads": 4, "layers": 2, "#
            .appending(#""characters": ["\n", " ", "a", "b", "c", "d", "e", "f", "g", "h", "i"]}"#)
            .write(to: config, atomically: true, encoding: .utf8)
        let run = try generate(["--checkpoint", fixture.path, "--config", config.path, "--prompt", "abc",
                                "--max-new-tokens", "12", "--seed", "3"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("abc") && run.output.count >= 15)
        let noConfig = try generate(["--checkpoint", fixture.path, "--prompt", "a"])
        expectRefusal(noConfig, "no model config in the file")
    }

    @Test func aBytePairModelTrainsResumesAndStreamsWholeCharacters() throws {
        // Text with accents, CJK and emoji, so that some byte-pair tokens end inside a character.
        let text = String(repeating: "Le café était fermé. 今日は晴れ 🙂👋🏽 — naïve coöperation, déjà vu!\n", count: 120)
        let data = folder.appendingPathComponent("unicode.txt")
        try text.write(to: data, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("bpe-run")
        let run = try train(["--data", data.path, "--out", out.path, "--steps", "20", "--eval-interval", "10",
                             "--tokenizer", "bpe", "--vocabulary-size", "300", "--pre-split", "gpt2"] + tiny)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("trained a byte-pair tokenizer: ") && run.output.contains("merges (gpt2 pre-split) in"))
        #expect(run.output.contains("byte-pair tokens (gpt2 pre-split)"))
        let resumed = try train(["--resume", out.path, "--steps", "30", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.errors)")
        #expect(try train(["--resume", out.path, "--steps", "40", "--tokenizer", "char"]).errors.contains("--tokenizer cannot change"))

        let checkpoint = out.appendingPathComponent("latest").path
        let common = ["--checkpoint", checkpoint, "--prompt", "café 🙂", "--max-new-tokens", "300", "--seed", "5", "--temperature", "1.5"]
        let streamed = try generate(common), whole = try generate(common + ["--no-stream"])
        #expect(streamed.status == 0 && whole.status == 0, "\(streamed.errors) \(whole.errors)")
        #expect(String(data: streamed.outputBytes, encoding: .utf8) != nil, "the stream printed broken UTF-8")
        #expect(streamed.outputBytes == whole.outputBytes)   // token by token, the same text as decoding at the end
        #expect(streamed.output.hasPrefix("café 🙂"))
    }

    // MARK: - Bad input: one clear line, a non-zero exit, never a trap

    func expectRefusal(_ run: ProcessResult, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status != 0, "accepted: \(fragment)", sourceLocation: sourceLocation)
        #expect(run.errors.hasPrefix("error: ") && run.errors.contains(fragment), "\(run.errors)", sourceLocation: sourceLocation)
        #expect(run.errors.split(separator: "\n").count == 1, "not one line: \(run.errors)", sourceLocation: sourceLocation)
        #expect(run.status < 128 || run.status == 130, "crashed with status \(run.status)", sourceLocation: sourceLocation)
    }

    @Test func badTrainingInputIsRefused() throws {
        let data = Executables.writePlayText(to: folder)
        func file(_ name: String, _ bytes: Data) -> String {
            let url = folder.appendingPathComponent(name)
            _ = FileManager.default.createFile(atPath: url.path, contents: bytes)
            return url.path
        }
        let out = ["--out", folder.appendingPathComponent("bad").path]
        expectRefusal(try train(["--data", folder.appendingPathComponent("absent.txt").path] + out), "data file not found")
        expectRefusal(try train(["--data", file("empty.txt", Data())] + out), "data file is empty")
        expectRefusal(try train(["--data", "/dev/zero"] + out), "data path is not a regular file: /dev/zero")
        expectRefusal(try train(["--data", data, "--steps", "1000000000000", "--batch-size", "65536", "--block-size", "65536"] + out),
                      "tokens is more than a count can hold")
        expectRefusal(try train(["--data", file("short.txt", Data("just a few words".utf8))] + out + tiny), "text too short")
        // Long enough for training, too short to leave a validation block of 64 + 1.
        expectRefusal(try train(["--data", file("noval.txt", Data(String(repeating: "abcdefgh ", count: 60).utf8))] + out),
                      "text too short")
        expectRefusal(try train(["--data", file("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9, 0x0A]))] + out), "not valid UTF-8")
        expectRefusal(try train(["--data", data, "--embedding-size", "30", "--heads", "4"] + out), "not divisible by --heads 4")
        expectRefusal(try train(["--data", data, "--steps", "0"] + out), "--steps must be positive")
        expectRefusal(try train(["--data", data, "--embedding-size", "60000", "--heads", "1", "--layers", "100"] + out),
                      "more than this machine's")
        expectRefusal(try train(["--data", data, "--embedding-size", "1000000", "--heads", "1"] + out),
                      "--embedding-size is 1000000, above the limit of 65536")
        expectRefusal(try train(["--data", data, "--min-learning-rate", "0.5"] + out), "--min-learning-rate 0.5 is above the peak --learning-rate")
        expectRefusal(try train(["--data", data, "--batch-size=-2"] + out), "--batch-size must be positive")
        expectRefusal(try train(["--data", data, "--block-size", "0"] + out), "--block-size must be positive")
        expectRefusal(try train(["--data", data, "--layers", "0"] + out), "--layers must be positive")
        expectRefusal(try train(["--data", data, "--learning-rate", "0"] + out), "--learning-rate must be a positive number")
        expectRefusal(try train(["--data", data, "--learning-rate=-1e-3"] + out), "--learning-rate must be a positive number")
        expectRefusal(try train(["--data", data, "--dropout", "1"] + out), "--dropout must be in [0, 1)")
        expectRefusal(try train(["--data", data, "--tokenizer", "words"] + out), "'words' is invalid for '--tokenizer")
        expectRefusal(try train(["--data", data, "--tokenizer", "bpe", "--vocabulary-size", "100"] + out),
                      "--vocabulary-size must be in 256...65536")
        expectRefusal(try train(["--data", data, "--pre-split", "gpt2"] + out), "--vocabulary-size and --pre-split need --tokenizer bpe")
        expectRefusal(try train(["--data", data, "--tokenizer", "bpe", "--pre-split", "gpt4"] + out), "'gpt4' is invalid for '--pre-split")
        expectRefusal(try train(["--resume", folder.appendingPathComponent("no-such-run").path]), "checkpoint not found")
    }

    @Test func badGenerationInputIsRefused() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("for-bad-input")
        #expect(try train(["--data", data, "--out", out.path, "--steps", "5", "--eval-interval", "5"] + tiny).status == 0)
        let checkpoint = out.appendingPathComponent("latest").path
        expectRefusal(try generate(["--checkpoint", checkpoint, "--prompt", "Zebra§"]), #"not in the"#)
        expectRefusal(try generate(["--checkpoint", checkpoint, "--prompt", "Zebra§"]), #""§""#)
        expectRefusal(try generate(["--checkpoint", folder.appendingPathComponent("missing").path, "--prompt", "a"]), "checkpoint not found")
        expectRefusal(try generate(["--checkpoint", checkpoint, "--temperature", "0"]), "--temperature must be > 0")
        expectRefusal(try generate(["--checkpoint", checkpoint, "--temperature=-1"]), "--temperature must be > 0")
        expectRefusal(try generate(["--checkpoint", checkpoint, "--top-p", "0"]), "--top-p must be in (0, 1]")
        expectRefusal(try generate(["--checkpoint", checkpoint, "--top-p", "1.5"]), "--top-p must be in (0, 1]")
        expectRefusal(try generate(["--checkpoint", checkpoint, "--top-k", "0"]), "--top-k must be positive")

        // Broken files, each made from the good one.
        let good = try Data(contentsOf: URL(fileURLWithPath: checkpoint).appendingPathComponent("model.safetensors"))
        let headerLength = Int(good.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = String(decoding: good.subdata(in: 8..<(8 + headerLength)), as: UTF8.self)
        func broken(_ name: String, _ bytes: Data) -> String {
            let url = folder.appendingPathComponent(name)
            _ = FileManager.default.createFile(atPath: url.path, contents: bytes)
            return url.path
        }
        func withHeader(_ edit: (String) -> String) -> Data {
            var newHeader = Data(edit(header).utf8)
            while newHeader.count % 8 != 0 { newHeader.append(0x20) }
            var bytes = Data()
            withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { bytes.append(contentsOf: $0) }
            return bytes + newHeader + good.suffix(from: 8 + headerLength)
        }
        func refuse(_ name: String, _ bytes: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            expectRefusal(try generate(["--checkpoint", broken(name, bytes), "--prompt", "a"]), fragment, sourceLocation: sourceLocation)
        }
        try refuse("truncated.safetensors", good.prefix(good.count / 2), "outside")
        try refuse("tiny.safetensors", good.prefix(5), "too short")
        try refuse("huge-header.safetensors", Data([0, 0, 0, 0, 0, 0, 1, 0]) + good.suffix(from: 8), "above the 100000000-byte limit")
        try refuse("long-header.safetensors", Data([0, 0, 0, 1, 0, 0, 0, 0]) + good.suffix(from: 8), "larger than the file")
        try refuse("not-json.safetensors", withHeader { _ in "{ this is not json" }, "not valid JSON")
        // The crash this check was written for: 2147418113 x 2147549185 floats, whose byte count wraps around.
        try refuse("wrapping.safetensors", withHeader { header in
            var edited = header
            edited.replaceSubrange(edited.range(of: #""shape":["#)!, with: #""shape":[2147418113,2147549185,"#)
            return edited
        }, "more elements than any file can hold")
        try refuse("twice.safetensors", withHeader { $0.replacingOccurrences(of: #"{"__metadata__""#, with: #"{"lm_head.bias":{},"__metadata__""#) },
                   #"key "lm_head.bias" appears twice"#)
        try refuse("outside.safetensors", withHeader { $0.replacingOccurrences(of: #""data_offsets":[0,"#, with: #""data_offsets":[99999990,"#) },
                   "outside")
        try refuse("dtype.safetensors", withHeader { $0.replacingOccurrences(of: "\"F32\"", with: "\"BF16\"") }, #"dtype "BF16" is not supported"#)
        try refuse("missing.safetensors", withHeader { $0.replacingOccurrences(of: "\"lm_head.bias\"", with: "\"lm_head.bias_renamed\"") },
                   "checkpoint is missing tensor lm_head.bias")
        // A tensor laid over bytes another one owns (CheckpointTests covers an extra tensor with bytes of its own).
        try refuse("extra.safetensors", withHeader { $0.replacingOccurrences(of: "{\"__metadata__\"",
                                                                          with: #"{"zz.extra":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__""#) },
                   "overlap the tensor before it")
        try refuse("version.safetensors", withHeader { $0.replacingOccurrences(of: #""format_version":"1""#, with: #""format_version":"7""#) },
                   #"format version "7" is not supported"#)
        try refuse("shape.safetensors", withHeader {
            $0.replacingOccurrences(of: #"\"embeddingSize\":16"#, with: #"\"embeddingSize\":32"#)
        }, "has shape")
        try refuse("heads.safetensors", withHeader { $0.replacingOccurrences(of: #"\"heads\":2"#, with: #"\"heads\":3"#) },
                   "not divisible")
    }
}
