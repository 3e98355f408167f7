/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "quantscope-core.h"
#include "qs-config.h"
#include "qs-dataset.h"
#include "qs-eval.h"

G_BEGIN_DECLS

#define QS_DOCUMENT_ERROR (qs_document_error_quark ())

typedef enum
{
  QS_DOCUMENT_ERROR_SESSION,    /* not a Quantscope session, or a damaged one */
  QS_DOCUMENT_ERROR_VERSION,    /* written by a newer Quantscope */
  QS_DOCUMENT_ERROR_WRITE,
} QsDocumentError;

#define QS_SESSION_FORMAT  "quantscope-session"
#define QS_SESSION_VERSION 1

/* Model totals: bytes and operations from core's cost model (qs_cost_compute, the numbers
 * `quantscope-cli quantize` prints), quality from the per-layer statistics whenever one
 * arrives. */
typedef struct
{
  guint64 float_bytes;        /* every weight as float32 */
  guint64 quant_bytes;        /* what the program stores: codes, scales, 32-bit biases, BatchNorm folded */
  double  ratio;              /* float_bytes / quant_bytes */
  guint64 peak_activation_bytes;       /* values alive at once in the program (codes 1 byte, float 4) */
  guint64 peak_activation_float_bytes; /* the same program all in float32 */
  guint64 macs;               /* multiply-accumulates per image */
  guint64 bit_ops;            /* MACs x weight bits x activation bits */
  double  energy_pj;          /* estimate per image (QsCost, Horowitz ISSCC 2014 table) */
  double  energy_compute_pj;
  double  energy_weights_pj;
  double  energy_activations_pj;
  gboolean has_program;       /* FALSE: weights only (no activations, no operations) */
  double  weighted_sqnr_db;   /* 10 log10 (sum signal * n / sum mse * n) over kernels: +inf lossless */
  guint   n_layers_pending;   /* kernels whose statistics are still being computed */
  guint   n_layers_estimated; /* kernels whose statistics are a subsample's estimate so far */
  guint   n_layers_failed;
} QsSummary;

#define QS_TYPE_DOCUMENT (qs_document_get_type ())

G_DECLARE_FINAL_TYPE (QsDocument, qs_document, QS, DOCUMENT, GObject)

GQuark          qs_document_error_quark          (void);

/* A document over a loaded model. config NULL: the "w8a8" preset. dataset nullable. */
QsDocument     *qs_document_new                  (QsModel             *model,
                                                  QsConfig            *config,
                                                  QsDataset           *dataset);
/* Loads a model (and the bundled "sample" dataset when the model takes 28x28 images) in a
 * worker thread; the document starts with a copy of config. */
void            qs_document_load_async           (const char          *model_path,
                                                  const char          *architecture_path,
                                                  QsConfig            *config, /* nullable: the default preset */
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
QsDocument     *qs_document_load_finish          (GAsyncResult        *result,
                                                  GError             **error);
/* Opens a session file (or an autosave): loads its model, dataset and config. */
void            qs_document_load_session_async   (GFile               *session,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
QsDocument     *qs_document_load_session_finish  (GAsyncResult        *result,
                                                  GError             **error);
/* TRUE when path looks like a session file (by its content). */
gboolean        qs_document_is_session_file      (const char          *path);

QsModel        *qs_document_get_model            (QsDocument          *self);
const char     *qs_document_get_architecture_path (QsDocument        *self); /* nullable */
QsDataset      *qs_document_get_dataset          (QsDocument          *self); /* nullable */
const char     *qs_document_get_dataset_spec     (QsDocument          *self); /* nullable */
/* Labels from another file, "none", or NULL (the spec's own). */
const char     *qs_document_get_dataset_labels   (QsDocument          *self); /* nullable */
/* Sets the dataset (opened with qs_dataset_open_full (spec, labels, preprocess)); its
 * preprocessing becomes the config's, one undo step ("Preprocessing") when it changes.
 * Undoing that step reopens the dataset with the preprocessing undone. Saved with the
 * session ("dataset", "dataset_labels"). Notifies "dataset". */
void            qs_document_set_dataset          (QsDocument          *self,
                                                  const char          *spec,
                                                  const char          *labels,
                                                  QsDataset           *dataset);
/* The current config. Read it, never change it: use the setters (they record undo). */
QsConfig       *qs_document_get_config           (QsDocument          *self);
const char     *qs_document_get_title            (QsDocument          *self);
GFile          *qs_document_get_file             (QsDocument          *self); /* session file, nullable */
gboolean        qs_document_get_modified         (QsDocument          *self);
/* TRUE when the session's model checksum differed from the file on disk. */
gboolean        qs_document_get_checksum_mismatch(QsDocument          *self);
const char     *qs_document_get_notes            (QsDocument          *self);
void            qs_document_set_notes            (QsDocument          *self,
                                                  const char          *notes);

/* Config changes. Each is one undo step, except that changes with the same non-NULL
 * coalesce_key in quick succession (a slider drag, typing in a spin button) merge into the
 * step the first one made. */
void            qs_document_set_layer_config     (QsDocument          *self,
                                                  const char * const  *layers,
                                                  const QsLayerConfig *layer_config,
                                                  const char          *undo_label,
                                                  const char          *coalesce_key);
void            qs_document_set_config           (QsDocument          *self,
                                                  QsConfig            *config,
                                                  const char          *undo_label);
/* Applies a named preset to every layer (layers NULL) or to the given ones. */
gboolean        qs_document_apply_preset         (QsDocument          *self,
                                                  const char          *preset,
                                                  const char * const  *layers,
                                                  GError             **error);
/* The next change starts a new undo step even with the same coalesce key. */
void            qs_document_break_coalescing     (QsDocument          *self);
gboolean        qs_document_can_undo             (QsDocument          *self);
gboolean        qs_document_can_redo             (QsDocument          *self);
const char     *qs_document_get_undo_label       (QsDocument          *self); /* nullable */
const char     *qs_document_get_redo_label       (QsDocument          *self); /* nullable */
gboolean        qs_document_undo                 (QsDocument          *self);
gboolean        qs_document_redo                 (QsDocument          *self);
/* The undo (redo FALSE) or redo steps, oldest first: the config each step returns to and
 * its label. Autosaves keep them, so that a restored document can still undo. */
guint           qs_document_get_n_history_steps  (QsDocument          *self,
                                                  gboolean             redo);
QsConfig       *qs_document_get_history_step     (QsDocument          *self,
                                                  gboolean             redo,
                                                  guint                index,
                                                  const char         **label);

/* Sessions. */
char           *qs_document_to_session_json      (QsDocument          *self);
gboolean        qs_document_save_session         (QsDocument          *self,
                                                  GFile               *file,
                                                  GError             **error); /* atomic */

/* Autosave: after a change, a debounced write to
 * g_get_user_data_dir()/quantscope/autosave/session-<id>.json; removed when the document is
 * saved or closed on purpose. The delay is in milliseconds (0 disables autosave). */
void            qs_document_set_autosave_delay   (QsDocument          *self,
                                                  guint                delay_ms);
const char     *qs_document_get_autosave_path    (QsDocument          *self);
gboolean        qs_document_autosave_now         (QsDocument          *self,
                                                  GError             **error);
void            qs_document_discard_autosave     (QsDocument          *self);
/* Adopts an autosave file that was restored: later autosaves overwrite it. */
void            qs_document_adopt_autosave       (QsDocument          *self,
                                                  const char          *path);
char           *qs_document_autosave_dir         (void);
/* The newest autosave left behind by a previous run, or NULL. */
char           *qs_document_find_autosave        (void);

/* Live results. */
QsQuantResult  *qs_document_get_layer_result     (QsDocument          *self,
                                                  const char          *layer); /* nullable */
const GError   *qs_document_get_layer_error      (QsDocument          *self,
                                                  const char          *layer); /* nullable */
void            qs_document_get_summary          (QsDocument          *self,
                                                  QsSummary           *out);
QsEvalResult   *qs_document_get_quick_eval       (QsDocument          *self); /* nullable */
const GError   *qs_document_get_quick_eval_error (QsDocument          *self); /* nullable */
/* The running quick evaluation's latest chunk (first images so far, with 95 % intervals),
 * newer than get_quick_eval (); NULL when none. Signal "quick-eval-progress". */
const QsEvalPartial *qs_document_get_quick_eval_partial (QsDocument *self);
gboolean        qs_document_can_evaluate         (QsDocument          *self,
                                                  const char         **why_not);
gboolean        qs_document_get_evaluating       (QsDocument          *self);
/* The "busy" property: layer statistics or the quick accuracy are being computed. */
gboolean        qs_document_get_busy             (QsDocument          *self);
/* TRUE while the statistics of this layer are requested or being computed. */
/* The layer on screen, whose statistics go first (nullable). */
void            qs_document_set_focus_layer      (QsDocument          *self,
                                                  const char          *layer);
gboolean        qs_document_get_layer_busy       (QsDocument          *self,
                                                  const char          *layer);
void            qs_document_set_quick_subset     (QsDocument          *self,
                                                  guint                n_images);
guint           qs_document_get_quick_subset     (QsDocument          *self);
/* The quick evaluation's cache: its calibrations serve the layer page's activation view
 * too (borrowed; thread-safe). */
QsEvalCache    *qs_document_get_eval_cache       (QsDocument          *self);
/* Histogram bins and error-map size computed for each layer (the views' sizes). */
void            qs_document_set_view_options     (QsDocument          *self,
                                                  guint                hist_bins,
                                                  guint                map_width,
                                                  guint                map_height);
/* Deployment target (issue 12): the runtime the config is meant for, NULL for any. Saved
 * with the session ("target": a bundled target's name or a target file's path); not an undo
 * step, but a change the document is modified by. Notifies "target"; then, and after every
 * config change while a target is set, emits "target-issues-changed". */
#define QS_TYPE_TARGET (qs_target_get_type ())
GType           qs_target_get_type               (void) G_GNUC_CONST;
QsTarget       *qs_document_get_target           (QsDocument          *self); /* nullable */
void            qs_document_set_target           (QsDocument          *self,
                                                  QsTarget            *target); /* nullable */
/* What the session stores: the bundled name ("tflite-int8") or the file's path; NULL: none. */
const char     *qs_document_get_target_key       (QsDocument          *self);
/* The current target counts as saved (a default applied to a new document). */
void            qs_document_mark_target_saved    (QsDocument          *self);
/* qs_target_check () of the current config, cached until the config or target changes:
 * QsTargetIssue*, never NULL (empty without a target). */
GPtrArray      *qs_document_get_target_issues    (QsDocument          *self);
/* A layer's reasons, one per line, or NULL when the target runs it. */
char           *qs_document_get_layer_target_issue (QsDocument        *self,
                                                  const char          *layer);
/* How many layers the target cannot run; *model_wide (nullable): a whole-model issue too. */
guint           qs_document_get_n_target_layers  (QsDocument          *self,
                                                  gboolean            *model_wide);

/* Recomputes every layer and the quick accuracy (after load). */
void            qs_document_refresh              (QsDocument          *self);

G_END_DECLS
