import Foundation
import Testing
@testable import Plotting

@Suite("The gnuplot bridge writes .dat, .gp and .png")
struct PlotterTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plot-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    func isPNG(_ url: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: url.path) else { return false }
        return data.count > 1000 && data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    let losses = [Series("train", x: [0, 100, 200], y: [4.17, 2.5, 2.1]),
                  Series("val", x: [0, 100, 200], y: [4.18, 2.6, 2.25])]

    @Test(.enabled(if: Plotter.findGnuplot() != nil, "needs the gnuplot program"))
    func aLinePlotWritesDataScriptAndImage() throws {
        let files = try Plotter(gnuplot: Plotter.findGnuplot()).lines(
            losses, title: "Chapter 01 · Bigram: loss", xLabel: "step", yLabel: "loss", in: folder, name: "loss")
        #expect(files.rendered)
        #expect(isPNG(files.image))
        let data = try read(files.data)
        #expect(data.contains("# index 0: train") && data.contains("# index 1: val"))
        #expect(data.contains("200 2.1\n") && data.contains("100 2.6\n"))
        let script = try read(files.script)
        #expect(script.contains("set terminal pngcairo"))
        #expect(script.contains("set output 'loss.png'"))
        #expect(script.contains("'loss.dat' index 1 using 1:2"))
        #expect(script.contains("set title 'Chapter 01 · Bigram: loss'"))
    }

    @Test(.enabled(if: Plotter.findGnuplot() != nil, "needs the gnuplot program"))
    func aBarChartPutsTheSeriesSideBySide() throws {
        let files = try Plotter(gnuplot: Plotter.findGnuplot()).bars(
            [Series("vocabulary", x: [1, 2, 3], y: [50, 30, 20]), Series("text", x: [1, 2, 3], y: [60, 30, 10])],
            title: "token lengths", xLabel: "bytes", yLabel: "%", in: folder, name: "bars")
        #expect(files.rendered && isPNG(files.image))
        let script = try read(files.script), data = try read(files.data)
        #expect(script.contains("set boxwidth 0.4 absolute") && script.contains("index 1 using 1:2 with boxes"))
        #expect(data.contains("0.8 50\n") && data.contains("1.2 60\n"))   // each series shifted by half a bar
    }

    /// A series that names a colour takes it, so one run's line and markers match; one that names none takes
    /// the next colour in order (the list: green, blue, orange, vermilion, purple, black).
    @Test func seriesThatNameAColourShareIt() throws {
        let files = try Plotter(gnuplot: nil).lines(
            [Series("run A: mean", x: [0, 1], y: [2, 1], colour: 3), Series("run A: val", x: [0, 1], y: [2.1, 1.1], style: .points, colour: 3),
             Series("unnamed", x: [0, 1], y: [3, 2])],
            title: "t", xLabel: "x", yLabel: "y", in: folder, name: "colours")
        let lines = try read(files.script).split(separator: "\n")
        func colour(ofIndex index: Int) -> Substring? {
            guard let line = lines.first(where: { $0.contains("index \(index) using") }), let hash = line.firstIndex(of: "#") else { return nil }
            return line[hash...].prefix(7)
        }
        #expect(colour(ofIndex: 0) == "#d55e00" && colour(ofIndex: 1) == "#d55e00")
        #expect(colour(ofIndex: 2) == "#e69f00")   // the third strong series, in order
    }

    /// A dashed series is drawn in dashes and keeps its colour; the others stay solid.
    @Test func aDashedSeriesIsDrawnInDashes() throws {
        let files = try Plotter(gnuplot: nil).lines(
            [Series("solid", x: [0, 1], y: [2, 1], colour: 0), Series("dashed", x: [0, 1], y: [2, 1], colour: 1, dashed: true)],
            title: "t", xLabel: "x", yLabel: "y", in: folder, name: "dashes")
        let lines = try read(files.script).split(separator: "\n")
        let solid = lines.first { $0.contains("index 0 using") }, dashed = lines.first { $0.contains("index 1 using") }
        #expect(solid.map { !$0.contains("dashtype") } == true)
        #expect(dashed.map { $0.contains("dashtype 2") && $0.contains("#0072b2") } == true)
    }

    /// Dashed points are hollow rings, larger than the filled dots, so a dot under one still shows.
    @Test func dashedPointsAreHollowRings() throws {
        let files = try Plotter(gnuplot: nil).lines(
            [Series("dots", x: [0, 1], y: [2, 1], style: .points, colour: 0),
             Series("rings", x: [0, 1], y: [2, 1], style: .points, colour: 1, dashed: true)],
            title: "t", xLabel: "x", yLabel: "y", in: folder, name: "rings")
        let lines = try read(files.script).split(separator: "\n")
        let dots = lines.first { $0.contains("index 0 using") }, rings = lines.first { $0.contains("index 1 using") }
        #expect(dots.map { $0.contains("pointtype 7 pointsize 1.2") } == true)
        #expect(rings.map { $0.contains("pointtype 6 pointsize 1.8") && $0.contains("#0072b2") } == true)
    }

    @Test func withoutGnuplotTheDataAndScriptAreStillWritten() throws {
        let files = try Plotter(gnuplot: nil).lines(losses, title: "t", xLabel: "x", yLabel: "y", in: folder, name: "nognuplot")
        #expect(!files.rendered)
        #expect(FileManager.default.fileExists(atPath: files.data.path))
        #expect(FileManager.default.fileExists(atPath: files.script.path))
        #expect(!FileManager.default.fileExists(atPath: files.image.path))
        let heatmap = try Plotter(gnuplot: nil).heatmaps(
            [Heatmap("h", rows: 1, columns: 2, values: [0.25, 0.75])], rowLabels: ["a"], columnLabels: ["b", "c"],
            title: "t", xLabel: "x", yLabel: "y", in: folder, name: "nognuplot-heatmap")
        #expect(!heatmap.rendered && FileManager.default.fileExists(atPath: heatmap.script.path))
    }

    @Test(.enabled(if: Plotter.findGnuplot() != nil, "needs the gnuplot program"))
    func heatmapsHaveTextTickLabelsAndOnePanelPerMatrix() throws {
        // Labels that break naive quoting: a lone quote, a double quote, a backslash, markup characters, a
        // line break, and a backquoted command, which gnuplot would run inside a double-quoted string.
        let marker = folder.appendingPathComponent("backquote-ran").path
        let labels = ["'", "\"", "\\", "_", "^", "{", Plotter.label(for: " "), Plotter.label(for: "\n"), "a\nb",
                      "`touch \(marker)`", "@x", "100%", "%d"]
        let n = labels.count
        let panels = (0..<3).map { head in
            Heatmap("head \(head)", rows: n, columns: n, values: (0..<(n * n)).map { Float(($0 + head) % n) / Float(n) })
        }
        let files = try Plotter(gnuplot: Plotter.findGnuplot()).heatmaps(
            panels, rowLabels: labels, columnLabels: labels, title: "attention", xLabel: "key", yLabel: "query",
            colorRange: 0...1, in: folder, name: "attention")
        #expect(files.rendered)
        #expect(isPNG(files.image))
        let script = try read(files.script)
        #expect(script.contains(#"set xtics ("'" 0, '"' 1, '\' 2, '_' 3"#))   // a lone quote shows only double-quoted
        #expect(script.contains("'a b' 8") && script.contains("'100%%' 11, '%%d' 12"))
        #expect(script.contains("set multiplot layout 2,2 title 'attention'"))
        #expect(script.contains("'attention.dat' index 2 matrix with image"))
        #expect(script.contains("noenhanced"))
        #expect(!FileManager.default.fileExists(atPath: marker), "gnuplot ran a command from a label")
        let data = try read(files.data)
        #expect(data.components(separatedBy: "# index").count == 4)   // three panels
        #expect(data.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 3 * n)
    }

    @Test(.enabled(if: Plotter.findGnuplot() != nil, "needs the gnuplot program"))
    func theScriptReRendersFromItsOwnFolder() throws {
        let files = try Plotter(gnuplot: Plotter.findGnuplot()).lines(losses, title: "t", xLabel: "x", yLabel: "y",
                                                                       in: folder, name: "rerender")
        try FileManager.default.removeItem(at: files.image)
        let process = Process()
        process.executableURL = Plotter.findGnuplot()
        process.arguments = ["rerender.gp"]
        process.currentDirectoryURL = folder
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(isPNG(files.image))
    }

    @Test func labelsMakeInvisibleCharactersVisible() {
        #expect(Plotter.label(for: " ") == "␣")
        #expect(Plotter.label(for: "\n") == "⏎")
        #expect(Plotter.label(for: "a") == "a")
    }
}
