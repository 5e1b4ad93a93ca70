import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing a file so that a crash, a kill or a power cut at any moment leaves either the old file or the
/// new one, never half of one:
///
///   1. write a temporary file beside it (`.NAME.PID.N.tmp`: hidden, and never a name any reader of
///      ours looks for, so a kill that leaves one behind cannot be mistaken for a checkpoint)
///   2. fsync it, so its bytes are on disk before its name is
///   3. rename it over the target (atomic within one folder on POSIX file systems)
///   4. fsync the folder, so the rename itself survives a power cut
///
/// A failure at any step removes the temporary file and throws, naming the step and the system's reason
/// ("No space left on device").
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let description: String
    }

    nonisolated(unsafe) private static var written = 0

    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        written += 1
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(written).tmp")
        // errno is taken first, before building the message (which may allocate) can change it.
        func failure(_ code: Int32, _ what: String) -> WriteError {
            WriteError(description: "cannot \(what): \(String(cString: strerror(code)))")
        }

        let file = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw failure(errno, "create \(temporary.path) (to write \(url.path))") }
        var problem: WriteError?
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(file, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    problem = failure(errno, "write \(url.path)")
                    return
                }
                offset += count
            }
        }
        if problem == nil, fsync(file) != 0 { problem = failure(errno, "flush \(url.path) to disk") }
        if close(file) != 0, problem == nil { problem = failure(errno, "close \(temporary.path)") }
        if let problem {
            unlink(temporary.path)
            throw problem
        }
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw failure(code, "move the new \(url.lastPathComponent) into place at \(url.path)")
        }
        let directory = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw failure(errno, "open \(folder.path) to sync it (\(url.lastPathComponent) is written)") }
        defer { close(directory) }
        // Some file systems cannot sync a folder (EINVAL); there the rename is as durable as it gets.
        if fsync(directory) != 0, errno != EINVAL { throw failure(errno, "sync \(folder.path) (\(url.lastPathComponent) is written)") }
    }

    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }

    /// Removes temporary files that an earlier, killed writer left in `folder`: its process is gone, and
    /// the file is over ten minutes old (so a writer on another machine sharing the folder, whose process
    /// this one cannot see, is left alone while it writes). Returns how many were removed.
    @discardableResult
    public static func removeLeftovers(in folder: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            // .NAME.PID.N.tmp: a leftover when process PID no longer exists.
            let parts = name.split(separator: ".")
            let file = folder.appendingPathComponent(name)
            guard parts.count >= 4, let pid = Int32(parts[parts.count - 3]), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH,
                  let modified = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date,
                  modified < Date().addingTimeInterval(-600)
            else { continue }
            if unlink(file.path) == 0 { removed += 1 }
        }
        return removed
    }
}
