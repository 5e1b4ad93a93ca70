// Running a chapter: its executable, to the end, with its output captured.
import ChapterSupport
import Foundation

/// A chapter executable, run to the end with its output captured.
enum ChapterProcess {
    struct Result { var status: Int32; var output: String; var errors: String; var seconds: Double }

    static func run(_ executable: URL, _ arguments: [String], in folder: URL) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging([weaveVariable: "1"]) { $1 }   // endOfCell() marks
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let errorData = Box()
        let reader = Thread { errorData.data = errors.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      errors: String(decoding: errorData.data, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }
}
