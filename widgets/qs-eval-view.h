/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "qs-chart-eval.h"
#include "qs-chart-view.h"

G_BEGIN_DECLS

#define QS_TYPE_EVAL_VIEW (qs_eval_view_get_type ())

/* The evaluation charts as a widget (drawing: qs-chart-eval.h). The construct-only "kind"
 * is "confusion" (the confusion matrix; "mode" picks float, quantized or the difference;
 * the tooltip of a cell gives both counts) or "classes" (per-class accuracy as paired
 * bars; the tooltip gives both accuracies and the images of the class). It ignores the
 * base's "result": the data is a QsEvalResult with the dataset's class names. The base
 * class gives the context menu with "Export Image…" ("export-requested"). */
G_DECLARE_FINAL_TYPE (QsEvalView, qs_eval_view, QS, EVAL_VIEW, QsChartView)

GtkWidget       *qs_eval_view_new             (const char         *kind);
const char      *qs_eval_view_get_kind        (QsEvalView         *self);
/* class_names: nullable, result->n_classes entries (each nullable); copied. */
void             qs_eval_view_set_data        (QsEvalView         *self,
                                               QsEvalResult       *result, /* nullable */
                                               const char * const *class_names);
QsEvalResult    *qs_eval_view_get_data        (QsEvalView         *self);
void             qs_eval_view_set_mode        (QsEvalView         *self,
                                               QsConfusionMode     mode);
QsConfusionMode  qs_eval_view_get_mode        (QsEvalView         *self);
/* The normalised data drawn (NULL without labelled data): for tests. */
const QsChartConfusion *qs_eval_view_get_confusion (QsEvalView    *self);
const QsChartClasses   *qs_eval_view_get_classes   (QsEvalView    *self);
gboolean         qs_eval_view_export          (QsEvalView         *self,
                                               const char         *path,
                                               double              scale,
                                               GError            **error);

G_END_DECLS
