// A small C interface over gnuplot-iostream, so Swift can stay plain Swift.
//
// Swift's C++ interop cannot import gnuplot-iostream.h (its Gnuplot class is non-copyable and templated),
// so this target compiles the header in C++ and exposes a few C functions. Every writer produces
//   NAME.dat  the numbers,
//   NAME.gp   a gnuplot script that renders NAME.png when run from its own folder (`gnuplot NAME.gp`),
// and the Swift side (Plotting) runs gnuplot on the script. Functions return 0 on success, or -1 with a
// one-line reason in gnuplot_bridge_last_error().
#ifndef GNUPLOT_BRIDGE_H
#define GNUPLOT_BRIDGE_H

#ifdef __cplusplus
extern "C" {
#endif

/// How a curve is drawn: a line (2 px), a thin light line (1 px, for noisy per-step values), or points
/// (markers at the measured values only).
enum { GNUPLOT_STYLE_LINE = 0, GNUPLOT_STYLE_THIN_LINE = 1, GNUPLOT_STYLE_POINTS = 2 };

/// One curve: `count` points (x[i], y[i]), drawn in `style`. NaN values of y are skipped by gnuplot.
/// `colour`: an index into the bridge's list of strong colours, so that several series (one model's
/// line and its markers) can share one; -1 for the next colour in order. `dashed`: a line drawn in dashes,
/// so that it stays visible where it runs under another; markers drawn as larger hollow rings, for the same
/// reason.
typedef struct {
    const char *title;
    int count;
    const double *x;
    const double *y;
    int style;
    int colour;
    int dashed;
} GnuplotSeries;

/// Several curves on one pair of axes, e.g. train and val loss against step. With `barWidth` > 0 each
/// series is drawn as bars of that width (x units) instead of a line.
typedef struct {
    const char *title;
    const char *xLabel;
    const char *yLabel;
    int logScaleX;  ///< nonzero: a logarithmic x axis that spans exactly the data
    int logScaleY;  ///< nonzero: a logarithmic y axis, its ticks written as 1e-06, 0.001, 1
    int everyWholeX;  ///< nonzero: an x tick at every whole number (x that counts layers or blocks)
    int keyBottomLeft;  ///< nonzero: the key at the bottom left instead of the top right
    double barWidth;
    int seriesCount;
    const GnuplotSeries *series;
} GnuplotLinePlot;

/// `panelCount` matrices of `rows` x `columns` values (row-major, panel after panel) drawn as heatmaps in
/// a grid of `gridColumns` panels per line, with text tick labels on both axes (row 0 at the top).
typedef struct {
    const char *title;
    const char *xLabel;
    const char *yLabel;
    int rows;
    int columns;
    int panelCount;
    int gridColumns;
    const char *const *panelTitles;
    const float *values;
    const char *const *rowLabels;
    const char *const *columnLabels;
    double colorMin;  ///< colour range; set colorMin >= colorMax to let gnuplot choose
    double colorMax;
    int maximumWidth;  ///< pixels across the whole grid at most (0: about 4000)
} GnuplotHeatmaps;

int gnuplot_write_line_plot(const GnuplotLinePlot *plot, const char *directory, const char *baseName,
                            int widthPixels, int heightPixels);
int gnuplot_write_heatmaps(const GnuplotHeatmaps *plot, const char *directory, const char *baseName);

/// Pipes the plot straight into the `gnuplot` program with the `dumb` terminal, which draws it in text on
/// standard output. The caller checks that gnuplot exists first.
int gnuplot_print_line_plot(const GnuplotLinePlot *plot, int columns, int rows);

const char *gnuplot_bridge_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
