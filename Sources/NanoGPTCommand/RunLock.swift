// A run folder belongs to one training at a time. Two `nanogpt train --out same` started together would
// interleave their checkpoints and log lines; the second is refused instead, naming the first.
import Foundation

enum RunLock {
    /// Takes an exclusive lock on `folder/.lock` (flock: the kernel lets it go when the process ends, however
    /// it ends) and writes this process's id into it, or throws one line naming the process that holds it.
    static func acquire(_ folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(".lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CommandFailure(description: "cannot lock \(folder.path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = read(descriptor, &bytes, 31)
            let holder = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw CommandFailure(description: "\(folder.path) is being trained right now by process \(holder.isEmpty ? "(unknown)" : holder); "
                                 + "wait for it to finish, or choose another --out")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        // The descriptor stays open, and the lock held, until the process exits.
    }
}
