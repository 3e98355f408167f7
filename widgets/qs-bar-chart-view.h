/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart.h"

G_BEGIN_DECLS

#define QS_TYPE_BAR_CHART_VIEW (qs_bar_chart_view_get_type ())

/* A bar chart widget (qs_chart_draw_bars) in the theme's colours, like the other chart
 * views; bigger text in presentation mode. Properties: "title" (drawn above the plot, also
 * the accessible label). */
G_DECLARE_FINAL_TYPE (QsBarChartView, qs_bar_chart_view, QS, BAR_CHART_VIEW, GtkWidget)

GtkWidget  *qs_bar_chart_view_new         (void);
/* Copies data (arrays and strings). NULL clears the chart. */
void        qs_bar_chart_view_set_data    (QsBarChartView        *self,
                                           const QsChartBarsData *data);
const QsChartBarsData *qs_bar_chart_view_get_data (QsBarChartView *self);
void        qs_bar_chart_view_set_title   (QsBarChartView        *self,
                                           const char            *title);
const char *qs_bar_chart_view_get_title   (QsBarChartView        *self);
/* Writes the chart with the widget's theme colours at width x height (0: the widget's
 * size) to .png/.svg/.pdf. */
gboolean    qs_bar_chart_view_export      (QsBarChartView        *self,
                                           const char            *path,
                                           int                    width,
                                           int                    height,
                                           double                 scale,
                                           GError               **error);

G_END_DECLS
