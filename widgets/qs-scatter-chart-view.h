/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart-scatter.h"

G_BEGIN_DECLS

#define QS_TYPE_SCATTER_CHART_VIEW (qs_scatter_chart_view_get_type ())

/* A scatter chart widget (qs_chart_draw_scatter) in the theme's colours: each point's tooltip
 * is its label, a primary click (or Enter on the keyboard-chosen point) emits
 * "point-activated" (gint index). Properties: "title". */
G_DECLARE_FINAL_TYPE (QsScatterChartView, qs_scatter_chart_view, QS, SCATTER_CHART_VIEW, GtkWidget)

GtkWidget  *qs_scatter_chart_view_new        (void);
/* Copies data and labels (labels: n tooltips, nullable). NULL data clears the chart. */
void        qs_scatter_chart_view_set_data   (QsScatterChartView       *self,
                                              const QsChartScatterData *data,
                                              const char * const       *labels);
gsize       qs_scatter_chart_view_get_n_points (QsScatterChartView     *self);
gint        qs_scatter_chart_view_get_current (QsScatterChartView      *self);
void        qs_scatter_chart_view_set_title  (QsScatterChartView       *self,
                                              const char               *title);
/* Emits "point-activated" as a click on the point does. */
void        qs_scatter_chart_view_activate_point (QsScatterChartView   *self,
                                              gint                      index);
/* Widget coordinates of point index (FALSE when not drawn): for tests and keyboard focus. */
gboolean    qs_scatter_chart_view_get_point_position (QsScatterChartView *self,
                                              gint                      index,
                                              double                   *x,
                                              double                   *y);
gint        qs_scatter_chart_view_point_at   (QsScatterChartView       *self,
                                              double                    x,
                                              double                    y);
/* Writes the chart with the widget's theme colours (0 x 0: the widget's size). */
gboolean    qs_scatter_chart_view_export     (QsScatterChartView       *self,
                                              const char               *path,
                                              int                       width,
                                              int                       height,
                                              double                    scale,
                                              GError                  **error);

G_END_DECLS
