/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart-view.h"
#include "qs-quant.h"

G_BEGIN_DECLS

#define QS_TYPE_HEATMAP_VIEW (qs_heatmap_view_get_type ())

/* Every weight of a tensor as one cell of its matrix picture (Dense [in x out], Conv2D as
 * kh x kw tiles), coloured by "mode" (QsMapValue: signed error on the diverging map,
 * |error|, relative error and codes on the sequential one, weights on the diverging one).
 * Larger matrices are downsampled by signed max-abs so single spikes stay visible.
 * Zoom: Ctrl+scroll, pinch, keys + and - (actions chart.zoom-in, chart.zoom-out), 0 shows
 * all (chart.reset-zoom). Pan when zoomed in: drag, plain scroll, arrow keys (chart.pan
 * "(ii)"). Plain scroll over a view that shows everything is left to the scrolled page
 * around it. Hover shows the weight: row and column, value, code, dequantized, error.
 * Properties: "result", "mode", "description" (read-only). Signals "export-requested",
 * "weight-activated" (a click on a weight: its flat index). */
G_DECLARE_FINAL_TYPE (QsHeatmapView, qs_heatmap_view, QS, HEATMAP_VIEW, QsChartView)

GtkWidget     *qs_heatmap_view_new             (void);
void           qs_heatmap_view_set_result      (QsHeatmapView *self,
                                                QsQuantResult *result);
QsQuantResult *qs_heatmap_view_get_result      (QsHeatmapView *self);
void           qs_heatmap_view_set_mode        (QsHeatmapView *self,
                                                QsMapValue     mode);
QsMapValue     qs_heatmap_view_get_mode        (QsHeatmapView *self);
/* Emits "weight-activated" (guint64: the flat index into the result's input) for the
 * matrix cell (row, col), as a click on it does. */
void           qs_heatmap_view_activate_cell   (QsHeatmapView *self,
                                                gsize          row,
                                                gsize          col);
/* Shows the whole matrix again. */
void           qs_heatmap_view_reset_zoom      (QsHeatmapView *self);
/* Zooms to the matrix window [row0, row0 + rows) x [col0, col0 + cols) (clamped). */
void           qs_heatmap_view_set_window      (QsHeatmapView *self,
                                                gsize          row0,
                                                gsize          col0,
                                                gsize          rows,
                                                gsize          cols);
const char    *qs_heatmap_view_get_description (QsHeatmapView *self);
gboolean       qs_heatmap_view_export          (QsHeatmapView *self,
                                                const char    *path,
                                                double         scale,
                                                GError       **error);

G_END_DECLS
