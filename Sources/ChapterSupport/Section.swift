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

/// Ends a code cell's output. On the chapter's page, what the section printed since its title (or since the
/// last `endOfCell()`) goes right under the code cell that calls this, instead of under the section's last
/// code cell, so each listing is followed by what it printed. The weave leaves the call itself off the page.
/// In a terminal it prints nothing: it marks the output only when the weave runs the chapter
/// (`weaveVariable` set).
public func endOfCell() {
    guard ProcessInfo.processInfo.environment[weaveVariable] != nil else { return }
    print(cellBreak)
    fflush(stdout)
}

/// The line `endOfCell()` prints for the weave (Sources/Weaving/ChapterRun.swift looks for the same).
public let cellBreak = "── end of cell ──"

/// The environment variable the weave sets when it runs a chapter.
public let weaveVariable = "NANOGPT_WEAVE"
