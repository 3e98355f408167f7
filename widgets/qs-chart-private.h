/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Folder-internal chart API: normalised chart data built once per data change, layout
 * (where the plot area is, so widgets can map pointer positions to data) and drawing.
 * The public qs_chart_draw_* functions and the GTK widgets both go through these. */

#include "qs-chart.h"
#include "qs-chart-eval.h"

G_BEGIN_DECLS

typedef struct
{
  double x;
  double y;
  double width;
  double height;
} QsChartRect;

/* --- shared drawing helpers (qs-chart.c) --- */
/* Draws one figure (background included when style->draw_background). */
typedef void (*QsChartDrawFunc) (cairo_t            *cr,
                                 double              width,
                                 double              height,
                                 const char         *title,
                                 const QsChartStyle *style,
                                 gpointer            data);
/* Writes draw's figure to path (.png, .svg, .pdf by the extension) atomically: width and
 * height in points (PNG: pixels at scale 1), style NULL = light. */
gboolean  _qs_chart_export_drawing     (QsChartDrawFunc     draw,
                                        gpointer            data,
                                        const QsChartStyle *style,
                                        const char         *title,
                                        const char         *path,
                                        int                 width,
                                        int                 height,
                                        double              scale,
                                        GError            **error);
void      _qs_chart_set_color          (cairo_t            *cr,
                                        const QsChartColor *color,
                                        double              alpha);
/* Draws text with its anchor at (x, y): xalign/yalign 0 = left/top, 0.5 centre, 1 right/bottom.
 * size is relative to the base label size. Returns the text width. */
double    _qs_chart_text               (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        double              x,
                                        double              y,
                                        double              xalign,
                                        double              yalign,
                                        double              size,
                                        gboolean            bold,
                                        const char         *text);
void      _qs_chart_text_extents       (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        double              size,
                                        gboolean            bold,
                                        const char         *text,
                                        double             *width,
                                        double             *height);
/* Left-aligned text at x, ellipsized to max_width (nothing when under 8 px). Returns the
 * width drawn. */
double    _qs_chart_text_fit           (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        double              x,
                                        double              y,
                                        double              yalign,
                                        double              size,
                                        gboolean            bold,
                                        const char         *text,
                                        double              max_width);
double    _qs_chart_line_height        (const QsChartStyle *style);
/* "0.0123", "-1.5e-05", "12 345": short, locale-aware. */
char     *_qs_chart_format_value       (double              value);
char     *_qs_chart_format_count       (guint64             count);
/* Up to max_ticks "nice" values (1, 2, 5 x 10^k steps) in [lo, hi]; returns how many. */
guint     _qs_chart_nice_ticks         (double              lo,
                                        double              hi,
                                        guint               max_ticks,
                                        double             *ticks);
/* Evenly spaced nice ticks in [lo, hi]: min_ticks to max_ticks of them whenever a step
 * allows (1, 2, 2.5, 5 x 10^k preferred, then 4, 3, 1.5, 6, 8 x 10^k; the most ticks that
 * fit), else as _qs_chart_nice_ticks (). ticks has room for max_ticks. */
guint     _qs_chart_axis_ticks         (double              lo,
                                        double              hi,
                                        guint               min_ticks,
                                        guint               max_ticks,
                                        double             *ticks);
gboolean  _qs_chart_rect_intersects    (const QsChartRect  *a,
                                        const QsChartRect  *b);
/* The box _qs_chart_text () would fill with the same arguments. */
void      _qs_chart_text_rect          (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        double              x,
                                        double              y,
                                        double              xalign,
                                        double              yalign,
                                        double              size,
                                        gboolean            bold,
                                        const char         *text,
                                        QsChartRect        *rect);
void      _qs_chart_draw_background    (cairo_t            *cr,
                                        double              width,
                                        double              height,
                                        const QsChartStyle *style);
/* Title (nullable) at the top; returns the y where content starts. */
double    _qs_chart_draw_title         (cairo_t            *cr,
                                        double              width,
                                        const char         *title,
                                        const QsChartStyle *style);
void      _qs_chart_draw_message       (cairo_t            *cr,
                                        double              width,
                                        double              height,
                                        const char         *message,
                                        const QsChartStyle *style);
/* A legend swatch followed by a label that ends before right (ellipsized; the item is
 * left out when not even the swatch fits); returns the x after it. kind 0 = box,
 * 1 = line, 2 = dot, 3 = dashed line, 4 = ring, -1 = none (text only). */
double    _qs_chart_legend_item        (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        double              x,
                                        double              y,
                                        double              right,
                                        const QsChartColor *color,
                                        double              alpha,
                                        int                 kind,
                                        const char         *label);

/* A legend laid out before drawing: swatched items flow left to right into rows and wrap
 * to the next row instead of being cut; an entry without colour is a note, wrapped over
 * up to three rows of its own. */
typedef struct
{
  const QsChartColor *color;     /* NULL: a note */
  double              alpha;
  int                 kind;      /* swatch, as _qs_chart_legend_item (); -2: a row break */
  char               *text;
  QsChartRect         rect;      /* swatch and text, after _qs_chart_legend_flow () */
  gboolean            ellipsized; /* the text did not fit even on a row of its own */
  guint               n_lines;
  double              wrap_width; /* a note's */
} QsChartLegendEntry;

/* entries: a GArray of QsChartLegendEntry with _qs_chart_legend_entry_clear as clear func */
void      _qs_chart_legend_entry_clear (gpointer            entry);
void      _qs_chart_legend_add         (GArray             *entries,
                                        const QsChartColor *color,
                                        double              alpha,
                                        int                 kind,
                                        const char         *text);
/* Lays the entries out from (x0, y0) within [x0, right]; returns the height used. */
double    _qs_chart_legend_flow        (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        double              x0,
                                        double              y0,
                                        double              right,
                                        GArray             *entries);
void      _qs_chart_legend_draw        (cairo_t            *cr,
                                        const QsChartStyle *style,
                                        GArray             *entries);

/* Output-channel geometry of result->input: the params' when per channel or group, else
 * the layout default (n_channels 1 for a plain vector). Flat index of element i of channel
 * c in outer block o: (o * n_channels + c) * inner + i. */
void      _qs_chart_input_geometry     (QsQuantResult      *result,
                                        gsize              *n_channels,
                                        gsize              *inner,
                                        gsize              *outer);
gboolean  _qs_chart_format_has_levels  (QsFormat            format);

/* A piece of text laid out before drawing, so overlaps can be avoided and tested. */
typedef enum
{
  QS_CHART_LABEL_X_TICK,
  QS_CHART_LABEL_Y_TICK,
  QS_CHART_LABEL_ZERO_POINT,
  QS_CHART_LABEL_STEM_COUNT,
  QS_CHART_LABEL_CLIP_COUNT,
} QsChartLabelKind;

typedef struct
{
  QsChartLabelKind kind;
  QsChartRect      rect;       /* the box the text fills (pango logical extents) */
  char            *text;
  double           size;
  gboolean         bold;
} QsChartLabel;


/* --- histogram (qs-chart-histogram.c) --- */
typedef struct
{
  gint      channel;          /* -1 = all values */
  gsize     n_channels;       /* channels of the input (layout default axis) */
  gsize     n_values;         /* finite values counted */
  guint     n_bins;
  double    lo;
  double    hi;
  guint64  *counts;           /* float values per bin */
  guint64  *dq_counts;        /* dequantized values per bin, NULL without dequant */
  guint64   max_count;        /* max over both series */
  double   *levels;           /* representable values inside [lo, hi], ascending */
  guint     n_levels;
  guint     n_levels_total;   /* levels of the format (may exceed those in view) */
  gboolean  counts_clipping;  /* integer-like format: n_clip_* are meaningful */
  gboolean  has_clip;         /* one clipping range covers what is shown: shade outside it */
  double    clip_lo;
  double    clip_hi;
  guint64   n_clip_lo;        /* values below clip_lo */
  guint64   n_clip_hi;
  gboolean  has_zero_point;
  gint32    zero_point;       /* the code real 0 maps to */
  gboolean  levels_vary;      /* per-channel params over all channels: no single grid */
  gboolean  float_levels;     /* levels are a float format's values (fp8: uneven spacing) */
  gboolean  levels_too_dense; /* fp16 / bf16: far too many values to mark */
  QsFormat  format;
  char     *tensor_name;
  char     *spec_label;
} QsChartHistogram;

QsChartHistogram *_qs_chart_histogram_new        (QsQuantResult          *result,
                                                  gint                    channel,
                                                  guint                   n_bins);
void              _qs_chart_histogram_free       (QsChartHistogram       *hist);
void              _qs_chart_histogram_layout     (const QsChartHistogram *hist,
                                                  double                  width,
                                                  double                  height,
                                                  const char             *title,
                                                  const QsChartStyle     *style,
                                                  QsChartRect            *plot);
void              _qs_chart_histogram_draw       (cairo_t                *cr,
                                                  double                  width,
                                                  double                  height,
                                                  const QsChartHistogram *hist,
                                                  gboolean                log_scale,
                                                  gint                    hover_bin,
                                                  const char             *title,
                                                  const QsChartStyle     *style);
/* The legend above the plot, laid out from y0 for this width (it wraps). */
GArray           *_qs_chart_histogram_legend     (cairo_t                *cr,
                                                  const QsChartHistogram *hist,
                                                  double                  width,
                                                  double                  y0,
                                                  gboolean                cut_stems,
                                                  const QsChartStyle     *style,
                                                  double                 *legend_height);
/* Bin under x in a plot laid out by _qs_chart_histogram_layout, or -1. */
gint              _qs_chart_histogram_bin_at     (const QsChartHistogram *hist,
                                                  const QsChartRect      *plot,
                                                  double                  x);
double            _qs_chart_histogram_x_of       (const QsChartHistogram *hist,
                                                  const QsChartRect      *plot,
                                                  double                  value);
/* The levels marked in a plot, as indices into hist->levels (ascending): integer grids
 * every *step-th level (at most 64 marks), float grids (fp8) thinned outward from zero so
 * marks stay at least 3 px apart. marks has room for n_levels. Returns how many. */
guint             _qs_chart_histogram_level_marks (const QsChartHistogram *hist,
                                                   const QsChartRect      *plot,
                                                   guint                  *marks,
                                                   guint                  *step);
/* x ticks of the plot: 5 to 8 nice values as the width allows, their labels apart. */
guint             _qs_chart_histogram_x_ticks    (cairo_t                *cr,
                                                  const QsChartHistogram *hist,
                                                  const QsChartRect      *plot,
                                                  const QsChartStyle     *style,
                                                  double                 *ticks);
/* The text drawn in and around the plot (tick labels, zero-point, cut stems' counts,
 * clipped counts), measured with pango and placed so no two boxes intersect: a label
 * whose places are all taken is left out. */
GArray           *_qs_chart_histogram_labels     (cairo_t                *cr,
                                                  const QsChartHistogram *hist,
                                                  const QsChartRect      *plot,
                                                  gboolean                log_scale,
                                                  const QsChartStyle     *style);
char             *_qs_chart_histogram_describe_bin (const QsChartHistogram *hist,
                                                    gint                    bin);
char             *_qs_chart_histogram_describe   (const QsChartHistogram *hist);

/* --- heatmap (qs-chart-heatmap.c) --- */
typedef struct
{
  gsize row0;
  gsize col0;
  gsize rows;
  gsize cols;
} QsChartWindow;

typedef struct
{
  QsQuantResult *result;
  QsMapValue     mode;
  gboolean       available;   /* FALSE when the result lacks what the mode needs */
  gsize          rows;        /* the matrix picture */
  gsize          cols;
  gsize          tile_h;      /* kh x kw tiles for Conv2D/Depthwise, else 1 x 1 */
  gsize          tile_w;
  double         vmin;        /* colour scale: symmetric for diverging modes */
  double         vmax;
  gboolean       diverging;
  gboolean       vmax_clamped; /* rel-error scale capped at 100 % */
  guint32        lut[1024];
} QsChartHeatmap;

QsChartHeatmap *_qs_chart_heatmap_new          (QsQuantResult        *result,
                                                QsMapValue            mode);
void            _qs_chart_heatmap_free         (QsChartHeatmap       *heatmap);
void            _qs_chart_heatmap_full_window  (const QsChartHeatmap *heatmap,
                                                QsChartWindow        *window);
/* A copy holding its own reference to the result (the struct is immutable once made):
 * what a worker thread computes with while the view may replace its own. */
QsChartHeatmap *_qs_chart_heatmap_copy         (const QsChartHeatmap *heatmap);
/* The weights _qs_chart_heatmap_compute_map reads for this window: 0 when the result's
 * precomputed map is reused, else rows x cols. Thread-safe, like compute_map and render. */
gsize           _qs_chart_heatmap_map_cost     (const QsChartHeatmap *heatmap,
                                                const QsChartWindow  *window,
                                                guint                 width,
                                                guint                 height);
/* The window downsampled (signed max-abs) to at most width x height cells: reuses the
 * result's precomputed error map when it covers the window, else qs_error_map_compute. */
QsErrorMap     *_qs_chart_heatmap_compute_map  (const QsChartHeatmap *heatmap,
                                                const QsChartWindow  *window,
                                                guint                 width,
                                                guint                 height);
/* Colours map into a width x height ARGB32 image (nearest cell up, max-abs down). */
void            _qs_chart_heatmap_render       (const QsChartHeatmap *heatmap,
                                                const QsErrorMap     *map,
                                                guint32              *pixels,
                                                gsize                 stride_bytes,
                                                guint                 width,
                                                guint                 height);
guint32         _qs_chart_heatmap_color_of     (const QsChartHeatmap *heatmap,
                                                double                value);
void            _qs_chart_heatmap_layout       (const QsChartHeatmap *heatmap,
                                                double                width,
                                                double                height,
                                                const char           *title,
                                                const QsChartStyle   *style,
                                                QsChartRect          *plot);
/* Background, labels, colour bar and (when not NULL) the image scaled into the plot.
 * image_width x image_height are the pixels the image has (or the widget's texture). */
void            _qs_chart_heatmap_draw         (cairo_t              *cr,
                                                double                width,
                                                double                height,
                                                const QsChartHeatmap *heatmap,
                                                const QsChartWindow  *window,
                                                cairo_surface_t      *image,
                                                guint                 image_width,
                                                guint                 image_height,
                                                const char           *title,
                                                const QsChartStyle   *style);
/* Drawn above the image: tile separators, the hovered cell, the frame. */
void            _qs_chart_heatmap_draw_overlay (cairo_t              *cr,
                                                const QsChartHeatmap *heatmap,
                                                const QsChartRect    *plot,
                                                const QsChartWindow  *window,
                                                gboolean              hover,
                                                gsize                 hover_row,
                                                gsize                 hover_col,
                                                const QsChartStyle   *style);
gboolean        _qs_chart_heatmap_cell_at      (const QsChartHeatmap *heatmap,
                                                const QsChartRect    *plot,
                                                const QsChartWindow  *window,
                                                double                x,
                                                double                y,
                                                gsize                *row,
                                                gsize                *col);
char           *_qs_chart_heatmap_describe_cell (const QsChartHeatmap *heatmap,
                                                 gsize                 row,
                                                 gsize                 col);
char           *_qs_chart_heatmap_describe     (const QsChartHeatmap *heatmap);
const char     *_qs_chart_map_value_label      (QsMapValue            mode);

/* --- channel ranges (qs-chart-channels.c) --- */
typedef struct
{
  gsize     n;
  float    *min;              /* per output channel */
  float    *max;
  float    *clip_lo;          /* the params' range of each channel (envelope over groups) */
  float    *clip_hi;
  float    *scale;            /* largest step size of each channel */
  guint    *sorted;           /* channel indices by descending max |x| */
  double    tensor_lo;        /* the range one per-tensor scale has to cover */
  double    tensor_hi;
  double    vmin;             /* axis */
  double    vmax;
  double    scale_max;
  double    median_ratio;     /* per-tensor range / median channel range */
  gboolean  per_channel;      /* the params are per channel or group */
  char     *tensor_name;
} QsChartChannels;

QsChartChannels *_qs_chart_channels_new        (QsQuantResult         *result);
void             _qs_chart_channels_free       (QsChartChannels       *channels);
void             _qs_chart_channels_layout     (const QsChartChannels *channels,
                                                double                 width,
                                                double                 height,
                                                const char            *title,
                                                const QsChartStyle    *style,
                                                QsChartRect           *plot);
void             _qs_chart_channels_draw       (cairo_t               *cr,
                                                double                 width,
                                                double                 height,
                                                const QsChartChannels *channels,
                                                gboolean               sorted,
                                                gint                   hover,
                                                const char            *title,
                                                const QsChartStyle    *style);
/* The legend and note above the plot, laid out from y0 for this width (they wrap). */
GArray          *_qs_chart_channels_legend     (cairo_t               *cr,
                                                const QsChartChannels *channels,
                                                double                 width,
                                                double                 y0,
                                                const QsChartStyle    *style,
                                                double                *legend_height);
/* The step-size axis (per-channel steps only): 4 to 6 nice ticks in [0, *top] as the
 * plot's height allows; returns how many (ticks has room for 6). */
guint            _qs_chart_channels_step_ticks (const QsChartChannels *channels,
                                                const QsChartRect     *plot,
                                                const QsChartStyle    *style,
                                                double                *ticks,
                                                double                *top);
/* Channel index (not position) under x, or -1. */
gint             _qs_chart_channels_at         (const QsChartChannels *channels,
                                                const QsChartRect     *plot,
                                                gboolean               sorted,
                                                double                 x);
char            *_qs_chart_channels_describe_channel (const QsChartChannels *channels,
                                                      gint                   channel);
char            *_qs_chart_channels_describe   (const QsChartChannels *channels);

/* --- evaluation charts (qs-chart-confusion.c, qs-chart-classes.c) --- */
/* The class names of data (its own, else "0", "1", ...): a NULL-terminated strv. */
char          **_qs_chart_eval_names          (const QsChartEvalData *data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsChartHistogram, _qs_chart_histogram_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsChartHeatmap, _qs_chart_heatmap_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsChartChannels, _qs_chart_channels_free)

G_END_DECLS
