/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart-view.h"
#include "qs-quant.h"

G_BEGIN_DECLS

#define QS_TYPE_HISTOGRAM_VIEW (qs_histogram_view_get_type ())

/* The float distribution of a tensor with its quantization grid, clipping range,
 * zero-point and dequantized values. fp8 grids mark the format's representable values
 * (thinned where they crowd near zero); fp16 and bf16 say theirs are too dense to draw. Properties: "result" (QsQuantResult, nullable),
 * "log-scale", "channel" (-1 = all values; a spin button in the view picks one),
 * "description" (read-only: what the chart shows, for screen readers).
 * Context menu: "Logarithmic Counts", "Export Image…" (emits "export-requested"; the app
 * asks for a file name and calls qs_histogram_view_export ()). */
G_DECLARE_FINAL_TYPE (QsHistogramView, qs_histogram_view, QS, HISTOGRAM_VIEW, QsChartView)

GtkWidget     *qs_histogram_view_new           (void);
void           qs_histogram_view_set_result    (QsHistogramView *self,
                                                QsQuantResult   *result);
QsQuantResult *qs_histogram_view_get_result    (QsHistogramView *self);
void           qs_histogram_view_set_log_scale (QsHistogramView *self,
                                                gboolean         log_scale);
gboolean       qs_histogram_view_get_log_scale (QsHistogramView *self);
void           qs_histogram_view_set_channel   (QsHistogramView *self,
                                                gint             channel);
gint           qs_histogram_view_get_channel   (QsHistogramView *self);
const char    *qs_histogram_view_get_description (QsHistogramView *self);
/* The value range [lo, hi) of a bin as drawn ("item-activated" gives bins). */
gboolean       qs_histogram_view_get_bin_range (QsHistogramView *self,
                                                gint             bin,
                                                double          *lo,
                                                double          *hi);
/* Writes what the view shows (current theme, size and channel) to .png/.svg/.pdf. */
gboolean       qs_histogram_view_export        (QsHistogramView *self,
                                                const char      *path,
                                                double           scale,
                                                GError         **error);

G_END_DECLS
