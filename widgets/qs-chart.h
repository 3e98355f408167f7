/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <cairo.h>
#include <gio/gio.h>

#include "qs-quant.h"
#include "qs-stats.h"

G_BEGIN_DECLS

/* Plain cairo drawing of quantization results: the same code draws the GTK widgets
 * (through gtk_snapshot_append_cairo) and exports PNG, SVG and PDF. No GTK here. */

#define QS_CHART_ERROR (qs_chart_error_quark ())

typedef enum
{
  QS_CHART_ERROR_INVALID,   /* unknown chart kind, bad size or scale, nothing to draw */
  QS_CHART_ERROR_FORMAT,    /* file name does not end in .png, .svg or .pdf */
  QS_CHART_ERROR_WRITE,     /* cairo could not write the file */
} QsChartError;

/* An sRGB colour with alpha, the same layout as GdkRGBA. */
typedef struct
{
  float red;
  float green;
  float blue;
  float alpha;
} QsChartColor;

/* Theme colours and sizes. Data colours (the colormaps) do not depend on the theme;
 * everything else does. Widgets fill this from their CSS (fg, accent); exports use the
 * light or dark defaults. */
typedef struct
{
  QsChartColor fg;           /* text, axes */
  QsChartColor bg;           /* window background (drawn only when draw_background) */
  QsChartColor grid;         /* grid lines, separators */
  QsChartColor accent;       /* the float distribution, per-channel bars */
  QsChartColor second;       /* the dequantized series, the per-tensor range */
  QsChartColor clip;         /* clipped regions */
  double       font_scale;   /* 1.0 = 9 pt labels; raise for projectors */
  double       line_scale;   /* 1.0 = the normal data line widths; raise for projectors */
  gboolean     dark;
  gboolean     draw_background;
} QsChartStyle;

GQuark   qs_chart_error_quark      (void);

void     qs_chart_style_init_light (QsChartStyle       *style);
void     qs_chart_style_init_dark  (QsChartStyle       *style);

/* channel: -1 = all values, else one output channel of result->input. */
void     qs_chart_draw_histogram   (cairo_t            *cr,
                                    double              width,
                                    double              height,
                                    QsQuantResult      *result,
                                    gint                channel,
                                    gboolean            log_scale,
                                    const QsChartStyle *style);
void     qs_chart_draw_heatmap     (cairo_t            *cr,
                                    double              width,
                                    double              height,
                                    QsQuantResult      *result,
                                    QsMapValue          mode,
                                    const QsChartStyle *style);
void     qs_chart_draw_channels    (cairo_t            *cr,
                                    double              width,
                                    double              height,
                                    QsQuantResult      *result,
                                    const QsChartStyle *style);

/* Writes a figure with title, axis labels and legend. kind: "histogram", "heatmap" or
 * "channels"; the format follows the extension of path (.png, .svg, .pdf). width and
 * height are in points (PNG: pixels at scale 1); scale multiplies PNG pixels. The file is
 * written atomically. Uses the light style (qs_chart_export_full takes options). */
gboolean qs_chart_export           (const char         *kind,
                                    QsQuantResult      *result,
                                    const char         *title,
                                    const char         *path,
                                    int                 width,
                                    int                 height,
                                    double              scale,
                                    GError            **error);

/* What a chart export shows besides the kind. */
typedef struct
{
  gint                channel;   /* histogram: -1 = all */
  gboolean            log_scale; /* histogram */
  QsMapValue          mode;      /* heatmap */
  gboolean            sorted;    /* channels: order by range */
  gsize               row0;      /* heatmap: the matrix window shown; rows == 0: all */
  gsize               col0;
  gsize               rows;
  gsize               cols;
  const QsChartStyle *style;     /* NULL = light */
} QsChartOptions;

void     qs_chart_options_init     (QsChartOptions     *options);
gboolean qs_chart_export_full      (const char         *kind,
                                    QsQuantResult      *result,
                                    const QsChartOptions *options,
                                    const char         *title,
                                    const char         *path,
                                    int                 width,
                                    int                 height,
                                    double              scale,
                                    GError            **error);

/* Draws the figure qs_chart_export_full () writes (title, axes, legend; the background
 * when the style asks for it) into any cairo context at (0, 0): a page or a picture of a
 * report. FALSE with QS_CHART_ERROR_INVALID for an unknown kind. */
gboolean qs_chart_draw_figure      (cairo_t            *cr,
                                    const char         *kind,
                                    QsQuantResult      *result,
                                    const QsChartOptions *options,
                                    const char         *title,
                                    double              width,
                                    double              height,
                                    GError            **error);

/* A line chart of up to QS_CHART_LINE_MAX_SERIES series over a shared x axis, with an
 * optional marked point (a dot, a dashed drop line and a label: "MSE optimum") and an
 * optional cursor (a vertical line: the current setting). The playground's MSE-vs-clip
 * curve. Arrays are borrowed for the call. */
#define QS_CHART_LINE_MAX_SERIES 3

typedef struct
{
  const double *x;
  const double *y;
  gsize         n;
  const char   *label;    /* legend text, nullable */
} QsChartSeries;

typedef struct
{
  const char    *x_label;
  const char    *y_label;
  QsChartSeries  series[QS_CHART_LINE_MAX_SERIES];
  guint          n_series;
  gboolean       log_y;
  double         marker_x;      /* NaN: no marker */
  double         marker_y;
  const char    *marker_label;
  double         cursor_x;      /* NaN: no cursor */
  const char    *cursor_label;
} QsChartLineData;

void     qs_chart_line_data_init   (QsChartLineData    *data);
void     qs_chart_draw_line        (cairo_t            *cr,
                                    double              width,
                                    double              height,
                                    const QsChartLineData *data,
                                    const char         *title,  /* nullable */
                                    const QsChartStyle *style);
gboolean qs_chart_export_line      (const QsChartLineData *data,
                                    const QsChartStyle *style,  /* NULL = light */
                                    const char         *title,
                                    const char         *path,
                                    int                 width,
                                    int                 height,
                                    double              scale,
                                    GError            **error);

/* A bar chart: one bar per item in order (the values of a graph along it), one of them
 * highlighted in the clip colour with its label always shown; other labels where they fit.
 * Arrays are borrowed for the call. The sample gallery's per-layer activation error. */
typedef struct
{
  const char * const *labels;         /* n, nullable */
  const double       *values;         /* n, >= 0; NaN / inf drawn as 0 */
  gsize               n;
  gint                highlight;      /* -1: none */
  const char         *x_label;
  const char         *y_label;
  const char         *series_label;   /* legend of the bars, nullable */
  const char         *highlight_label;/* legend of the highlighted bar, nullable */
} QsChartBarsData;

void     qs_chart_bars_data_init   (QsChartBarsData    *data);
void     qs_chart_draw_bars        (cairo_t            *cr,
                                    double              width,
                                    double              height,
                                    const QsChartBarsData *data,
                                    const char         *title,  /* nullable */
                                    const QsChartStyle *style);
gboolean qs_chart_export_bars      (const QsChartBarsData *data,
                                    const QsChartStyle *style,  /* NULL = light */
                                    const char         *title,
                                    const char         *path,
                                    int                 width,
                                    int                 height,
                                    double              scale,
                                    GError            **error);

G_END_DECLS
