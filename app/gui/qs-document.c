/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qs-document-results.h"
#include "qs-document.h"

/* Changes with the same coalesce key closer together than this merge into one undo step. */
#define COALESCE_USEC       (1500 * 1000)
#define DEFAULT_AUTOSAVE_MS 2000
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

  char         *autosave_id;
  char         *autosave_path;
  guint         autosave_delay;
  guint         autosave_id_timeout;
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
  N_PROPS
};

enum {
  CONFIG_CHANGED,
  LAYER_RESULT_CHANGED,
  SUMMARY_CHANGED,
  QUICK_EVAL_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Autosave files owned by live documents of this process (never offered for restore). */
static GHashTable *live_autosaves;

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
         || g_strcmp0 (self->notes, self->saved_notes) != 0;
}

static gboolean
autosave_timeout_cb (gpointer user_data)
{
  QsDocument *self = user_data;
  g_autoptr(GError) error = NULL;

  self->autosave_id_timeout = 0;
  if (!qs_document_autosave_now (self, &error))
    g_warning ("Autosave failed: %s", error->message);
  return G_SOURCE_REMOVE;
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

  if (self->autosave_delay == 0)
    return;

  g_clear_handle_id (&self->autosave_id_timeout, g_source_remove);
  if (modified)
    self->autosave_id_timeout = g_timeout_add (self->autosave_delay, autosave_timeout_cb, self);
  else
    qs_document_discard_autosave (self);
}

static void
notify_undo_state (QsDocument *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
}

static void
config_changed (QsDocument         *self,
                const char * const *layers)
{
  g_signal_emit (self, signals[CONFIG_CHANGED], 0, layers);
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
  g_clear_handle_id (&self->autosave_id_timeout, g_source_remove);

  G_OBJECT_CLASS (qs_document_parent_class)->dispose (object);
}

static void
qs_document_finalize (GObject *object)
{
  QsDocument *self = QS_DOCUMENT (object);

  if (self->autosave_path != NULL && live_autosaves != NULL)
    g_hash_table_remove (live_autosaves, self->autosave_path);

  g_clear_object (&self->model);
  g_clear_object (&self->dataset);
  g_clear_object (&self->config);
  g_clear_object (&self->saved_config);
  g_clear_object (&self->file);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);
  g_free (self->dataset_spec);
  g_free (self->architecture_path);
  g_free (self->notes);
  g_free (self->saved_notes);
  g_free (self->autosave_id);
  g_free (self->autosave_path);

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
  g_object_class_install_properties (object_class, N_PROPS, properties);

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
  g_signal_connect_swapped (self->results, "notify::busy", G_CALLBACK (on_busy_changed), self);
  g_signal_connect_swapped (self->results, "notify::evaluating", G_CALLBACK (on_evaluating_changed), self);
  self->notes = g_strdup ("");
  self->saved_notes = g_strdup ("");
  self->autosave_delay = DEFAULT_AUTOSAVE_MS;
  self->autosave_id = g_uuid_string_random ();
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
  gboolean   checksum_mismatch;
  gboolean   is_autosave;
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  g_free (load->path);
  g_free (load->architecture_path);
  g_clear_object (&load->session);
  g_clear_object (&load->model);
  g_clear_object (&load->dataset);
  g_free (load->dataset_spec);
  g_clear_object (&load->config);
  g_free (load->notes);
  g_clear_object (&load->saved_file);
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

  load->model = qs_model_load (load->path, load->architecture_path, cancellable, &error);
  if (load->model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  open_default_dataset (load);
  g_task_return_boolean (task, TRUE);
}

static QsDocument *
document_from_load (LoadData *load)
{
  QsDocument *self = qs_document_new (load->model, load->config, load->dataset);

  self->dataset_spec = g_strdup (load->dataset_spec);
  self->architecture_path = g_strdup (load->architecture_path);
  self->checksum_mismatch = load->checksum_mismatch;
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
  g_task_run_in_thread (task, thread);
}

static QsDocument *
load_finish (GAsyncResult  *result,
             GError       **error)
{
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return document_from_load (g_task_get_task_data (G_TASK (result)));
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

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
parse_session (LoadData      *load,
               const char    *data,
               gsize          length,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *config_json = NULL;
  g_autofree char *base_dir = g_path_get_dirname (g_file_peek_path (load->session));
  g_autoptr(JsonGenerator) generator = NULL;
  const char *name = g_file_peek_path (load->session);
  JsonObject *root, *model;
  JsonNode *config;
  const char *path, *format, *checksum, *dataset;

  if (!json_parser_load_from_data (parser, data, length, &local_error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                   _("“%s” is not a Quantscope session: %s"), name,
                   local_error ? local_error->message : _("the top level is not a JSON object"));
      return FALSE;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  format = member_string (root, "format");
  if (g_strcmp0 (format, QS_SESSION_FORMAT) != 0)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                   _("“%s” is not a Quantscope session (no \"format\": \"%s\"); "
                     "to load a quantization config use Import Config"), name, QS_SESSION_FORMAT);
      return FALSE;
    }
  if (json_object_get_int_member_with_default (root, "version", 0) > QS_SESSION_VERSION)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_VERSION,
                   _("Session “%s” was written by a newer Quantscope (version %lld); update Quantscope to open it"),
                   name, (long long) json_object_get_int_member (root, "version"));
      return FALSE;
    }
  model = json_object_get_object_member (root, "model");
  path = model ? member_string (model, "path") : NULL;
  if (path == NULL)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                   _("Session “%s” does not name a model ($.model.path is missing)"), name);
      return FALSE;
    }
  load->path = g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (base_dir, path, NULL);
  load->architecture_path = g_strdup (member_string (model, "architecture"));
  checksum = member_string (model, "sha256");

  config = json_object_get_member (root, "config");
  if (config != NULL && !JSON_NODE_HOLDS_NULL (config))
    {
      generator = json_generator_new ();
      json_generator_set_root (generator, config);
      config_json = json_generator_to_data (generator, NULL);
      load->config = qs_config_new_from_json (config_json, -1, &local_error);
      if (load->config == NULL)
        {
          g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                       _("The config in session “%s” is invalid: %s"), name, local_error->message);
          return FALSE;
        }
    }
  load->notes = g_strdup (member_string (root, "notes"));
  if (member_string (root, "session_file") != NULL)
    load->saved_file = g_file_new_for_path (member_string (root, "session_file"));

  load->model = qs_model_load (load->path, load->architecture_path, cancellable, error);
  if (load->model == NULL)
    return FALSE;
  if (checksum != NULL)
    load->checksum_mismatch = g_strcmp0 (checksum, qs_model_get_checksum (load->model)) != 0;

  dataset = member_string (root, "dataset");
  if (dataset != NULL)
    {
      load->dataset = qs_dataset_open (dataset, &local_error);
      if (load->dataset == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      _("Session “%s”: "), name);
          return FALSE;
        }
      load->dataset_spec = g_strdup (dataset);
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

  if (!g_file_load_contents (load->session, cancellable, &data, &length, NULL, &error)
      || !parse_session (load, data, length, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
qs_document_load_session_async (GFile               *session,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autofree char *dir = qs_document_autosave_dir ();
  g_autofree char *parent = NULL;
  LoadData *load;

  g_return_if_fail (G_IS_FILE (session));

  load = g_new0 (LoadData, 1);
  load->session = g_object_ref (session);
  parent = g_path_get_dirname (g_file_peek_path (session));
  load->is_autosave = g_strcmp0 (parent, dir) == 0;
  run_load (load, load_session_thread, qs_document_load_session_async, cancellable, callback, user_data);
}

QsDocument *
qs_document_load_session_finish (GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return load_finish (result, error);
}

gboolean
qs_document_is_session_file (const char *path)
{
  g_autofree char *data = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  JsonNode *root;

  if (!g_str_has_suffix (path, ".json") && !g_str_has_suffix (path, ".quantscope"))
    return FALSE;
  if (!g_file_get_contents (path, &data, &length, NULL)
      || !json_parser_load_from_data (parser, data, length, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  return JSON_NODE_HOLDS_OBJECT (root)
         && g_strcmp0 (member_string (json_node_get_object (root), "format"), QS_SESSION_FORMAT) == 0;
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

  /* Translators: an undo step, %s is a preset name such as "w8a8" */
  label = g_strdup_printf (_("Apply Preset “%s”"), preset);
  if (layers == NULL)
    {
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

static char *
session_json (QsDocument *self,
              gboolean    for_autosave)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *config_json = qs_config_to_json (self->config);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *now_iso = g_date_time_format_iso8601 (now);
  g_autofree char *model_path = g_canonicalize_filename (qs_model_get_path (self->model), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, QS_SESSION_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, QS_SESSION_VERSION);
  json_builder_set_member_name (builder, "saved");
  json_builder_add_string_value (builder, now_iso);

  json_builder_set_member_name (builder, "model");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, model_path);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, qs_model_get_name (self->model));
  json_builder_set_member_name (builder, "sha256");
  json_builder_add_string_value (builder, qs_model_get_checksum (self->model));
  if (self->architecture_path != NULL)
    {
      g_autofree char *arch = g_canonicalize_filename (self->architecture_path, NULL);

      json_builder_set_member_name (builder, "architecture");
      json_builder_add_string_value (builder, arch);
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "dataset");
  if (self->dataset_spec != NULL)
    json_builder_add_string_value (builder, self->dataset_spec);
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "config");
  if (json_parser_load_from_data (parser, config_json, -1, NULL))
    json_builder_add_value (builder, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "notes");
  json_builder_add_string_value (builder, self->notes);

  if (for_autosave && self->file != NULL)
    {
      json_builder_set_member_name (builder, "session_file");
      json_builder_add_string_value (builder, g_file_peek_path (self->file));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

char *
qs_document_to_session_json (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);
  return session_json (self, FALSE);
}

gboolean
qs_document_save_session (QsDocument  *self,
                          GFile       *file,
                          GError     **error)
{
  g_autofree char *json = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *path;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  path = g_file_peek_path (file);
  if (path == NULL)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_WRITE,
                   _("Sessions can only be saved to local files"));
      return FALSE;
    }
  json = session_json (self, FALSE);
  if (!g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_WRITE,
                   _("Could not save the session to “%s”: %s"), path, local_error->message);
      return FALSE;
    }

  g_set_object (&self->file, file);
  g_clear_object (&self->saved_config);
  self->saved_config = qs_config_copy (self->config);
  g_free (self->saved_notes);
  self->saved_notes = g_strdup (self->notes);
  self->checksum_mismatch = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
  update_modified (self);
  qs_document_discard_autosave (self);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* Autosave                                                                                 */

char *
qs_document_autosave_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "quantscope", "autosave", NULL);
}

void
qs_document_set_autosave_delay (QsDocument *self,
                                guint       delay_ms)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  self->autosave_delay = delay_ms;
  if (delay_ms == 0)
    g_clear_handle_id (&self->autosave_id_timeout, g_source_remove);
}

static void
set_autosave_path (QsDocument *self,
                   const char *path)
{
  if (live_autosaves == NULL)
    live_autosaves = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (self->autosave_path != NULL)
    g_hash_table_remove (live_autosaves, self->autosave_path);
  g_free (self->autosave_path);
  self->autosave_path = g_strdup (path);
  g_hash_table_add (live_autosaves, g_strdup (path));
}

const char *
qs_document_get_autosave_path (QsDocument *self)
{
  g_return_val_if_fail (QS_IS_DOCUMENT (self), NULL);

  if (self->autosave_path == NULL)
    {
      g_autofree char *dir = qs_document_autosave_dir ();
      g_autofree char *name = g_strdup_printf ("session-%s.json", self->autosave_id);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      set_autosave_path (self, path);
    }
  return self->autosave_path;
}

void
qs_document_adopt_autosave (QsDocument *self,
                            const char *path)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  g_return_if_fail (path != NULL);
  set_autosave_path (self, path);
}

gboolean
qs_document_autosave_now (QsDocument  *self,
                          GError     **error)
{
  g_autofree char *dir = qs_document_autosave_dir ();
  g_autofree char *json = NULL;
  const char *path;

  g_return_val_if_fail (QS_IS_DOCUMENT (self), FALSE);

  g_clear_handle_id (&self->autosave_id_timeout, g_source_remove);
  if (!compute_modified (self))
    {
      qs_document_discard_autosave (self);
      return TRUE;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create the autosave folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  path = qs_document_get_autosave_path (self);
  json = session_json (self, TRUE);
  return g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

void
qs_document_discard_autosave (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));

  g_clear_handle_id (&self->autosave_id_timeout, g_source_remove);
  if (self->autosave_path != NULL)
    g_unlink (self->autosave_path);
}

char *
qs_document_find_autosave (void)
{
  g_autofree char *dir_path = qs_document_autosave_dir ();
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autofree char *best = NULL;
  gint64 best_time = 0;
  const char *name;

  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      GStatBuf st;

      if (!g_str_has_prefix (name, "session-") || !g_str_has_suffix (name, ".json"))
        continue;
      path = g_build_filename (dir_path, name, NULL);
      if (live_autosaves != NULL && g_hash_table_contains (live_autosaves, path))
        continue;
      if (g_stat (path, &st) != 0)
        continue;
      if (best == NULL || (gint64) st.st_mtime > best_time)
        {
          g_free (best);
          best = g_steal_pointer (&path);
          best_time = st.st_mtime;
        }
    }
  return g_steal_pointer (&best);
}

/* ---------------------------------------------------------------------------------------- */
/* Live results: QsDocumentResults                                                          */

void
qs_document_refresh (QsDocument *self)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_update (self->results, TRUE);
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

void
qs_document_set_view_options (QsDocument *self,
                              guint       hist_bins,
                              guint       map_width,
                              guint       map_height)
{
  g_return_if_fail (QS_IS_DOCUMENT (self));
  qs_document_results_set_view_options (self->results, hist_bins, map_width, map_height);
}
