/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-chart.h"

G_BEGIN_DECLS

/* A scatter of points in the order they were made, plain cairo like the other charts: each
 * point a dot, consecutive points joined by a faint line (the path taken), one point (the
 * current one) ringed, one (under the pointer) enlarged. The app's trade-off history: weight
 * size against quick accuracy for every configuration tried. Arrays are borrowed. */
typedef struct
{
  const double *x;
  const double *y;
  gsize         n;
  gint          current;     /* ringed, -1: none */
  gint          hover;       /* enlarged, -1: none */
  const char   *x_label;
  const char   *y_label;
  const char   *current_label; /* legend entry of the ringed point, nullable */
} QsChartScatterData;

void     qs_chart_scatter_data_init (QsChartScatterData       *data);
void     qs_chart_draw_scatter      (cairo_t                  *cr,
                                     double                    width,
                                     double                    height,
                                     const QsChartScatterData *data,
                                     const char               *title,  /* nullable */
                                     const QsChartStyle       *style);
/* The point drawn within a few pixels of (x, y) in a chart of width x height drawn with title,
 * or -1. */
gint     qs_chart_scatter_point_at  (const QsChartScatterData *data,
                                     double                    width,
                                     double                    height,
                                     const char               *title,
                                     const QsChartStyle       *style,
                                     double                    x,
                                     double                    y);
gboolean qs_chart_export_scatter    (const QsChartScatterData *data,
                                     const QsChartStyle       *style,  /* NULL = light */
                                     const char               *title,
                                     const char               *path,
                                     int                       width,
                                     int                       height,
                                     double                    scale,
                                     GError                  **error);

G_END_DECLS
