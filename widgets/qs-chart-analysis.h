/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-analysis.h"
#include "qs-chart.h"

G_BEGIN_DECLS

/* The "which layers matter" charts, plain cairo like the others:
 *
 * - sensitivity: a layers x formats heatmap of the accuracy drop (points) when that one
 *   layer's weights take that format; each cell prints its drop. Colour is the sequential
 *   (viridis) map on log(1 + drop) / log(1 + max drop), so 0.1-point and 50-point drops are
 *   both told apart; drops below zero (noise) count as 0.
 * - front: the Pareto plot, kernel weight bytes (x) against the accuracy drop (y): the
 *   measured front as filled dots joined by a line, each point's prediction as a ring,
 *   refined points in the second colour, and the current config as a cross. */

typedef struct
{
  gboolean valid;
  guint64  weight_bytes;    /* the kernels in the current config's formats */
  double   drop;            /* points; NAN: not known (drawn on the x axis) */
} QsChartFrontMarker;

void     qs_chart_draw_sensitivity   (cairo_t                  *cr,
                                      double                    width,
                                      double                    height,
                                      QsSensitivity            *sensitivity, /* nullable */
                                      const char               *title,       /* nullable */
                                      const QsChartStyle       *style);
/* hover: the highlighted point or -1. */
void     qs_chart_draw_front         (cairo_t                  *cr,
                                      double                    width,
                                      double                    height,
                                      QsFront                  *front,       /* nullable */
                                      const QsChartFrontMarker *current,     /* nullable */
                                      gint                      hover,
                                      const char               *title,       /* nullable */
                                      const QsChartStyle       *style);
/* The front point drawn within a few pixels of (x, y), or -1 (same layout as the drawing
 * without a title). */
gint     qs_chart_front_point_at     (QsFront                  *front,
                                      const QsChartFrontMarker *current,
                                      double                    width,
                                      double                    height,
                                      const QsChartStyle       *style,
                                      double                    x,
                                      double                    y);
/* The heatmap cell at (x, y): FALSE outside the cells. */
gboolean qs_chart_sensitivity_cell_at(QsSensitivity            *sensitivity,
                                      double                    width,
                                      double                    height,
                                      const QsChartStyle       *style,
                                      double                    x,
                                      double                    y,
                                      guint                    *layer,
                                      guint                    *format);
/* kind: "sensitivity" (front may be NULL) or "front"; as qs_chart_export_full (). */
gboolean qs_chart_export_analysis    (const char               *kind,
                                      QsSensitivity            *sensitivity,
                                      QsFront                  *front,
                                      const QsChartFrontMarker *current,
                                      const QsChartStyle       *style,       /* nullable: light */
                                      const char               *title,
                                      const char               *path,
                                      int                       width,
                                      int                       height,
                                      double                    scale,
                                      GError                  **error);

G_END_DECLS
