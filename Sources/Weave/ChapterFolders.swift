// Discovery: which chapters there are, in reading order.
import Foundation
import Weaving

/// The chapter folders, Chapters/NN-Name (and asides, NNa-Name, after chapter NN), in order.
enum ChapterFolders {
    static func list(root: URL) throws -> [String] {
        let folder = root.appendingPathComponent("Chapters")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw WeaveError("no Chapters folder in \(root.path): run weave from the package's folder")
        }
        let chapters = names.filter { name in
            let number = name.prefix { $0 != "-" }
            return number.count < name.count - 1 && number.prefix(2).allSatisfy(\.isNumber)
                && (number.count == 2 || (number.count == 3 && number.last!.isLowercase))
        }.sorted()
        guard !chapters.isEmpty else { throw WeaveError("no chapters (NN-Name folders) in \(folder.path)") }
        return chapters
    }
}
