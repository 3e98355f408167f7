/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart.h"

G_BEGIN_DECLS

#define QS_TYPE_LINE_CHART_VIEW (qs_line_chart_view_get_type ())

/* A line chart widget (qs_chart_draw_line) in the theme's colours, like the other chart
 * views: series, a marked point, a cursor; bigger text and lines in presentation mode.
 * Properties: "title" (drawn above the plot, also the accessible label). */
G_DECLARE_FINAL_TYPE (QsLineChartView, qs_line_chart_view, QS, LINE_CHART_VIEW, GtkWidget)

GtkWidget  *qs_line_chart_view_new       (void);
/* Copies data (arrays and strings). NULL clears the chart. */
void        qs_line_chart_view_set_data  (QsLineChartView       *self,
                                          const QsChartLineData *data);
void        qs_line_chart_view_set_title (QsLineChartView       *self,
                                          const char            *title);
const char *qs_line_chart_view_get_title (QsLineChartView       *self);
/* Writes the chart with the widget's theme colours at width x height (0: the widget's
 * size) to .png/.svg/.pdf. */
gboolean    qs_line_chart_view_export    (QsLineChartView       *self,
                                          const char            *path,
                                          int                    width,
                                          int                    height,
                                          double                 scale,
                                          GError               **error);

G_END_DECLS
