// Plotting: every figure in the project goes through here.
//
// A plot is three files in one folder: NAME.dat (the numbers), NAME.gp (a gnuplot script that re-renders
// the picture when run from that folder) and NAME.png. The first two are written by the C++ bridge over
// gnuplot-iostream; the PNG comes from running the `gnuplot` program on the script. Without gnuplot the
// .dat and .gp files are still written, one warning line is printed, and nothing fails.
import CGnuplotBridge
import Foundation

/// One curve of a line plot.
public struct Series: Sendable {
    /// A line; a thin line (for a noisy value of every step, under its smoother curves); or points only
    /// (for values measured now and then, so the plot draws nothing between measurements).
    public enum Style: Int32, Sendable { case line = 0, thinLine = 1, points = 2 }
    public var title: String
    public var x: [Double]
    public var y: [Double]
    public var style: Style
    /// Which of the plot's strong colours (green, blue, orange, vermilion, purple, black) it takes; nil for
    /// the next in order. Series that share one read as one model's.
    public var colour: Int?
    /// A line drawn in dashes, which stays visible where it runs under another; for points, larger hollow
    /// rings, which show around a dot drawn under them.
    public var dashed: Bool
    public init(_ title: String, x: [Double], y: [Double], style: Style = .line, colour: Int? = nil, dashed: Bool = false) {
        precondition(x.count == y.count, "a series needs as many x values as y values")
        self.title = title; self.x = x; self.y = y; self.style = style; self.colour = colour; self.dashed = dashed
    }
}

/// A matrix to draw as a heatmap, with a text label for every row and column.
public struct Heatmap: Sendable {
    public var title: String
    public var rows: Int, columns: Int
    public var values: [Float]  // row-major, rows * columns
    public init(_ title: String, rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "a heatmap needs rows * columns values")
        self.title = title; self.rows = rows; self.columns = columns; self.values = values
    }
}

/// What a plot call left on disk.
public struct PlotFiles: Sendable {
    public var data: URL, script: URL, image: URL
    /// False when gnuplot was missing or failed; `data` and `script` exist either way.
    public var rendered: Bool
}

public struct PlotError: Error, CustomStringConvertible {
    public var description: String
}

public final class Plotter: @unchecked Sendable {
    /// The gnuplot program to run, or nil to write only .dat and .gp files.
    public let gnuplot: URL?
    private var warned = false

    /// A plotter that uses the `gnuplot` found on PATH (or $NANOGPT_GNUPLOT, if set).
    public static let shared = Plotter(gnuplot: findGnuplot())

    public init(gnuplot: URL?) { self.gnuplot = gnuplot }

    public static func findGnuplot() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["NANOGPT_GNUPLOT"] {
            return FileManager.default.isExecutableFile(atPath: explicit) ? URL(fileURLWithPath: explicit) : nil
        }
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("gnuplot")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    // MARK: Line plots

    /// Train and val loss against step, or any other set of curves on shared axes. `everyWholeX` puts an x
    /// tick at every whole number (an x that counts blocks); `keyBottomLeft` moves the key where curves that
    /// fall to the right leave room.
    @discardableResult
    public func lines(_ series: [Series], title: String, xLabel: String, yLabel: String, logScaleX: Bool = false,
                      logScaleY: Bool = false, everyWholeX: Bool = false, keyBottomLeft: Bool = false,
                      in directory: URL, name: String) throws -> PlotFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let status = withLinePlot(series, title: title, xLabel: xLabel, yLabel: yLabel, logScaleX: logScaleX,
                                  logScaleY: logScaleY, everyWholeX: everyWholeX, keyBottomLeft: keyBottomLeft) {
            gnuplot_write_line_plot($0, directory.path, name, 900, 560)
        }
        if status != 0 { throw PlotError(description: String(cString: gnuplot_bridge_last_error())) }
        return render(directory: directory, name: name)
    }

    /// A bar chart: each series' y at its x, the series side by side within each x (x are meant to be
    /// whole numbers, such as a histogram's bins).
    @discardableResult
    public func bars(_ series: [Series], title: String, xLabel: String, yLabel: String, in directory: URL, name: String) throws -> PlotFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let width = 0.8 / Double(max(series.count, 1))
        let shifted = series.enumerated().map { index, bars in
            Series(bars.title, x: bars.x.map { $0 + (Double(index) - Double(series.count - 1) / 2) * width }, y: bars.y,
                   style: bars.style)
        }
        let status = withLinePlot(shifted, title: title, xLabel: xLabel, yLabel: yLabel, logScaleX: false, barWidth: width) {
            gnuplot_write_line_plot($0, directory.path, name, 900, 560)
        }
        if status != 0 { throw PlotError(description: String(cString: gnuplot_bridge_last_error())) }
        return render(directory: directory, name: name)
    }

    /// Draws the curves as text on standard output (gnuplot's `dumb` terminal). Quietly does nothing
    /// when gnuplot is missing, apart from the one warning line.
    public func printLines(_ series: [Series], title: String, xLabel: String, yLabel: String,
                           columns: Int = 78, rows: Int = 20) {
        guard gnuplot != nil else { warnOnce("gnuplot not found: skipping the terminal plot"); return }
        _ = withLinePlot(series, title: title, xLabel: xLabel, yLabel: yLabel, logScaleX: false) {
            gnuplot_print_line_plot($0, Int32(columns), Int32(rows))
        }
    }

    private func withLinePlot(_ series: [Series], title: String, xLabel: String, yLabel: String, logScaleX: Bool,
                              logScaleY: Bool = false, everyWholeX: Bool = false, keyBottomLeft: Bool = false,
                              barWidth: Double = 0, _ body: (UnsafePointer<GnuplotLinePlot>) -> Int32) -> Int32 {
        let titles = CStringArray(series.map(\.title))
        // C reads the numbers through plain pointers, so copy them into buffers that outlive the call.
        var buffers: [UnsafeMutableBufferPointer<Double>] = []
        defer { buffers.forEach { $0.deallocate() } }
        let cSeries = series.enumerated().map { index, curve -> GnuplotSeries in
            let x = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, curve.x.count))
            let y = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, curve.y.count))
            _ = x.initialize(from: curve.x)
            _ = y.initialize(from: curve.y)
            buffers += [x, y]
            return GnuplotSeries(title: titles.pointers[index], count: Int32(curve.x.count),
                                 x: x.baseAddress, y: y.baseAddress, style: curve.style.rawValue,
                                 colour: Int32(curve.colour ?? -1), dashed: curve.dashed ? 1 : 0)
        }
        return withExtendedLifetime(titles) {
            title.withCString { cTitle in xLabel.withCString { cX in yLabel.withCString { cY in
                cSeries.withUnsafeBufferPointer { buffer in
                    var plot = GnuplotLinePlot(title: cTitle, xLabel: cX, yLabel: cY, logScaleX: logScaleX ? 1 : 0,
                                               logScaleY: logScaleY ? 1 : 0, everyWholeX: everyWholeX ? 1 : 0,
                                               keyBottomLeft: keyBottomLeft ? 1 : 0, barWidth: barWidth,
                                               seriesCount: Int32(series.count), series: buffer.baseAddress)
                    return body(&plot)
                }
            } } }
        }
    }

    // MARK: Heatmaps

    /// One or more matrices with text tick labels, drawn as a grid of panels on one page (for example one
    /// panel per attention head). `columnLabels` run along the x axis, `rowLabels` down the y axis.
    @discardableResult
    public func heatmaps(_ panels: [Heatmap], rowLabels: [String], columnLabels: [String], title: String,
                         xLabel: String, yLabel: String, colorRange: ClosedRange<Double>? = nil,
                         gridColumns: Int? = nil, maximumWidth: Int? = nil, in directory: URL, name: String) throws -> PlotFiles {
        guard let first = panels.first else { throw PlotError(description: "a heatmap needs at least one panel") }
        guard panels.allSatisfy({ $0.rows == first.rows && $0.columns == first.columns }),
              rowLabels.count == first.rows, columnLabels.count == first.columns
        else { throw PlotError(description: "heatmap panels and labels must all have the same size") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let panelTitles = CStringArray(panels.map(\.title)), rowNames = CStringArray(rowLabels)
        let columnNames = CStringArray(columnLabels)
        let values = panels.flatMap(\.values)
        let columnsInGrid = gridColumns ?? Int(Double(panels.count).squareRoot().rounded(.up))
        let status = withExtendedLifetime((panelTitles, rowNames, columnNames)) {
          values.withUnsafeBufferPointer { valueBuffer in
            title.withCString { cTitle in xLabel.withCString { cX in yLabel.withCString { cY in
                var plot = GnuplotHeatmaps(
                    title: cTitle, xLabel: cX, yLabel: cY, rows: Int32(first.rows), columns: Int32(first.columns),
                    panelCount: Int32(panels.count), gridColumns: Int32(columnsInGrid),
                    panelTitles: UnsafePointer(panelTitles.constPointers), values: valueBuffer.baseAddress,
                    rowLabels: UnsafePointer(rowNames.constPointers),
                    columnLabels: UnsafePointer(columnNames.constPointers),
                    colorMin: colorRange?.lowerBound ?? 0, colorMax: colorRange?.upperBound ?? 0,
                    maximumWidth: Int32(maximumWidth ?? 0))
                return gnuplot_write_heatmaps(&plot, directory.path, name)
            } } }
          }
        }
        if status != 0 { throw PlotError(description: String(cString: gnuplot_bridge_last_error())) }
        return render(directory: directory, name: name)
    }

    /// A character as a readable tick label: space, newline and tab become visible symbols.
    public static func label(for character: Character) -> String {
        switch character {
        case " ": return "␣"
        case "\n": return "⏎"
        case "\t": return "⇥"
        default: return String(character)
        }
    }

    // MARK: Rendering

    private func render(directory: URL, name: String) -> PlotFiles {
        let files = PlotFiles(data: directory.appendingPathComponent(name + ".dat"),
                              script: directory.appendingPathComponent(name + ".gp"),
                              image: directory.appendingPathComponent(name + ".png"), rendered: false)
        guard let gnuplot else {
            warnOnce("gnuplot not found: wrote .dat and .gp files only (install gnuplot-nox to get PNGs)")
            return files
        }
        let process = Process()
        process.executableURL = gnuplot
        process.arguments = [name + ".gp"]
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationStatus == 0 { return PlotFiles(data: files.data, script: files.script,
                                                                 image: files.image, rendered: true) }
            let firstLine = String(decoding: message, as: UTF8.self).split(separator: "\n").first ?? ""
            warnOnce("gnuplot failed on \(name).gp: \(firstLine)")
        } catch {
            warnOnce("could not run gnuplot: \(error.localizedDescription)")
        }
        return files
    }

    private func warnOnce(_ message: String) {
        guard !warned else { return }
        warned = true
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }
}

/// C copies of Swift strings that stay valid until this object is freed.
private final class CStringArray {
    private let strings: [UnsafeMutablePointer<CChar>?]
    let constPointers: UnsafeMutablePointer<UnsafePointer<CChar>?>
    var pointers: [UnsafeMutablePointer<CChar>?] { strings }

    init(_ values: [String]) {
        strings = values.map { strdup($0) }
        constPointers = .allocate(capacity: max(1, values.count))
        for (index, pointer) in strings.enumerated() { constPointers[index] = UnsafePointer(pointer) }
    }
    deinit {
        strings.forEach { Foundation.free($0) }
        constPointers.deallocate()
    }
}
