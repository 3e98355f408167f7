/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_QAT_WINDOW (qs_qat_window_get_type ())

/* The Fine-tune with Quantization dialog (issue 11): quantization-aware training of the
 * document's model under a copy of its current config, in a worker thread, with a live loss
 * and accuracy curve and Cancel; then float, PTQ and QAT accuracy on the integer engine
 * (the summary bar's evaluation: the document's dataset, its quick subset) and Save
 * Fine-tuned Model… (the .h5 and its config with the trained activation ranges, never over
 * the open model). Never changes the document. Emits "open-model" (path, config) when the
 * user asks to open what was saved. */
G_DECLARE_FINAL_TYPE (QsQatWindow, qs_qat_window, QS, QAT_WINDOW, AdwWindow)

typedef enum
{
  QS_QAT_STATE_READY,     /* settings, Start */
  QS_QAT_STATE_RUNNING,
  QS_QAT_STATE_DONE,      /* results shown, Save offered */
  QS_QAT_STATE_FAILED,    /* the core's message shown; Start again */
  QS_QAT_STATE_CANCELLED,
} QsQatState;

/* model, config and dataset of document are referenced / copied when a run starts. */
QsQatWindow *qs_qat_window_new               (GtkWindow    *parent,
                                              QsDocument   *document);
/* The settings the dialog's rows hold. max_batches 0 = whole epochs. */
void         qs_qat_window_set_budget        (QsQatWindow  *self,
                                              guint         epochs,
                                              double        learning_rate,
                                              guint         max_batches);
/* What Start and Cancel do. */
void         qs_qat_window_start             (QsQatWindow  *self);
void         qs_qat_window_cancel            (QsQatWindow  *self);
QsQatState   qs_qat_window_get_state         (QsQatWindow  *self);
/* Batches whose progress reached the dialog in the current run (points of the curves). */
guint        qs_qat_window_get_n_batches_seen (QsQatWindow *self);
/* After a run (DONE): the fine-tuned model, its config (with the trained activation
 * ranges), the accuracies in the table (fractions) and the images they were measured on;
 * the error of a FAILED run. */
QsModel     *qs_qat_window_get_model         (QsQatWindow  *self); /* nullable */
QsConfig    *qs_qat_window_get_config        (QsQatWindow  *self); /* nullable */
void         qs_qat_window_get_accuracies    (QsQatWindow  *self,
                                              double       *float_top1,
                                              double       *ptq_top1,
                                              double       *qat_top1,
                                              guint        *n_images);
const GError*qs_qat_window_get_error         (QsQatWindow  *self); /* nullable */
/* The message line of the dialog (an error, a refusal, what was measured); NULL when hidden. */
const char  *qs_qat_window_get_status_text   (QsQatWindow  *self);
/* The text of a result row of the table: "float", "ptq", "qat", "delta". */
const char  *qs_qat_window_get_table_text    (QsQatWindow  *self,
                                              const char   *row);
/* What Save Fine-tuned Model… does with the chosen file: writes FILE.h5 and FILE.json
 * (each atomically). Refuses the open model's own path (or its config's). The message is
 * also shown in the dialog. */
gboolean     qs_qat_window_save              (QsQatWindow  *self,
                                              GFile        *file,
                                              GError      **error);
/* FILE.h5 -> FILE.json (newly allocated). */
char        *qs_qat_window_config_path_for   (const char   *model_path);

G_END_DECLS
