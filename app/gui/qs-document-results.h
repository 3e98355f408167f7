/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "qs-document.h"

G_BEGIN_DECLS

#define QS_TYPE_DOCUMENT_RESULTS (qs_document_results_get_type ())

/* A document's live results: the per-layer weight statistics (QsQuantResult) and errors,
 * the model summary, and the quick accuracy, recomputed in worker threads whenever the
 * config changes (the scheduler coalesces, debounces and drops stale work). QsDocument owns
 * one and delegates its qs_document_get_layer_result () etc. to it.
 *
 * Signals: "layer-result-changed" (layer name), "summary-changed", "quick-eval-changed",
 * "quick-eval-progress" (a chunk of the running quick evaluation).
 * Properties: "busy" (anything being computed), "evaluating" (the quick accuracy). */
G_DECLARE_FINAL_TYPE (QsDocumentResults, qs_document_results, QS, DOCUMENT_RESULTS, GObject)

/* document is not referenced: it owns the results. */
QsDocumentResults *qs_document_results_new              (QsDocument          *document);
/* Submits the layers whose weight spec changed since it was last requested (all of them
 * with force) and the quick accuracy; emits "summary-changed" once. */
void               qs_document_results_update           (QsDocumentResults   *self,
                                                         gboolean             force);
/* Submits the quick accuracy only (the subset changed). */
void               qs_document_results_update_eval      (QsDocumentResults   *self);
/* Cancels everything; no signal is emitted after this (the document is going away). */
void               qs_document_results_shutdown         (QsDocumentResults   *self);

/* The layer on screen: its statistics are computed before the other layers'. */
void               qs_document_results_set_focus_layer  (QsDocumentResults   *self,
                                                         const char          *layer); /* nullable */
QsQuantResult     *qs_document_results_get_layer_result (QsDocumentResults   *self,
                                                         const char          *layer); /* nullable */
const GError      *qs_document_results_get_layer_error  (QsDocumentResults   *self,
                                                         const char          *layer); /* nullable */
gboolean           qs_document_results_get_layer_busy   (QsDocumentResults   *self,
                                                         const char          *layer);
void               qs_document_results_get_summary      (QsDocumentResults   *self,
                                                         QsSummary           *out);
QsEvalResult      *qs_document_results_get_quick_eval   (QsDocumentResults   *self); /* nullable */
const GError      *qs_document_results_get_quick_eval_error (QsDocumentResults *self); /* nullable */
/* The running quick evaluation's latest chunk, newer than get_quick_eval (); NULL when
 * none ("quick-eval-progress" when it changes). */
const QsEvalPartial *qs_document_results_get_quick_eval_partial (QsDocumentResults *self);
gboolean           qs_document_results_get_busy         (QsDocumentResults   *self);
gboolean           qs_document_results_get_evaluating   (QsDocumentResults   *self);
/* Clamped to 100..10000; a change resubmits the quick accuracy. */
void               qs_document_results_set_quick_subset (QsDocumentResults   *self,
                                                         guint                n_images);
guint              qs_document_results_get_quick_subset (QsDocumentResults   *self);
/* The cache the quick evaluation keeps (float side, program, calibrations); borrowed. */
QsEvalCache       *qs_document_results_get_eval_cache   (QsDocumentResults   *self);
void               qs_document_results_set_view_options (QsDocumentResults   *self,
                                                         guint                hist_bins,
                                                         guint                map_width,
                                                         guint                map_height);

G_END_DECLS
