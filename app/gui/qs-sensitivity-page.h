/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_SENSITIVITY_PAGE (qs_sensitivity_page_get_type ())

/* "Which layers matter" (issue 12): per-layer sensitivity measured in a worker over the
 * document's quick subset, the layers x formats heatmap, the measured Pareto front with the
 * current config marked, and a budget search. Applying a front point or a search result is
 * one undo step of the document; cancelling a run or a search changes nothing.
 * The sensitivity is kept per model, dataset and subset size (it does not depend on the
 * config: every other layer is float). Property "running" (read-only). */
G_DECLARE_FINAL_TYPE (QsSensitivityPage, qs_sensitivity_page, QS, SENSITIVITY_PAGE, AdwBin)

typedef enum
{
  QS_BUDGET_MAX_BYTES,   /* kernel bytes */
  QS_BUDGET_MAX_DROP,    /* accuracy points */
} QsBudgetKind;

GtkWidget     *qs_sensitivity_page_new             (void);
void           qs_sensitivity_page_set_document    (QsSensitivityPage *self,
                                                    QsDocument        *document); /* nullable */
/* Measures the sensitivity and the front in a worker (progress and Cancel on the page). */
void           qs_sensitivity_page_run             (QsSensitivityPage *self);
/* Searches under the budget in a worker and applies the result as one undo step. Needs a
 * sensitivity (run first). */
void           qs_sensitivity_page_search          (QsSensitivityPage *self,
                                                    QsBudgetKind       kind,
                                                    double             limit);
void           qs_sensitivity_page_cancel          (QsSensitivityPage *self);
gboolean       qs_sensitivity_page_get_running     (QsSensitivityPage *self);
/* Applies front point index to the document's weights (one undo step). */
gboolean       qs_sensitivity_page_apply_point     (QsSensitivityPage *self,
                                                    guint              index);
QsSensitivity *qs_sensitivity_page_get_sensitivity (QsSensitivityPage *self); /* nullable */
QsFront       *qs_sensitivity_page_get_front       (QsSensitivityPage *self); /* nullable */

G_END_DECLS
