import Foundation
import Training

/// Runs `body`; if it throws, prints `error: <what went wrong>` on one line to stderr and exits with
/// status 1. Chapters use it so that bad input ends in a clear message, never a trap or a stack trace.
@discardableResult
public func exitOnError<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
}
