// Writing a page: the chapter's README.md and its figures/, replaced only once the new page is whole.
import Foundation
import Weaving

/// Chapters/NN-Name/: README.md and figures/, replaced together only once the new page is complete.
struct PageFolder {
    let folder: URL
    init(_ folder: URL) { self.folder = folder }

    func write(_ page: Page, log: String?, strippingPathsOf runFolder: URL) throws {
        let figures = folder.appendingPathComponent("figures")
        let manager = FileManager.default
        try manager.createDirectory(at: figures, withIntermediateDirectories: true)
        let names = Set(page.figures.map(\.name))
        for (file, name) in page.figures {
            let target = figures.appendingPathComponent(name)
            let temporary = figures.appendingPathComponent(".\(name).tmp")
            try? manager.removeItem(at: temporary)
            try manager.copyItem(at: file, to: temporary)
            guard rename(temporary.path, target.path) == 0 else {   // atomic: the old figure stays until the new one is whole
                throw WeaveError("cannot write \(target.path): \(String(cString: strerror(errno)))")
            }
        }
        for stale in (try? manager.contentsOfDirectory(atPath: figures.path)) ?? [] where !names.contains(stale) {
            try? manager.removeItem(at: figures.appendingPathComponent(stale))
        }
        if names.isEmpty { try? manager.removeItem(at: figures) }
        // The output's paths point into the run's temporary folder; the page shows them as the run saw them.
        let markdown = page.markdown.replacingOccurrences(of: runFolder.path + "/", with: "")
        try Data(markdown.utf8).write(to: folder.appendingPathComponent("README.md"), options: .atomic)
        if let log { try Data(log.utf8).write(to: folder.appendingPathComponent("output.log"), options: .atomic) }
    }
}
