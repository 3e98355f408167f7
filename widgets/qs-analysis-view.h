/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-analysis.h"
#include "qs-chart-analysis.h"
#include "qs-chart-view.h"

G_BEGIN_DECLS

#define QS_TYPE_ANALYSIS_VIEW (qs_analysis_view_get_type ())

/* The "which layers matter" charts as a widget (drawing: qs-chart-analysis.h). The
 * construct-only "kind" is "sensitivity" (the layers x formats heatmap; the tooltip names
 * the layer, format, drop and SQNR) or "front" (the Pareto plot; the tooltip describes the
 * point, and a click on one emits "point-activated" with its index). The base class gives
 * the context menu with "Export Image…" ("export-requested"). */
G_DECLARE_FINAL_TYPE (QsAnalysisView, qs_analysis_view, QS, ANALYSIS_VIEW, QsChartView)

GtkWidget     *qs_analysis_view_new             (const char               *kind);
const char    *qs_analysis_view_get_kind        (QsAnalysisView           *self);
void           qs_analysis_view_set_data        (QsAnalysisView           *self,
                                                 QsSensitivity            *sensitivity, /* nullable */
                                                 QsFront                  *front,       /* nullable */
                                                 const QsChartFrontMarker *current);    /* nullable */
QsSensitivity *qs_analysis_view_get_sensitivity (QsAnalysisView           *self);
QsFront       *qs_analysis_view_get_front       (QsAnalysisView           *self);
gboolean       qs_analysis_view_export          (QsAnalysisView           *self,
                                                 const char               *path,
                                                 double                    scale,
                                                 GError                  **error);

G_END_DECLS
