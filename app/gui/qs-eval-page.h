/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_EVAL_PAGE (qs_eval_page_get_type ())

/* The Evaluation view (issue 11): every image of the document's dataset through the float
 * and the integer engine for the current config (qs_eval_run with no limit, the numbers of
 * `quantscope-cli eval`), in a worker with progress and Cancel. Shows top-1 / top-5 float
 * and quantized with the change, the agreement with the float model (top-1 agreement, top-5
 * overlap, mean KL), the output errors (SQNR, MSE, cosine, max error), per-class accuracy
 * as paired bars and the confusion matrix (float, quantized or their difference). Without
 * labels it says so and shows agreement and output errors. A result is kept when a run is
 * cancelled or the config changes; it is then marked stale. The document is never
 * changed. Property "running" (read-only). */
G_DECLARE_FINAL_TYPE (QsEvalPage, qs_eval_page, QS, EVAL_PAGE, AdwBin)

GtkWidget    *qs_eval_page_new            (void);
void          qs_eval_page_set_document   (QsEvalPage  *self,
                                           QsDocument  *document); /* nullable */
void          qs_eval_page_run            (QsEvalPage  *self);
void          qs_eval_page_cancel         (QsEvalPage  *self);
gboolean      qs_eval_page_get_running    (QsEvalPage  *self);
/* The result shown (nullable) and whether it no longer matches the config or a later run
 * was cancelled. */
QsEvalResult *qs_eval_page_get_result     (QsEvalPage  *self);
gboolean      qs_eval_page_get_stale      (QsEvalPage  *self);
/* What the page says about the last run ("Cancelled: …"), "" when nothing. */
const char   *qs_eval_page_get_status     (QsEvalPage  *self);
/* The text shown for a metric: "top1", "top5", "agreement", "top5-overlap", "kl", "sqnr",
 * "mse", "cosine", "max-error"; NULL when not shown. For tests. */
const char   *qs_eval_page_get_value_text (QsEvalPage  *self,
                                           const char  *key);

G_END_DECLS
