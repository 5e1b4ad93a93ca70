// What changed between two versions of a model: a line diff (longest common subsequence), shown in
// full, since the declarations are short enough to read whole.

public struct DiffLine: Equatable {
    public enum Kind: Equatable { case same, added, removed }
    public var kind: Kind
    public var line: String
    /// As in a unified diff: " kept", "+added", "-removed".
    public var text: String {
        switch kind { case .same: return " " + line; case .added: return "+" + line; case .removed: return "-" + line }
    }
}

public enum LineDiff {
    /// Every line of `old` and `new` once, in order, marked as kept, removed or added.
    public static func lines(from old: [String], to new: [String]) -> [DiffLine] {
        let (n, m) = (old.count, new.count)
        // common[i][j]: the longest common subsequence of old[i...] and new[j...].
        var common = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                common[i][j] = old[i] == new[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
            }
        }
        var result: [DiffLine] = []
        var (i, j) = (0, 0)
        while i < n || j < m {
            if i < n, j < m, old[i] == new[j] {
                result.append(DiffLine(kind: .same, line: old[i])); i += 1; j += 1
            } else if i < n, j == m || common[i + 1][j] >= common[i][j + 1] {
                result.append(DiffLine(kind: .removed, line: old[i])); i += 1   // what is gone, then what replaces it
            } else {
                result.append(DiffLine(kind: .added, line: new[j])); j += 1
            }
        }
        return result
    }
}
