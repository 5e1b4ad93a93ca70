// A chapter's terminal output reads in the same order as its page.
import Foundation
import Training

/// Prints a chapter section's title on a line of its own, `── 2. One Head of self-attention ──`, at the
/// start of the section of main.swift whose `// MARK: - ` line carries the same title. A run in the
/// terminal then reads like the chapter's page, and the weave (Sources/Weave) can place every line a
/// section printed under that section's code.
public func section(_ title: String) {
    print("\(sectionRule) \(title) \(sectionRule)")
    fflush(stdout)
}

/// The two characters around a section title (the weave looks for them).
public let sectionRule = "──"
