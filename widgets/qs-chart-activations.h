/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-act-stats.h"
#include "qs-chart.h"

G_BEGIN_DECLS

/* The activation view of one layer, plain cairo like the other charts: the histogram of
 * the layer's output over the calibration set (QsActStats, the float program's values;
 * counts on a log scale: a ReLU's zeros would flatten the rest), and, when the output is
 * quantized, the chosen range as two marked lines at the clip points the codes reach, the
 * levels as ticks when there are at most 64 of them, the clipped regions shaded with the
 * fraction outside, and the activation SQNR. A note (nullable) replaces the range when
 * the activations stay float. The data is borrowed for the call. */

typedef struct
{
  QsActStats            *stats;   /* nullable: "no activations yet" */
  const QsActRangeStats *range;   /* nullable: not quantized */
  const char            *note;    /* nullable; without stats, the message shown instead */
} QsChartActivations;

/* Display bins (groups of the calibration's bins) and the bar under (x, y): -1 outside. */
guint    qs_chart_activations_n_bins   (const QsChartActivations *data);
gint     qs_chart_activations_bin_at   (const QsChartActivations *data,
                                        double                    width,
                                        double                    height,
                                        const QsChartStyle       *style,
                                        double                    x,
                                        double                    y);
/* The value interval and count of a display bin. */
void     qs_chart_activations_bin      (const QsChartActivations *data,
                                        guint                     bin,
                                        double                   *lo,
                                        double                   *hi,
                                        guint64                  *count);
void     qs_chart_draw_activations     (cairo_t                  *cr,
                                        double                    width,
                                        double                    height,
                                        const QsChartActivations *data,
                                        gint                      hover,
                                        const char               *title,  /* nullable */
                                        const QsChartStyle       *style);
/* As qs_chart_export_full (): .png, .svg or .pdf by the extension, written atomically. */
gboolean qs_chart_export_activations   (const QsChartActivations *data,
                                        const QsChartStyle       *style,  /* NULL = light */
                                        const char               *title,
                                        const char               *path,
                                        int                       width,
                                        int                       height,
                                        double                    scale,
                                        GError                  **error);

G_END_DECLS
