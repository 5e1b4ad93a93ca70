// The C++ side of the gnuplot bridge. See include/GnuplotBridge.h for the contract.
#include "GnuplotBridge.h"

#include <gnuplot-iostream.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string lastError;

// A gnuplot string literal in double quotes. Backslashes and quotes are escaped, so a label that is a
// lone ' or " still shows (gnuplot reads a lone ' inside single quotes as an empty string).
/// Text for a comment line of a data file: line breaks become spaces.
std::string oneLine(const char *text) {
    std::string out = text ? text : "";
    for (char &c : out) if (c == '\n' || c == '\r') c = ' ';
    return out;
}

/// A gnuplot string literal for any text. Single quotes, because gnuplot runs `commands` in backquotes inside
/// double-quoted strings (a label taken from the user's text must never run anything); inside single quotes
/// only a quote needs doubling. Line breaks would end the command, so they become spaces.
std::string quoted(const char *text) {
    std::string out = "'";
    for (const char *c = text ? text : ""; *c; ++c) {
        if (*c == '\'') out += "''";
        else if (*c == '\n' || *c == '\r') out += ' ';
        else out += *c;
    }
    return out + "'";
}

/// A tick label: gnuplot reads it as a format for the tick's value, so a literal % is written %%.
std::string quotedTickLabel(const char *text) {
    std::string escaped;
    for (const char *c = text ? text : ""; *c; ++c) escaped += (*c == '%') ? std::string("%%") : std::string(1, *c);
    // gnuplot draws a lone quote written single-quoted ('''') as an empty tick label. Double quotes show it,
    // but gnuplot runs a `command` inside them, so only a label with no backquote gets them.
    if (escaped.find('\'') == std::string::npos || escaped.find('`') != std::string::npos) return quoted(escaped.c_str());
    std::string out = "\"";
    for (char c : escaped) {
        if (c == '"' || c == '\\') out += '\\';
        out += (c == '\n' || c == '\r') ? ' ' : c;
    }
    return out + "\"";
}

std::string joinPath(const std::string &directory, const std::string &file) {
    if (directory.empty()) return file;
    return directory.back() == '/' ? directory + file : directory + "/" + file;
}

// Files are written beside their final name and renamed into place, so a reader never sees half a file.
void replaceFile(const std::string &temporary, const std::string &final) {
    if (std::rename(temporary.c_str(), final.c_str()) != 0)
        throw std::runtime_error("cannot rename " + temporary + " to " + final);
}

void writeSeriesData(const GnuplotLinePlot &plot, const std::string &path) {
    std::ofstream out(path + ".tmp");
    if (!out) throw std::runtime_error("cannot write " + path);
    out << std::setprecision(7);
    out << "# " << (plot.title ? plot.title : "") << "\n";
    for (int s = 0; s < plot.seriesCount; ++s) {
        const GnuplotSeries &series = plot.series[s];
        // gnuplot's `index N` selects the block after N double blank lines.
        if (s > 0) out << "\n\n";
        out << "# index " << s << ": " << oneLine(series.title) << "\n";
        out << "# x y\n";
        for (int i = 0; i < series.count; ++i) {
            out << series.x[i] << ' ';
            if (std::isfinite(series.y[i])) out << series.y[i]; else out << "NaN";
            out << '\n';
        }
    }
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path);
    replaceFile(path + ".tmp", path);
}

// The commands shared by the PNG script and the text (dumb) rendering.
template <typename Stream>
void emitLineCommands(Stream &gp, const GnuplotLinePlot &plot) {
    gp << "set title " << quoted(plot.title) << " noenhanced\n";
    gp << "set xlabel " << quoted(plot.xLabel) << " noenhanced\n";
    gp << "set ylabel " << quoted(plot.yLabel) << " noenhanced\n";
    gp << (plot.keyBottomLeft ? "set key bottom left noenhanced\n" : "set key top right noenhanced\n");
    gp << "set grid\n";
    if (plot.logScaleX) gp << "set logscale x\nset autoscale xfix\n";
    if (plot.logScaleY) gp << "set logscale y\nset format y \"%g\"\n";
    if (plot.everyWholeX) gp << "set xtics 1\n";
    if (plot.barWidth > 0) {
        char width[32];
        std::snprintf(width, sizeof width, "%g", plot.barWidth);
        // Room above the tallest bar (autoscaling would end the axis at its top, under the frame).
        double tallest = 0;
        for (int s = 0; s < plot.seriesCount; ++s)
            for (int i = 0; i < plot.series[s].count; ++i)
                if (std::isfinite(plot.series[s].y[i]) && plot.series[s].y[i] > tallest) tallest = plot.series[s].y[i];
        char top[32];
        std::snprintf(top, sizeof top, "%g", tallest > 0 ? tallest * 1.1 : 1.0);
        gp << "set boxwidth " << width << " absolute\nset style fill solid 0.6 border -1\nset yrange [0:" << top
           << "]\nset xtics 1\n";
    }
}

/// "with lines linewidth 2" (or thin, or points), or "with boxes" for a bar chart.
std::string seriesStyle(const GnuplotLinePlot &plot, int series) {
    if (plot.barWidth > 0) return "with boxes";
    switch (plot.series[series].style) {
    case GNUPLOT_STYLE_THIN_LINE: {
        // Pale, behind the rest: grey for the first thin line, then a pale khaki and a pale lilac, so that
        // two models' batch losses in one plot can be told apart.
        static const char *shades[] = {"#b8b8b8", "#d6c98f", "#c2aedb"};
        int earlier = 0;
        for (int s = 0; s < series; ++s) earlier += plot.series[s].style == GNUPLOT_STYLE_THIN_LINE;
        return std::string("with lines linewidth 1 linecolor rgb \"") + shades[earlier % 3] + "\"";
    }
    default: {
        // The strong series (running means, estimates) take colours in order from a list that keeps each one
        // apart from the others: green, blue, orange for the first model's mean, train and val; vermilion,
        // purple, black for a second model's (gnuplot's default cycle gives two near-identical blues there).
        // A series that names its colour takes that one.
        static const char *strong[] = {"#009e73", "#0072b2", "#e69f00", "#d55e00", "#9400d3", "#000000"};
        int earlier = 0;
        for (int s = 0; s < series; ++s) earlier += plot.series[s].style != GNUPLOT_STYLE_THIN_LINE;
        const int index = plot.series[series].colour >= 0 ? plot.series[series].colour : earlier;
        const std::string colour = std::string(" linecolor rgb \"") + strong[index % 6] + "\"";
        if (plot.series[series].style == GNUPLOT_STYLE_POINTS)   // dashed points: hollow rings, larger, around any dot under them
            return (plot.series[series].dashed ? "with points pointtype 6 pointsize 1.8" : "with points pointtype 7 pointsize 1.2") + colour;
        return std::string("with lines linewidth 2") + (plot.series[series].dashed ? " dashtype 2" : "") + colour;
    }
    }
}

}  // namespace

extern "C" int gnuplot_write_line_plot(const GnuplotLinePlot *plot, const char *directory, const char *baseName,
                                       int widthPixels, int heightPixels) {
    try {
        const std::string dat = std::string(baseName) + ".dat";
        const std::string gpFile = joinPath(directory, std::string(baseName) + ".gp");
        writeSeriesData(*plot, joinPath(directory, dat));
        {
            Gnuplot gp(">" + gpFile + ".tmp");  // gnuplot-iostream writing a script file instead of a pipe
            gp << "# " << (plot->title ? plot->title : "") << "\n";
            gp << "# Re-render from this folder with:  gnuplot " << baseName << ".gp\n";
            gp << "set terminal pngcairo size " << widthPixels << "," << heightPixels
               << " noenhanced font \"Sans,11\"\n";
            gp << "set output " << quoted((std::string(baseName) + ".png").c_str()) << "\n";
            emitLineCommands(gp, *plot);
            gp << "plot ";
            for (int s = 0; s < plot->seriesCount; ++s) {
                if (s > 0) gp << ", \\\n     ";
                gp << quoted(dat.c_str()) << " index " << s << " using 1:2 " << seriesStyle(*plot, s) << " title "
                   << quoted(plot->series[s].title);
            }
            gp << "\nunset output\n";
            gp.flush();
            if (!gp) throw std::runtime_error("cannot write " + gpFile);
        }
        replaceFile(gpFile + ".tmp", gpFile);
        return 0;
    } catch (const std::exception &error) {
        lastError = error.what();
        return -1;
    }
}

extern "C" int gnuplot_print_line_plot(const GnuplotLinePlot *plot, int columns, int rows) {
    try {
        std::fflush(stdout);
        Gnuplot gp("gnuplot");  // a real pipe into the gnuplot program; it draws on our stdout
        gp << "set terminal dumb size " << columns << "," << rows << "\n";
        emitLineCommands(gp, *plot);
        gp << "set key top right\nplot ";
        for (int s = 0; s < plot->seriesCount; ++s) gp << (s ? ", " : "") << "'-' using 1:2 " << seriesStyle(*plot, s) << " title "
                                                       << quoted(plot->series[s].title);
        gp << "\n";
        for (int s = 0; s < plot->seriesCount; ++s) {
            std::vector<std::pair<double, double>> points;
            for (int i = 0; i < plot->series[s].count; ++i)
                if (std::isfinite(plot->series[s].y[i])) points.emplace_back(plot->series[s].x[i], plot->series[s].y[i]);
            if (points.empty()) points.emplace_back(0, NAN);
            gp.send1d(points);
        }
        gp.flush();
        return 0;
    } catch (const std::exception &error) {
        lastError = error.what();
        return -1;
    }
}

extern "C" int gnuplot_write_heatmaps(const GnuplotHeatmaps *plot, const char *directory, const char *baseName) {
    try {
        const std::string dat = std::string(baseName) + ".dat";
        const std::string datPath = joinPath(directory, dat);
        const std::string gpFile = joinPath(directory, std::string(baseName) + ".gp");
        const int gridColumns = std::max(1, std::min(plot->gridColumns, plot->panelCount));
        const int gridRows = (plot->panelCount + gridColumns - 1) / gridColumns;

        {   // The numbers: one matrix per panel, panels separated by two blank lines (gnuplot's `index`).
            std::ofstream out(datPath + ".tmp");
            if (!out) throw std::runtime_error("cannot write " + datPath);
            out << std::setprecision(6);
            const size_t panelSize = size_t(plot->rows) * size_t(plot->columns);
            for (int p = 0; p < plot->panelCount; ++p) {
                if (p > 0) out << "\n\n";
                out << "# index " << p << ": " << oneLine(plot->panelTitles ? plot->panelTitles[p] : "") << "\n";
                for (int r = 0; r < plot->rows; ++r) {
                    for (int c = 0; c < plot->columns; ++c)
                        out << (c ? " " : "") << plot->values[p * panelSize + size_t(r) * plot->columns + c];
                    out << '\n';
                }
            }
            out.close();
            if (!out) throw std::runtime_error("cannot write " + datPath);
            replaceFile(datPath + ".tmp", datPath);
        }

        // Each panel gets about 26 px per label (at least 320 px), so tick labels stay readable; a grid of
        // many panels is capped at about 4000 px across (or the caller's maximum, such as a page's width)
        // so the image stays a sensible size.
        const int wanted = std::max(320, std::min(1800, 26 * std::max(plot->rows, plot->columns) + 140));
        const int maximumWidth = plot->maximumWidth > 0 ? plot->maximumWidth : 4000;
        const int panelPixels = std::max(320, std::min(wanted, maximumWidth / std::max(1, gridColumns)));
        const int width = gridColumns * panelPixels;
        const int height = gridRows * panelPixels + 40;
        // The square plot takes about 0.8 of a panel less 50 px of labels: below about 14 px a row, a 10-point
        // tick label runs into the next one, so the ticks get a smaller font (not below 6 points).
        const double pitch = (0.8 * panelPixels - 50) / std::max(1, std::max(plot->rows, plot->columns));
        const int tickPoints = pitch >= 14 ? 10 : std::max(6, std::min(9, int(pitch * 0.7)));
        {
            Gnuplot gp(">" + gpFile + ".tmp");
            gp << "# " << (plot->title ? plot->title : "") << "\n";
            gp << "# Re-render from this folder with:  gnuplot " << baseName << ".gp\n";
            gp << "set terminal pngcairo size " << width << "," << height << " noenhanced font \"Sans,10\"\n";
            gp << "set output " << quoted((std::string(baseName) + ".png").c_str()) << "\n";
            if (tickPoints < 10) gp << "set tics font \"Sans," << tickPoints << "\"\n";
            gp << "set xtics (";
            for (int c = 0; c < plot->columns; ++c) gp << (c ? ", " : "") << quotedTickLabel(plot->columnLabels[c]) << " " << c;
            // Labels wider than a character or two (byte-pair tokens) would run into each other: stand them up.
            size_t widest = 0;
            for (int c = 0; c < plot->columns; ++c) widest = std::max(widest, std::string(plot->columnLabels[c]).size());
            gp << ") scale 0 noenhanced" << (widest > 4 ? " rotate by 90 right" : "") << "\n";
            gp << "set ytics (";
            for (int r = 0; r < plot->rows; ++r) gp << (r ? ", " : "") << quotedTickLabel(plot->rowLabels[r]) << " " << r;
            gp << ") scale 0 noenhanced\n";
            gp << "set xrange [-0.5:" << plot->columns - 0.5 << "]\n";
            gp << "set yrange [" << plot->rows - 0.5 << ":-0.5]   # row 0 at the top, like a printed matrix\n";
            gp << "set xlabel " << quoted(plot->xLabel) << " noenhanced\n";
            gp << "set ylabel " << quoted(plot->yLabel) << " noenhanced\n";
            gp << "set palette defined (0 \"white\", 0.35 \"#fdae61\", 0.7 \"#d7191c\", 1 \"#3f007d\")\n";
            if (plot->colorMin < plot->colorMax) gp << "set cbrange [" << plot->colorMin << ":" << plot->colorMax << "]\n";
            gp << "set size ratio -1\n";
            gp << "set multiplot layout " << gridRows << "," << gridColumns << " title "
               << quoted(plot->title) << " noenhanced\n";
            for (int p = 0; p < plot->panelCount; ++p) {
                gp << "set title " << quoted(plot->panelTitles ? plot->panelTitles[p] : "") << " noenhanced\n";
                gp << "plot " << quoted(dat.c_str()) << " index " << p << " matrix with image notitle\n";
            }
            gp << "unset multiplot\nunset output\n";
            gp.flush();
            if (!gp) throw std::runtime_error("cannot write " + gpFile);
        }
        replaceFile(gpFile + ".tmp", gpFile);
        return 0;
    } catch (const std::exception &error) {
        lastError = error.what();
        return -1;
    }
}

extern "C" const char *gnuplot_bridge_last_error(void) { return lastError.c_str(); }
