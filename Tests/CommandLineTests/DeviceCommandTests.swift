// --device and NANOGPT_DEVICE through the executables: a chapter and nanogpt on the OpenCL device (PoCL in
// the README's test command) agree with the CPU, and a device that cannot be used ends in one line.
import DeviceTesting
import Foundation
import Testing

@Suite("--device on the command line", .serialized)
struct DeviceCommandTests {
    let folder = Executables.temporaryFolder("device")

    func summary(_ out: URL) throws -> SummaryFile {
        try JSONDecoder().decode(SummaryFile.self, from: Data(contentsOf: out.appendingPathComponent("summary.json")))
    }

    /// Chapter 05's quick run on both devices: the same losses within 1e-3 at every evaluation.
    @Test(.enabled(if: openCLBackend != nil, Comment(rawValue: openCLSkipped)))
    func chapter05OnTheOpenCLDeviceLearnsWhatItLearnsOnTheCPU() throws {
        let data = Executables.writePlayText(to: folder)
        var summaries: [SummaryFile] = []
        for device in ["cpu", "opencl"] {
            let out = folder.appendingPathComponent("ch05-\(device)")
            let run = try Executables.run("ch05", ["--quick", "--device", device, "--data", data, "--out", out.path, "--threads", "1",
                                                   "--checkpoint", out.appendingPathComponent("checkpoint").path])
            #expect(run.status == 0, "ch05 --device \(device): \(run.errors)")
            summaries.append(try summary(out))
        }
        let (cpu, device) = (summaries[0], summaries[1])
        #expect(cpu.evaluations.count == device.evaluations.count && cpu.evaluations.count >= 2)
        for (a, b) in zip(cpu.evaluations, device.evaluations) {
            #expect(abs(a.trainLoss - b.trainLoss) < 1e-3 && abs(a.valLoss - b.valLoss) < 1e-3, "step \(a.step): \(a) against \(b)")
        }
        #expect(device.evaluations.last!.valLoss < device.evaluations.first!.valLoss - 0.2)
    }

    /// Trained on the device, generated on either: greedy text is the same.
    @Test(.enabled(if: openCLBackend != nil, Comment(rawValue: openCLSkipped)))
    func nanogptTrainsOnTheDeviceAndGeneratesOnEither() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("nanogpt-opencl")
        let trained = try Executables.run("nanogpt", ["train", "--device", "opencl", "--data", data, "--out", out.path, "--steps", "30",
                                                      "--eval-interval", "30", "--batch-size", "4", "--block-size", "8",
                                                      "--embedding-size", "16", "--heads", "2", "--layers", "1", "--eval-iters", "2"])
        #expect(trained.status == 0, "\(trained.errors)")
        let generate = ["generate", "--checkpoint", out.path, "--prompt", "ROMEO:", "--max-new-tokens", "40", "--top-k", "1"]
        let onDevice = try Executables.run("nanogpt", generate + ["--device", "opencl"])
        let onCPU = try Executables.run("nanogpt", generate, environment: ["NANOGPT_DEVICE": "cpu"])
        #expect(onDevice.status == 0 && onCPU.status == 0, "\(onDevice.errors) \(onCPU.errors)")
        #expect(onDevice.output.hasPrefix("ROMEO:") && onDevice.output == onCPU.output)
        // The int8 kernels are the CPU's: on the device, int8 weights are refused in one line.
        let int8 = try Executables.run("nanogpt", generate + ["--device", "opencl", "--weights", "int8"])
        #expect(int8.status == 1 && int8.output.isEmpty, "\(int8.status)")
        #expect(int8.errors.split(separator: "\n").last == "error: int8 weights run on the CPU only: use --device cpu, or --weights float32",
                "\(int8.errors)")
    }

    /// A run trained on the CPU resumes on the device and ends where a run on the CPU alone ends (within 1e-3).
    @Test(.enabled(if: openCLBackend != nil, Comment(rawValue: openCLSkipped)))
    func aCPURunResumesOnTheDevice() throws {
        let data = Executables.writePlayText(to: folder)
        let tiny = ["--data", data, "--eval-interval", "10", "--batch-size", "4", "--block-size", "8", "--embedding-size", "16",
                    "--heads", "2", "--layers", "1", "--eval-iters", "2", "--threads", "1"]
        let split = folder.appendingPathComponent("resume-split"), whole = folder.appendingPathComponent("resume-whole")
        #expect(try Executables.run("nanogpt", ["train", "--out", split.path, "--steps", "10"] + tiny).status == 0)
        let resumed = try Executables.run("nanogpt", ["train", "--resume", split.path, "--steps", "20", "--device", "opencl"])
        let alone = try Executables.run("nanogpt", ["train", "--out", whole.path, "--steps", "20"] + tiny)
        #expect(resumed.status == 0 && alone.status == 0, "\(resumed.errors) \(alone.errors)")
        func losses(_ run: ProcessResult) -> [Float] {   // "step 20: train loss 4.1162, val loss 4.1065"
            run.output.split(separator: "\n").filter { $0.hasPrefix("step 20: ") }.flatMap { line in
                line.components(separatedBy: "loss ").dropFirst().compactMap { Float($0.prefix { $0 != "," }) }
            }
        }
        #expect(losses(resumed).count == 2 && zip(losses(resumed), losses(alone)).allSatisfy { abs($0 - $1) < 1e-3 },
                "resumed on the device: \(losses(resumed)), on the CPU alone: \(losses(alone))")
    }

    /// Chapter 05a's quick run: both devices' losses agree, the same tokens come out, and it draws its plots.
    @Test(.enabled(if: openCLBackend != nil, Comment(rawValue: openCLSkipped)))
    func chapter05aComparesTheDeviceWithTheCPU() throws {
        let data = Executables.writePlayText(to: folder), out = folder.appendingPathComponent("ch05a")
        let run = try Executables.run("ch05a", ["--quick", "--data", data, "--out", out.path, "--threads", "1"])
        #expect(run.status == 0, "\(run.errors)")
        // "largest difference between the two runs' step losses: 1.43e-06 over the first 10 steps, 2.38e-06 over all 60"
        let gap = run.output.split(separator: "\n").first { $0.hasPrefix("largest difference between the two runs' step losses: ") }
        let overAll = gap.flatMap { $0.components(separatedBy: ", ").last?.split(separator: " ").first }.flatMap { Double($0) }
        #expect(overAll.map { $0 < 1e-3 } == true, "\(gap ?? "no gap line")")
        #expect(run.output.contains("the same tokens from the same weights: yes"))
        #expect(run.output.contains("launches a token"))
        #expect(run.output.contains("kernel launches"))
        for file in ["products.dat", "loss.dat", "attention.dat", "summary.json", "sample.txt"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file) missing")
        }
    }

    /// No usable device, an unknown one, or a bad NANOGPT_DEVICE: one line on stderr and a non-zero exit.
    /// (OCL_ICD_VENDORS pointed at an empty folder hides every OpenCL driver from the loader; where OpenCL
    /// is not installed at all, the line names the missing library instead.)
    @Test func aDeviceThatCannotBeUsedIsOneLine() throws {
        let empty = folder.appendingPathComponent("no-vendors")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let data = Executables.writePlayText(to: folder)
        let noDriver = try Executables.run("ch05", ["--quick", "--device", "opencl", "--data", data, "--out", folder.appendingPathComponent("x").path],
                                           environment: ["OCL_ICD_VENDORS": empty.path])
        #expect(noDriver.status == 1 && noDriver.errors.hasPrefix("error: --device opencl: "), "\(noDriver.errors)")
        #expect(noDriver.errors.contains("pocl-opencl-icd"))
        let asideWithoutDriver = try Executables.run("ch05a", ["--quick", "--data", data, "--out", folder.appendingPathComponent("z").path],
                                                     environment: ["OCL_ICD_VENDORS": empty.path])
        #expect(asideWithoutDriver.status == 1 && asideWithoutDriver.errors.hasPrefix("error: --device opencl: "))
        let asideWithDevice = try Executables.run("ch05a", ["--quick", "--device", "cpu"])
        #expect(asideWithDevice.status == 1 && asideWithDevice.errors.contains("--device does not apply here"))
        let unknown = try Executables.run("ch03", ["--quick", "--device", "tpu"])
        #expect(unknown.status != 0 && unknown.errors.contains("'tpu' is invalid for '--device <device>'"))
        let badVariable = try Executables.run("nanogpt", ["train", "--quick", "--data", data, "--out", folder.appendingPathComponent("y").path],
                                              environment: ["NANOGPT_DEVICE": "gpu"])
        #expect(badVariable.status != 0 && badVariable.errors.contains(#"NANOGPT_DEVICE must be cpu or opencl, got "gpu""#))
        for run in [noDriver, asideWithoutDriver, asideWithDevice, unknown, badVariable] {
            #expect(run.errors.split(separator: "\n").count == 1, "more than one line: \(run.errors)")
            #expect(!run.errors.contains("Fatal error") && !run.errors.contains("Stack dump"))
        }
    }
}
