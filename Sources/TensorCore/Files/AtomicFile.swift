import Foundation

/// Writing a file so that a crash or a kill at any moment leaves either the old file or the new one,
/// never half of one: write a temporary file beside it, flush it to disk, then rename it into place
/// (a rename within one folder is atomic on POSIX file systems).
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
            throw WriteError(description: "cannot write \(temporary.path) (does the folder exist and is it writable?)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw WriteError(description: "cannot flush \(temporary.path) to disk")
        }
        guard rename(temporary.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw WriteError(description: "cannot move \(temporary.path) to \(url.path)")
        }
    }

    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }
}
