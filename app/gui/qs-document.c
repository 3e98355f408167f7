/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "qs-document-results.h"
#include "qs-tsan.h"
#include "qs-document.h"
#include "qs-session.h"

/* Changes with the same coalesce key closer together than this merge into one undo step. */
#define COALESCE_USEC       (1500 * 1000)
#define DEFAULT_PRESET      "w8a8"

typedef struct
{
  QsConfig *config;        /* the config before the step (undo) or after it (redo) */
  char     *label;
  char     *coalesce_key;
  gint64    time;
} UndoEntry;

struct _QsDocument
{
  GObject       parent_instance;

  QsModel      *model;
  char         *architecture_path;
  QsDataset    *dataset;
  char         *dataset_spec;
  char         *dataset_labels; /* nullable: the spec's own labels */
  GCancellable *dataset_reopen; /* reopening the dataset with the config's preprocessing */
  QsConfig     *config;
  QsConfig     *saved_config;   /* NULL: never saved (restored autosave) */
  char         *notes;
  char         *saved_notes;
  GFile        *file;
  gboolean      checksum_mismatch;
  gboolean      was_modified;

  GPtrArray    *undo;           /* UndoEntry*, oldest first */
  GPtrArray    *redo;
  gboolean      break_coalescing;

  QsDocumentResults *results;  /* statistics, summary and quick accuracy */

  QsSession    *session;      /* the session file's JSON and the autosave */

  /* Deployment target (issue 12) */
  QsTarget     *target;         /* nullable: any target */
  char         *target_key;     /* qs_document_get_target_key () */
  char         *saved_target;   /* the key when saved */
  GPtrArray    *target_issues;  /* QsTargetIssue*, cached: NULL when stale */
};

G_DEFINE_FINAL_TYPE (QsDocument, qs_document, G_TYPE_OBJECT)
G_DEFINE_QUARK (qs-document-error-quark, qs_document_error)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_FILE,
  PROP_MODIFIED,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  PROP_EVALUATING,
  PROP_BUSY,
  PROP_DATASET,
  PROP_TARGET,
  N_PROPS
};

enum {
  CONFIG_CHANGED,
  LAYER_RESULT_CHANGED,
  SUMMARY_CHANGED,
  QUICK_EVAL_CHANGED,
  QUICK_EVAL_PROGRESS,
  TARGET_ISSUES_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];


static void
undo_entry_free (gpointer data)
{
  UndoEntry *entry = data;

  g_clear_object (&entry->config);
  g_free (entry->label);
  g_free (entry->coalesce_key);
  g_free (entry);
}

/* ---------------------------------------------------------------------------------------- */
/* Modified state and autosave                                                              */

static gboolean
compute_modified (QsDocument *self)
{
  if (self->saved_config == NULL)
    return TRUE;
  return !qs_config_equal (self->config, self->saved_config)
         || g_strcmp0 (self->notes, self->saved_notes) != 0
         || g_strcmp0 (qs_document_get_target_key (self), self->saved_target) != 0;
}

static void
update_modified (QsDocument *self)
{
  gboolean modified = compute_modified (self);

  if (modified != self->was_modified)
    {
      self->was_modified = modified;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
    }

  qs_session_schedule_autosave (self->session, modified);
}

static void
notify_undo_state (QsDocument *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
}

static void sync_dataset_preprocess (QsDocument *self);
static char *target_key             (QsTarget   *target);
static void replace_config          (QsDocument         *self,
                                     QsConfig           *config,
                                     const char         *label,
                                     const char         *coalesce_key,
                                     const char * const *layers);

static void
config_changed (QsDocument         *self,
                const char * const *layers)
{
  sync_dataset_preprocess (self);
  g_clear_pointer (&self->target_issues, g_ptr_array_unref);
  g_signal_emit (self, signals[CONFIG_CHANGED], 0, layers);
  if (self->target != NULL)
    g_signal_emit (self, signals[TARGET_ISSUES_CHANGED], 0);
  qs_document_results_update (self->results, FALSE);
  update_modified (self);
  notify_undo_state (self);
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
qs_document_dispose (GObject *object)
{
  QsDocument *self = QS_DOCUMENT (object);

  if (self->results != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->results, self);
      qs_document_results_shutdown (self->results);
      g_clear_object (&self->results);
    }
  g_clear_object (&self->session);
  if (self->dataset_reopen != NULL)
    g_cancellable_cancel (self->dataset_reopen);
  g_clear_object (&self->dataset_reopen);

  G_OBJECT_CLASS (qs_document_parent_class)->dispose (object);
}

static void
qs_document_finalize (GObject *object)
{
  QsDocument *self = QS_DOCUMENT (object);

  g_clear_object (&self->model);
  g_clear_object (&self->dataset);
  g_clear_object (&self->config);
  g_clear_object (&self->saved_config);
  g_clear_object (&self->file);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);
  g_free (self->dataset_spec);
  g_free (self->dataset_labels);
  g_free (self->architecture_path);
  g_free (self->notes);
  g_free (self->saved_notes);
  g_clear_pointer (&self->target, qs_target_unref);
  g_free (self->target_key);
  g_free (self->saved_target);
  g_clear_pointer (&self->target_issues, g_ptr_array_unref);

  G_OBJECT_CLASS (qs_document_parent_class)->finalize (object);
}

static void
qs_document_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  QsDocument *self = QS_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, qs_document_get_title (self));
      break;
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, qs_document_get_modified (self));
      break;
    case PROP_CAN_UNDO:
      g_value_set_boolean (value, qs_document_can_undo (self));
      break;
    case PROP_CAN_REDO:
      g_value_set_boolean (value, qs_document_can_redo (self));
      break;
    case PROP_EVALUATING:
      g_value_set_boolean (value, qs_document_get_evaluating (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, qs_document_get_busy (self));
      break;
    case PROP_DATASET:
      g_value_set_object (value, self->dataset);
      break;
    case PROP_TARGET:
      g_value_set_boxed (value, self->target);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qs_document_class_init (QsDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_document_dispose;
  object_class->finalize = qs_document_finalize;
  object_class->get_property = qs_document_get_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_EVALUATING] =
    g_param_spec_boolean ("evaluating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Layer statistics or the quick accuracy are being computed. */
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATASET] =
    g_param_spec_object ("dataset", NULL, NULL, QS_TYPE_DATASET,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The deployment target (QsTarget), NULL for any. */
  properties[PROP_TARGET] =
    g_param_spec_boxed ("target", NULL, NULL, QS_TYPE_TARGET,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* After the target or the config changed: qs_document_get_target_issues () may differ. */
  signals[TARGET_ISSUES_CHANGED] =
    g_signal_new ("target-issues-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* layers: the layers whose override changed, or NULL when the whole config may have. */
  signals[CONFIG_CHANGED] =
    g_signal_new ("config-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRV);
  signals[LAYER_RESULT_CHANGED] =
    g_signal_new ("layer-result-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SUMMARY_CHANGED] =
    g_signal_new ("summary-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[QUICK_EVAL_CHANGED] =
    g_signal_new ("quick-eval-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* a chunk of the running quick evaluation (qs_document_get_quick_eval_partial ()) */
  signals[QUICK_EVAL_PROGRESS] =
    g_signal_new ("quick-eval-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
on_layer_result_changed (QsDocument *self,
                         const char *layer)
{
  g_signal_emit (self, signals[LAYER_RESULT_CHANGED], 0, layer);
}

static void
on_summary_changed (QsDocument *self)
{
  g_signal_emit (self, signals[SUMMARY_CHANGED], 0);
}

static void
on_quick_eval_changed (QsDocument *self)
{
  g_signal_emit (self, signals[QUICK_EVAL_CHANGED], 0);
}

static void
on_quick_eval_progress (QsDocument *self)
{
  g_signal_emit (self, signals[QUICK_EVAL_PROGRESS], 0);
}

static void
on_busy_changed (QsDocument *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
on_evaluating_changed (QsDocument *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EVALUATING]);
}

static void
qs_document_init (QsDocument *self)
{
  self->undo = g_ptr_array_new_with_free_func (undo_entry_free);
  self->redo = g_ptr_array_new_with_free_func (undo_entry_free);
  /* The document re-emits what its results announce, so views need only the document. */
  self->results = qs_document_results_new (self);
  g_signal_connect_swapped (self->results, "layer-result-changed", G_CALLBACK (on_layer_result_changed), self);
  g_signal_connect_swapped (self->results, "summary-changed", G_CALLBACK (on_summary_changed), self);
  g_signal_connect_swapped (self->results, "quick-eval-changed", G_CALLBACK (on_quick_eval_changed), self);
  g_signal_connect_swapped (self->results, "quick-eval-progress", G_CALLBACK (on_quick_eval_progress), self);
  g_signal_connect_swapped (self->results, "notify::busy", G_CALLBACK (on_busy_changed), self);
  g_signal_connect_swapped (self->results, "notify::evaluating", G_CALLBACK (on_evaluating_changed), self);
  self->notes = g_strdup ("");
  self->saved_notes = g_strdup ("");
  self->session = qs_session_new (self);
}

QsDocument *
qs_document_new (QsModel   *model,
                 QsConfig  *config,
                 QsDataset *dataset)
{
  QsDocument *self;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (config == NULL || QS_IS_CONFIG (config), NULL);
  g_return_val_if_fail (dataset == NULL || QS_IS_DATASET (dataset), NULL);

  self = g_object_new (QS_TYPE_DOCUMENT, NULL);
  self->model = g_object_ref (model);
  if (config != NULL)
    self->config = qs_config_copy (config);
  else
    self->config = qs_config_new_from_preset (DEFAULT_PRESET, NULL);
  if (self->config == NULL)
    self->config = qs_config_new ();
  self->saved_config = qs_config_copy (self->config);
  if (dataset != NULL)
    self->dataset = g_object_ref (dataset);
  return self;
}

/* ---------------------------------------------------------------------------------------- */
/* Loading                                                                                  */

typedef struct
{
  char      *path;
  char      *architecture_path;
  GFile     *session;
  QsModel   *model;
  QsDataset *dataset;
  char      *dataset_spec;
  QsConfig  *config;
  char      *notes;
  GFile     *saved_file;      /* autosaves: the session file the user had saved to */
  GPtrArray *undo;            /* autosaves: QsSessionStep*, oldest first; nullable */
  GPtrArray *redo;
  gboolean   checksum_mismatch;
  gboolean   is_autosave;
  char      *dataset_labels;
  QsTarget  *target;          /* the session's deployment target, nullable */
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  QS_TSAN_ACQUIRE (load);   /* load_finish () */
  g_free (load->path);
  g_free (load->architecture_path);
  g_clear_object (&load->session);
  g_clear_object (&load->model);
  g_clear_object (&load->dataset);
  g_free (load->dataset_spec);
  g_free (load->dataset_labels);
  g_clear_object (&load->config);
  g_free (load->notes);
  g_clear_object (&load->saved_file);
  g_clear_pointer (&load->undo, g_ptr_array_unref);
  g_clear_pointer (&load->redo, g_ptr_array_unref);
  g_clear_pointer (&load->target, qs_target_unref);
  g_free (load);
}

/* The bundled sample fits models that take one 28x28 grey image. */
static void
open_default_dataset (LoadData *load)
{
  gsize shape[QS_TENSOR_MAX_DIMS];
  guint rank;
  gsize n = 1;

  if (!qs_model_can_infer (load->model, NULL))
    return;
  rank = qs_model_get_input_shape (load->model, shape);
  for (guint i = 0; i < rank; i++)
    n *= shape[i];
  if (n != 28 * 28)
    return;
  load->dataset = qs_dataset_open ("sample", NULL);
  if (load->dataset != NULL)
    load->dataset_spec = g_strdup ("sample");
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *load = task_data;
  GError *error = NULL;

  QS_TSAN_ACQUIRE (task);   /* run_load () */
  load->model = qs_model_load_untrusted (load->path, load->architecture_path, cancellable, &error);
  if (load->model == NULL)
    {
      QS_TSAN_RELEASE (task);
      g_task_return_error (task, error);
      return;
    }
  open_default_dataset (load);
  QS_TSAN_RELEASE (task);   /* load reaches load_finish () through GLib */
  g_task_return_boolean (task, TRUE);
}

/* Appends the steps an autosave kept (QsSessionStep*, oldest first) to undo or redo. */
static void
restore_history (GPtrArray *to,
                 GPtrArray *steps)
{
  for (guint i = 0; steps != NULL && i < steps->len; i++)
    {
      QsSessionStep *step = g_ptr_array_index (steps, i);
      UndoEntry *entry = g_new0 (UndoEntry, 1);

      entry->config = g_object_ref (step->config);
      entry->label = g_strdup (step->label);
      g_ptr_array_add (to, entry);
    }
}

static QsDocument *
document_from_load (LoadData *load)
{
  QsDocument *self = qs_document_new (load->model, load->config, load->dataset);

  self->dataset_spec = g_strdup (load->dataset_spec);
  self->dataset_labels = g_strdup (load->dataset_labels);
  self->architecture_path = g_strdup (load->architecture_path);
  self->checksum_mismatch = load->checksum_mismatch;
  if (load->target != NULL)
    {
      self->target = qs_target_ref (load->target);
      self->target_key = target_key (self->target);
      self->saved_target = g_strdup (qs_document_get_target_key (self));
    }
  if (load->notes != NULL)
    {
      g_free (self->notes);
      self->notes = g_strdup (load->notes);
      g_free (self->saved_notes);
      self->saved_notes = g_strdup (load->notes);
    }
  if (load->is_autosave)
    {
      g_set_object (&self->file, load->saved_file);
      g_clear_object (&self->saved_config);
      self->was_modified = TRUE;
      restore_history (self->undo, load->undo);
      restore_history (self->redo, load->redo);
      qs_document_adopt_autosave (self, g_file_peek_path (load->session));
    }
  else if (load->session != NULL)
    g_set_object (&self->file, load->session);
  return self;
}

/* Both loads: run thread on load (taken) in a worker; load_finish () makes the document. */
static void
run_load (LoadData            *load,
          GTaskThreadFunc      thread,
          gpointer             source_tag,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, load, load_data_free);
  QS_TSAN_RELEASE (task);
  g_task_run_in_thread (task, thread);
}

static QsDocument *
load_finish (GAsyncResult  *result,
             GError       **error)
{
  LoadData *load = g_task_get_task_data (G_TASK (result));
  QsDocument *document;

  QS_TSAN_ACQUIRE (result);   /* load_thread (), load_session_thread () */
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  document = document_from_load (load);
  QS_TSAN_RELEASE (load);     /* load_data_free () may run on the worker, when it drops the
                               * task's last reference */
  return document;
}

void
qs_document_load_async (const char          *model_path,
                        const char          *architecture_path,
                        QsConfig            *config,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  LoadData *load;

  g_return_if_fail (model_path != NULL);

  load = g_new0 (LoadData, 1);
  load->path = g_strdup (model_path);
  load->architecture_path = g_strdup (architecture_path);
  if (config != NULL)
    load->config = qs_config_copy (config);
  run_load (load, load_thread, qs_document_load_async, cancellable, callback, user_data);
}

QsDocument *
qs_document_load_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return load_finish (result, error);
}

/* Loads what the session file names: its model (noting a changed checksum) and dataset. */
static gboolean
load_session (LoadData      *load,
              const char    *data,
              gsize          length,
              GCancellable  *cancellable,
              GError       **error)
{
  g_autoptr(QsSessionData) session = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *name = g_file_peek_path (load->session);

  session = qs_session_data_parse (load->session, data, length, error);
  if (session == NULL)
    return FALSE;

  load->path = g_strdup (session->model_path);
  load->architecture_path = g_strdup (session->architecture_path);
  load->config = session->config != NULL ? g_object_ref (session->config) : NULL;
  load->notes = g_strdup (session->notes);
  g_set_object (&load->saved_file, session->saved_file);
  if (session->undo != NULL)
    load->undo = g_ptr_array_ref (session->undo);
  if (session->redo != NULL)
    load->redo = g_ptr_array_ref (session->redo);

  if (session->target != NULL)
    {
      /* A target file that went away: the session opens without it (any target). */
      load->target = qs_target_load (session->target, &local_error);
      if (load->target == NULL)
        g_warning ("Session “%s”: %s", name, local_error->message);
      g_clear_error (&local_error);
    }

  load->model = qs_model_load_untrusted (load->path, load->architecture_path, cancellable, error);
  if (load->model == NULL)
    return FALSE;
  if (session->model_checksum != NULL)
    load->checksum_mismatch = g_strcmp0 (session->model_checksum, qs_model_get_checksum (load->model)) != 0;

  if (session->dataset_spec != NULL)
    {
      const QsPreprocess *pp = load->config != NULL ? qs_config_get_preprocess (load->config) : NULL;

      load->dataset = qs_dataset_open_full (session->dataset_spec, session->dataset_labels, pp,
                                            &local_error);
      if (load->dataset == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      _("Session “%s”: "), name);
          return FALSE;
        }
      load->dataset_spec = g_strdup (session->dataset_spec);
      load->dataset_labels = g_strdup (session->dataset_labels);
    }
  return TRUE;
}

static void
load_session_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  LoadData *load = task_data;
  g_autofree char *data = NULL;
  GError *error = NULL;
  gsize length;

  QS_TSAN_ACQUIRE (task);   /* run_load () */
  if (!g_file_load_contents (load->session, cancellable, &data, &length, NULL, &error)
      || !load_session (load, data, length, cancellable, &error))
    {
      QS_TSAN_RELEASE (task);
      g_task_return_error (task, error);
      return;
    }
  QS_TSAN_RELEASE (task);
  g_task_return_boolean (task, TRUE);
}

void
qs_document_load_session_async (GFile               *session,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  LoadData *load;

  g_return_if_fail (G_IS_FILE (session));

  load = g_new0 (LoadData, 1);
  load->session = g_object_ref (session);
  load->is_autosave = qs_session_is_autosave_file (session);
  run_load (load, load_session_thread, qs_document_load_session_async, cancellable, callback, user_data);
}

QsDocument *
qs_document_load_session_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return load_finish (result, error);
}

/* ---------------------------------------------------------------------------------------- */
/* Accessors                                                                                */

QsModel *
qs_document_get_model (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->model;
}

QsDataset *
qs_document_get_dataset (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->dataset;
}

const char *
qs_document_get_architecture_path (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->architecture_path;
}

const char *
qs_document_get_dataset_labels (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->dataset_labels;
}

static void
replace_dataset (QsDocument *self,
                 const char *spec,
                 const char *labels,
                 QsDataset  *dataset)
{
  if (self->dataset_reopen != NULL)
    g_cancellable_cancel (self->dataset_reopen);
  g_clear_object (&self->dataset_reopen);
  if (spec != self->dataset_spec)
    {
      g_free (self->dataset_spec);
      self->dataset_spec = g_strdup (spec);
    }
  if (labels != self->dataset_labels)
    {
      g_free (self->dataset_labels);
      self->dataset_labels = g_strdup (labels);
    }
  g_set_object (&self->dataset, dataset);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET]);
}

/* "sample", "sample-train", "sample-train-full": the bundled Fashion-MNIST sets. */
static gboolean
is_bundled_sample (const char *spec)
{
  return g_strcmp0 (spec, "sample") == 0 || g_str_has_prefix (spec != NULL ? spec : "", "sample-train");
}

void
qs_document_set_dataset (QsDocument *self,
                         const char *spec,
                         const char *labels,
                         QsDataset  *dataset)
{
  const QsPreprocess *pp;

  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (spec != NULL);
  g_return_if_fail (QS_IS_DATASET (dataset));

  {
    g_autofree char *previous = g_strdup (self->dataset_spec);
    const char *calib = qs_config_get_calib_source (self->config);
    const char *next_calib = calib;

    replace_dataset (self, spec, labels, dataset);
    pp = qs_dataset_get_preprocess (dataset);
    /* The calibration follows the data, as the command line's does: the bundled training
     * images calibrate the bundled test set, and your own data calibrates itself (the first
     * calibration images of it), unless the config names a calibration set of its own. */
    if (is_bundled_sample (calib) && !is_bundled_sample (spec))
      next_calib = spec;
    else if (previous != NULL && g_strcmp0 (calib, previous) == 0 && is_bundled_sample (spec))
      next_calib = qs_config_get_default_calib_source ();
    if (!qs_preprocess_equal (pp, qs_config_get_preprocess (self->config))
        || g_strcmp0 (next_calib, calib) != 0)
      {
        g_autoptr(QsConfig) next = qs_config_copy (self->config);
        gboolean calib_changed = g_strcmp0 (next_calib, calib) != 0;

        qs_config_set_preprocess (next, pp);
        if (calib_changed)
          qs_config_set_calib_source (next, next_calib);
        replace_config (self, next,
                        /* Translators: an undo step: the dataset dialog changed the
                         * calibration images (and maybe the preprocessing) */
                        calib_changed ? _("Dataset")
                        /* Translators: an undo step: the dataset dialog changed the preprocessing */
                        : _("Preprocessing"), NULL, NULL);
        return;
      }
  }
  qs_document_results_update_eval (self->results);
  qs_session_schedule_autosave (self->session, TRUE);
}

static void
reopen_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  const QsPreprocess *pp = task_data;
  QsDataset *dataset;
  GError *error = NULL;

  QS_TSAN_ACQUIRE (task);   /* sync_dataset_preprocess () */
  dataset = qs_dataset_open_full (g_object_get_data (G_OBJECT (task), "spec"),
                                  g_object_get_data (G_OBJECT (task), "labels"), pp, &error);
  QS_TSAN_RELEASE (task);   /* the dataset reaches reopen_done () through GLib */
  if (dataset == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, dataset, g_object_unref);
}

static void
reopen_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  QsDocument *self = QS_DOCUMENT (source);
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;

  QS_TSAN_ACQUIRE (result);   /* reopen_thread () */
  dataset = g_task_propagate_pointer (G_TASK (result), &error);
  if (dataset == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Reopening dataset %s: %s", self->dataset_spec, error->message);
      return;
    }
  if (g_task_get_cancellable (G_TASK (result)) != self->dataset_reopen)
    return;
  replace_dataset (self, self->dataset_spec, self->dataset_labels, dataset);
  qs_document_results_update_eval (self->results);
}

/* Undo and redo change the config's preprocessing: the dataset follows it (reopened in a
 * worker, so that threads reading the old one are never disturbed). */
static void
sync_dataset_preprocess (QsDocument *self)
{
  g_autoptr(GTask) task = NULL;
  const QsPreprocess *pp = qs_config_get_preprocess (self->config);

  if (self->dataset == NULL || self->dataset_spec == NULL
      || qs_preprocess_equal (qs_dataset_get_preprocess (self->dataset), pp))
    return;
  if (self->dataset_reopen != NULL)
    g_cancellable_cancel (self->dataset_reopen);
  g_clear_object (&self->dataset_reopen);
  self->dataset_reopen = g_cancellable_new ();
  task = g_task_new (self, self->dataset_reopen, reopen_done, NULL);
  g_task_set_source_tag (task, sync_dataset_preprocess);
  g_task_set_task_data (task, g_memdup2 (pp, sizeof *pp), g_free);
  g_object_set_data_full (G_OBJECT (task), "spec", g_strdup (self->dataset_spec), g_free);
  g_object_set_data_full (G_OBJECT (task), "labels", g_strdup (self->dataset_labels), g_free);
  QS_TSAN_RELEASE (task);
  g_task_run_in_thread (task, reopen_thread);
}

const char *
qs_document_get_dataset_spec (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->dataset_spec;
}

QsConfig *
qs_document_get_config (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->config;
}

const char *
qs_document_get_title (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_model_get_name (self->model);
}

GFile *
qs_document_get_file (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->file;
}

gboolean
qs_document_get_modified (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return compute_modified (self);
}

gboolean
qs_document_get_checksum_mismatch (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return self->checksum_mismatch;
}

const char *
qs_document_get_notes (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->notes;
}

void
qs_document_set_notes (QsDocument *self,
                       const char *notes)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));

  if (g_strcmp0 (notes, self->notes) == 0)
    return;
  g_free (self->notes);
  self->notes = g_strdup (notes ? notes : "");
  update_modified (self);
}

/* ---------------------------------------------------------------------------------------- */
/* Changes and undo                                                                         */

/* Records the current config as an undo step, or extends the top step when coalescing. */
static void
push_undo (QsDocument *self,
           const char *label,
           const char *coalesce_key)
{
  gint64 now = g_get_monotonic_time ();
  UndoEntry *top = self->undo->len ? g_ptr_array_index (self->undo, self->undo->len - 1) : NULL;
  UndoEntry *entry;

  g_ptr_array_set_size (self->redo, 0);

  if (coalesce_key != NULL && top != NULL && !self->break_coalescing
      && g_strcmp0 (top->coalesce_key, coalesce_key) == 0
      && now - top->time < COALESCE_USEC)
    {
      top->time = now;
      return;
    }

  entry = g_new0 (UndoEntry, 1);
  entry->config = qs_config_copy (self->config);
  entry->label = g_strdup (label);
  entry->coalesce_key = g_strdup (coalesce_key);
  entry->time = now;
  g_ptr_array_add (self->undo, entry);
  self->break_coalescing = FALSE;
}

static gboolean
layer_config_equal (const QsLayerConfig *a,
                    const QsLayerConfig *b)
{
  return a->quantize_activations == b->quantize_activations
         && qs_quant_spec_equal (&a->weight, &b->weight)
         && qs_quant_spec_equal (&a->activation, &b->activation);
}

static void
replace_config (QsDocument         *self,
                QsConfig           *config,
                const char         *label,
                const char         *coalesce_key,
                const char * const *layers)
{
  if (qs_config_equal (config, self->config))
    return;
  push_undo (self, label, coalesce_key);
  g_set_object (&self->config, config);
  config_changed (self, layers);
}

void
qs_document_set_layer_config (QsDocument          *self,
                              const char * const  *layers,
                              const QsLayerConfig *layer_config,
                              const char          *undo_label,
                              const char          *coalesce_key)
{
  g_autoptr(QsConfig) next = NULL;
  gboolean changed = FALSE;

  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (layers != NULL);
  g_return_if_fail (layer_config != NULL);

  next = qs_config_copy (self->config);
  for (guint i = 0; layers[i] != NULL; i++)
    {
      QsLayerConfig current;

      /* Layers that already run this way keep their config as it is (no override). */
      qs_config_get_layer (self->config, layers[i], &current);
      if (!layer_config_equal (&current, layer_config))
        {
          qs_config_set_layer (next, layers[i], layer_config);
          changed = TRUE;
        }
    }
  if (changed)
    replace_config (self, next, undo_label, coalesce_key, layers);
}

void
qs_document_set_config (QsDocument *self,
                        QsConfig   *config,
                        const char *undo_label)
{
  g_autoptr(QsConfig) next = NULL;

  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (QS_IS_CONFIG (config));

  next = qs_config_copy (config);
  replace_config (self, next, undo_label, NULL, NULL);
}

gboolean
qs_document_apply_preset (QsDocument          *self,
                          const char          *preset,
                          const char * const  *layers,
                          GError             **error)
{
  g_autoptr(QsConfig) preset_config = NULL;
  g_autoptr(QsConfig) next = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (preset != NULL, FALSE);

  preset_config = qs_config_new_from_preset (preset, error);
  if (preset_config == NULL)
    return FALSE;

  /* Translators: an undo step, %s is a preset name such as "w8a8". No quotes: the undo
   * button's tooltip quotes the whole step ("Undo “Apply Preset w8a8”"). */
  label = g_strdup_printf (_("Apply Preset %s"), preset);
  if (layers == NULL)
    {
      /* a preset sets formats; the requantization mode is the target runtime's, and the
       * calibration set and the preprocessing are the user's data: all kept */
      qs_config_set_requant_mode (preset_config, qs_config_get_requant_mode (self->config));
      qs_config_set_calib_source (preset_config, qs_config_get_calib_source (self->config));
      qs_config_set_calib_images (preset_config, qs_config_get_calib_images (self->config));
      qs_config_set_preprocess (preset_config, qs_config_get_preprocess (self->config));
      replace_config (self, preset_config, label, NULL, NULL);
      return TRUE;
    }

  next = qs_config_copy (self->config);
  for (guint i = 0; layers[i] != NULL; i++)
    {
      QsLayerConfig lc;

      qs_config_get_layer (preset_config, layers[i], &lc);
      qs_config_set_layer (next, layers[i], &lc);
    }
  replace_config (self, next, label, NULL, layers);
  return TRUE;
}

void
qs_document_break_coalescing (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  self->break_coalescing = TRUE;
}

gboolean
qs_document_can_undo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return self->undo->len > 0;
}

gboolean
qs_document_can_redo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return self->redo->len > 0;
}

const char *
qs_document_get_undo_label (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  if (self->undo->len == 0)
    return NULL;
  return ((UndoEntry *) g_ptr_array_index (self->undo, self->undo->len - 1))->label;
}

const char *
qs_document_get_redo_label (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  if (self->redo->len == 0)
    return NULL;
  return ((UndoEntry *) g_ptr_array_index (self->redo, self->redo->len - 1))->label;
}

guint
qs_document_get_n_history_steps (QsDocument *self,
                                 gboolean    redo)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), 0);
  return (redo ? self->redo : self->undo)->len;
}

QsConfig *
qs_document_get_history_step (QsDocument  *self,
                              gboolean     redo,
                              guint        index,
                              const char **label)
{
  GPtrArray *steps;
  UndoEntry *entry;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  steps = redo ? self->redo : self->undo;
  g_return_val_if_fail (index < steps->len, NULL);

  entry = g_ptr_array_index (steps, index);
  if (label != NULL)
    *label = entry->label;
  return entry->config;
}

/* Moves the top entry of from onto to, swapping the document's config with it. */
static gboolean
undo_redo_step (QsDocument *self,
                GPtrArray  *from,
                GPtrArray  *to)
{
  UndoEntry *entry;
  QsConfig *previous;

  if (from->len == 0)
    return FALSE;

  entry = g_ptr_array_steal_index (from, from->len - 1);
  previous = self->config;
  self->config = entry->config;
  entry->config = previous;
  g_clear_pointer (&entry->coalesce_key, g_free);
  g_ptr_array_add (to, entry);
  self->break_coalescing = TRUE;
  config_changed (self, NULL);
  return TRUE;
}

gboolean
qs_document_undo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return undo_redo_step (self, self->undo, self->redo);
}

gboolean
qs_document_redo (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return undo_redo_step (self, self->redo, self->undo);
}

/* ---------------------------------------------------------------------------------------- */
/* Sessions                                                                                 */

char *
qs_document_to_session_json (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_session_to_json (self->session, FALSE);
}

gboolean
qs_document_save_session (QsDocument  *self,
                          GFile       *file,
                          GError     **error)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  if (!qs_session_write (self->session, file, error))
    return FALSE;

  g_set_object (&self->file, file);
  g_clear_object (&self->saved_config);
  self->saved_config = qs_config_copy (self->config);
  g_free (self->saved_notes);
  self->saved_notes = g_strdup (self->notes);
  g_free (self->saved_target);
  self->saved_target = g_strdup (qs_document_get_target_key (self));
  self->checksum_mismatch = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
  update_modified (self);
  qs_document_discard_autosave (self);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* Autosave: QsSession                                                                      */

char *
qs_document_autosave_dir (void)
{
  return qs_session_autosave_dir ();
}

char *
qs_document_find_autosave (void)
{
  return qs_session_find_autosave ();
}

gboolean
qs_document_is_session_file (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);
  return qs_session_is_session_file (path);
}

void
qs_document_set_autosave_delay (QsDocument *self,
                                guint       delay_ms)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_session_set_autosave_delay (self->session, delay_ms);
}

const char *
qs_document_get_autosave_path (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_session_get_autosave_path (self->session);
}

void
qs_document_adopt_autosave (QsDocument *self,
                            const char *path)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (path != NULL);
  qs_session_adopt_autosave (self->session, path);
}

gboolean
qs_document_autosave_now (QsDocument  *self,
                          GError     **error)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return qs_session_autosave_now (self->session, error);
}

void
qs_document_discard_autosave (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_session_discard_autosave (self->session);
}

/* ---------------------------------------------------------------------------------------- */
/* Live results: QsDocumentResults                                                          */

void
qs_document_refresh (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_update (self->results, TRUE);
}

void
qs_document_set_focus_layer (QsDocument *self,
                             const char *layer)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_set_focus_layer (self->results, layer);
}

QsQuantResult *
qs_document_get_layer_result (QsDocument *self,
                              const char *layer)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_document_results_get_layer_result (self->results, layer);
}

const GError *
qs_document_get_layer_error (QsDocument *self,
                             const char *layer)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_document_results_get_layer_error (self->results, layer);
}

gboolean
qs_document_get_layer_busy (QsDocument *self,
                            const char *layer)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return qs_document_results_get_layer_busy (self->results, layer);
}

void
qs_document_get_summary (QsDocument *self,
                         QsSummary  *out)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_get_summary (self->results, out);
}

QsEvalResult *
qs_document_get_quick_eval (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_document_results_get_quick_eval (self->results);
}

const QsEvalPartial *
qs_document_get_quick_eval_partial (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_document_results_get_quick_eval_partial (self->results);
}

const GError *
qs_document_get_quick_eval_error (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_document_results_get_quick_eval_error (self->results);
}

gboolean
qs_document_can_evaluate (QsDocument  *self,
                          const char **why_not)
{
  const char *reason = NULL;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);

  if (!qs_model_can_infer (self->model, &reason))
    {
      if (why_not != NULL)
        *why_not = reason;
      return FALSE;
    }
  if (self->dataset == NULL)
    {
      if (why_not != NULL)
        *why_not = _("No evaluation dataset: the bundled Fashion-MNIST sample fits models that take 28×28 images");
      return FALSE;
    }
  return TRUE;
}

gboolean
qs_document_get_evaluating (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return qs_document_results_get_evaluating (self->results);
}

gboolean
qs_document_get_busy (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  return qs_document_results_get_busy (self->results);
}

void
qs_document_set_quick_subset (QsDocument *self,
                              guint       n_images)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_set_quick_subset (self->results, n_images);
}

guint
qs_document_get_quick_subset (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), 0);
  return qs_document_results_get_quick_subset (self->results);
}

QsEvalCache *
qs_document_get_eval_cache (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return qs_document_results_get_eval_cache (self->results);
}

void
qs_document_set_view_options (QsDocument *self,
                              guint       hist_bins,
                              guint       map_width,
                              guint       map_height)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_set_view_options (self->results, hist_bins, map_width, map_height);
}

/* ---------------------------------------------------------------------------------------- */
/* Deployment target (issue 12)                                                             */

G_DEFINE_BOXED_TYPE (QsTarget, qs_target, qs_target_ref, qs_target_unref)

QsTarget *
qs_document_get_target (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->target;
}

/* A bundled target by its name, any other by the path of its file. */
static char *
target_key (QsTarget *target)
{
  g_autofree char *rel = NULL;
  g_autofree char *bundled = NULL;

  if (target == NULL)
    return NULL;
  if (g_strv_contains (qs_target_list_bundled (), target->name))
    {
      rel = g_strdup_printf ("targets/%s.json", target->name);
      bundled = qs_data_find_file (rel, NULL);
      if (target->path == NULL || g_strcmp0 (bundled, target->path) == 0)
        return g_strdup (target->name);
    }
  return g_strdup (target->path != NULL ? target->path : target->name);
}

const char *
qs_document_get_target_key (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return self->target_key;
}

void
qs_document_set_target (QsDocument *self,
                        QsTarget   *target)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));

  if (self->target == target)
    return;
  if (self->target != NULL && target != NULL && g_strcmp0 (self->target->path, target->path) == 0)
    return;
  g_clear_pointer (&self->target, qs_target_unref);
  if (target != NULL)
    self->target = qs_target_ref (target);
  g_free (self->target_key);
  self->target_key = target_key (target);
  g_clear_pointer (&self->target_issues, g_ptr_array_unref);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TARGET]);
  g_signal_emit (self, signals[TARGET_ISSUES_CHANGED], 0);
  update_modified (self);
}

void
qs_document_mark_target_saved (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));

  g_free (self->saved_target);
  self->saved_target = g_strdup (self->target_key);
  update_modified (self);
}

GPtrArray *
qs_document_get_target_issues (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);

  if (self->target_issues == NULL)
    {
      /* per layer and per rule: microseconds even for a hundred layers, so on the main thread */
      if (self->target != NULL)
        self->target_issues = qs_target_check (self->target, self->model, self->config);
      else
        self->target_issues = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_target_issue_free);
    }
  return self->target_issues;
}

char *
qs_document_get_layer_target_issue (QsDocument *self,
                                    const char *layer)
{
  GPtrArray *issues;
  GString *out = NULL;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  issues = qs_document_get_target_issues (self);
  for (guint i = 0; i < issues->len; i++)
    {
      QsTargetIssue *issue = g_ptr_array_index (issues, i);

      if (g_strcmp0 (issue->layer, layer) != 0)
        continue;
      if (out == NULL)
        out = g_string_new (issue->reason);
      else
        g_string_append_printf (out, "\n%s", issue->reason);
    }
  return out != NULL ? g_string_free (out, FALSE) : NULL;
}

guint
qs_document_get_n_target_layers (QsDocument *self,
                                 gboolean   *model_wide)
{
  GPtrArray *issues;
  const char *last = NULL;
  guint n = 0;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), 0);

  issues = qs_document_get_target_issues (self);
  if (model_wide != NULL)
    *model_wide = FALSE;
  /* issues come in model order, one layer's together */
  for (guint i = 0; i < issues->len; i++)
    {
      QsTargetIssue *issue = g_ptr_array_index (issues, i);

      if (issue->layer == NULL)
        {
          if (model_wide != NULL)
            *model_wide = TRUE;
          continue;
        }
      if (g_strcmp0 (issue->layer, last) != 0)
        n++;
      last = issue->layer;
    }
  return n;
}
