/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-act-stats.h"
#include "qs-chart-activations.h"
#include "qs-chart-view.h"

G_BEGIN_DECLS

#define QS_TYPE_ACTIVATION_VIEW (qs_activation_view_get_type ())

/* A layer's activations as a widget (drawing: qs-chart-activations.h): the histogram of its
 * output over the calibration set, the chosen range, what it clips and the SQNR. It ignores
 * the base class's "result"; the tooltip describes the bar under the pointer, and the base
 * class gives the context menu with "Export Image…" ("export-requested"). */
G_DECLARE_FINAL_TYPE (QsActivationView, qs_activation_view, QS, ACTIVATION_VIEW, QsChartView)

GtkWidget             *qs_activation_view_new        (void);
/* stats nullable (nothing measured yet), range nullable (the activations stay float), note
 * nullable (shown in the legend). Copied. */
void                   qs_activation_view_set_data   (QsActivationView      *self,
                                                      QsActStats            *stats,
                                                      const QsActRangeStats *range,
                                                      const char            *note);
QsActStats            *qs_activation_view_get_stats  (QsActivationView      *self);
/* NULL when no range is shown. */
const QsActRangeStats *qs_activation_view_get_range  (QsActivationView      *self);
const char            *qs_activation_view_get_note   (QsActivationView      *self);
gboolean               qs_activation_view_export     (QsActivationView      *self,
                                                      const char            *path,
                                                      double                 scale,
                                                      GError               **error);

G_END_DECLS
