import Foundation
import TensorCore

/// What an executable (built next to the test bundle) printed, and how it exited.
struct ProcessResult {
    let status: Int32
    let output: String
    let errors: String
    /// Standard output exactly as written (`output` has invalid UTF-8 replaced).
    var outputBytes = Data()
}

enum Executables {
    /// The folder of the test bundle is the build folder, which also holds ch00, ch01, ...
    static let buildFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .path.replacingOccurrences(of: ".xctest/Contents/MacOS", with: "")

    static func executable(_ name: String) -> URL {
        let beside = URL(fileURLWithPath: buildFolder).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return URL(fileURLWithPath: buildFolder).deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Runs an executable built beside the tests to the end; `input`, if given, is its standard input.
    static func run(_ name: String, _ arguments: [String], input: String? = nil,
                    environment: [String: String] = [:]) throws -> ProcessResult {
        try run(program: executable(name), arguments, input: input, environment: environment)
    }

    /// Runs any program (mpirun, swift) to the end, the same way.
    static func run(program: URL, _ arguments: [String], input: String? = nil,
                    environment: [String: String] = [:]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Read both pipes fully before waiting, so a chatty program never blocks on a full pipe.
        let errorData = DataBox()
        let reader = Thread { errorData.data = errors.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return ProcessResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                             errors: String(decoding: errorData.data, as: UTF8.self), outputBytes: outputData)
    }

    static func temporaryFolder(_ label: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// About 40,000 characters of made-up play text from a tiny seeded grammar: enough structure for a
    /// model to learn something in a few dozen steps, and no corpus we did not write.
    static func writePlayText(to folder: URL) -> String {
        let random = SeededRandom(seed: 2024)
        let speakers = ["ROMEO", "JULIET", "NURSE", "FRIAR", "KING"]
        let words = ["the", "love", "night", "my", "lord", "is", "and", "sweet", "to", "be", "not", "thou", "art",
                     "fair", "what", "light", "through", "yonder", "window", "breaks", "good", "day", "sir"]
        var text = ""
        while text.count < 40_000 {
            text += speakers[random.integer(below: speakers.count)] + ":\n"
            for _ in 0..<(1 + random.integer(below: 3)) {
                let line = (0..<(3 + random.integer(below: 6))).map { _ in words[random.integer(below: words.count)] }
                text += line.joined(separator: " ").capitalizedFirst + [".", ",", "!", "?"][random.integer(below: 4)] + "\n"
            }
            text += "\n"
        }
        let url = folder.appendingPathComponent("play.txt")
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8))
        return url.path
    }
}

/// Filled by the thread that reads stderr, read after that thread has finished.
final class DataBox: @unchecked Sendable { var data = Data() }

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

/// The parts of summary.json the tests read.
struct SummaryFile: Decodable {
    struct Evaluation: Decodable { var step: Int; var trainLoss: Float; var valLoss: Float }
    var chapter: String
    var parameterCount: Int
    var steps: Int
    var tokensSeen: Int
    var finalValLoss: Float
    var evaluations: [Evaluation]
    var tokenizer: String?
    var charactersPerToken: Double?
}
