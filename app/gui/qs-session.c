/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "qs-session.h"

#define DEFAULT_AUTOSAVE_MS 2000
/* An autosave keeps at most this many undo steps (the newest) and as many redo steps. */
#define MAX_AUTOSAVE_STEPS  100

struct _QsSession
{
  GObject     parent_instance;

  QsDocument *document;       /* weak: it owns us */
  char       *autosave_id;
  char       *autosave_path;
  guint       autosave_delay;
  guint       autosave_timeout_id;
};

G_DEFINE_FINAL_TYPE (QsSession, qs_session, G_TYPE_OBJECT)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QsSessionStep, qs_session_step_free)

/* Autosave files owned by live documents of this process (never offered for restore). */
static GHashTable *live_autosaves;

/* ---------------------------------------------------------------------------------------- */
/* Reading                                                                                  */

void
qs_session_step_free (QsSessionStep *step)
{
  if (step == NULL)
    return;
  g_free (step->label);
  g_clear_object (&step->config);
  g_free (step);
}

void
qs_session_data_free (QsSessionData *data)
{
  if (data == NULL)
    return;
  g_free (data->model_path);
  g_free (data->architecture_path);
  g_free (data->model_checksum);
  g_free (data->dataset_spec);
  g_free (data->dataset_labels);
  g_clear_object (&data->config);
  g_free (data->notes);
  g_clear_object (&data->saved_file);
  g_clear_pointer (&data->undo, g_ptr_array_unref);
  g_clear_pointer (&data->redo, g_ptr_array_unref);
  g_free (data->target);
  g_free (data);
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

/* A config as JSON member value (NULL on failure). */
static QsConfig *
config_from_node (JsonNode  *node,
                  GError   **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *json = NULL;

  json_generator_set_root (generator, node);
  json = json_generator_to_data (generator, NULL);
  return qs_config_new_from_json (json, -1, error);
}

/* The "undo" or "redo" array of an autosave: [{"label": "…", "config": {…}}, …], oldest
 * first. NULL with error when it is not that. */
static GPtrArray *
parse_steps (JsonNode  *node,
             GError   **error)
{
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_session_step_free);
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION, _("not an array"));
      return NULL;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (item) ? json_node_get_object (item) : NULL;
      JsonNode *config = object ? json_object_get_member (object, "config") : NULL;
      const char *label = object ? member_string (object, "label") : NULL;
      g_autoptr(QsSessionStep) step = NULL;

      if (label == NULL || config == NULL || !JSON_NODE_HOLDS_OBJECT (config))
        {
          g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                       _("step %u has no label or no config"), i);
          return NULL;
        }
      step = g_new0 (QsSessionStep, 1);
      step->label = g_strdup (label);
      step->config = config_from_node (config, error);
      if (step->config == NULL)
        return NULL;
      g_ptr_array_add (steps, g_steal_pointer (&step));
    }
  return g_steal_pointer (&steps);
}

QsSessionData *
qs_session_data_parse (GFile       *session,
                       const char  *data,
                       gsize        length,
                       GError     **error)
{
  g_autoptr(QsSessionData) parsed = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *config_json = NULL;
  g_autofree char *base_dir = g_path_get_dirname (g_file_peek_path (session));
  g_autoptr(JsonGenerator) generator = NULL;
  const char *name = g_file_peek_path (session);
  JsonObject *root, *model;
  JsonNode *config;
  const char *path, *format;

  if (!json_parser_load_from_data (parser, data, length, &local_error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                   _("“%s” is not a Quantscope session: %s"), name,
                   local_error ? local_error->message : _("the top level is not a JSON object"));
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  format = member_string (root, "format");
  if (g_strcmp0 (format, QS_SESSION_FORMAT) != 0)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                   _("“%s” is not a Quantscope session (no \"format\": \"%s\"); "
                     "to load a quantization config use Import Config"), name, QS_SESSION_FORMAT);
      return NULL;
    }
  if (json_object_get_int_member_with_default (root, "version", 0) > QS_SESSION_VERSION)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_VERSION,
                   _("Session “%s” was written by a newer Quantscope (version %lld); update Quantscope to open it"),
                   name, (long long) json_object_get_int_member (root, "version"));
      return NULL;
    }
  parsed = g_new0 (QsSessionData, 1);
  model = json_object_get_object_member (root, "model");
  path = model ? member_string (model, "path") : NULL;
  if (path == NULL)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                   _("Session “%s” does not name a model ($.model.path is missing)"), name);
      return NULL;
    }
  parsed->model_path = g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (base_dir, path, NULL);
  parsed->architecture_path = g_strdup (member_string (model, "architecture"));
  parsed->model_checksum = g_strdup (member_string (model, "sha256"));

  config = json_object_get_member (root, "config");
  if (config != NULL && !JSON_NODE_HOLDS_NULL (config))
    {
      generator = json_generator_new ();
      json_generator_set_root (generator, config);
      config_json = json_generator_to_data (generator, NULL);
      parsed->config = qs_config_new_from_json (config_json, -1, &local_error);
      if (parsed->config == NULL)
        {
          g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_SESSION,
                       _("The config in session “%s” is invalid: %s"), name, local_error->message);
          return NULL;
        }
    }
  parsed->notes = g_strdup (member_string (root, "notes"));
  if (member_string (root, "session_file") != NULL)
    parsed->saved_file = g_file_new_for_path (member_string (root, "session_file"));

  parsed->dataset_spec = g_strdup (member_string (root, "dataset"));
  parsed->dataset_labels = g_strdup (member_string (root, "dataset_labels"));
  parsed->target = g_strdup (member_string (root, "target"));

  /* An autosave's undo history. Damaged, it is left behind: the config is what matters. */
  {
    JsonNode *undo = json_object_get_member (root, "undo");
    JsonNode *redo = json_object_get_member (root, "redo");
    g_autoptr(GError) history_error = NULL;

    if (undo != NULL
        && ((parsed->undo = parse_steps (undo, &history_error)) == NULL
            || (redo != NULL && (parsed->redo = parse_steps (redo, &history_error)) == NULL)))
      {
        g_debug ("Session “%s”: the undo history is damaged and was left out: %s",
                 name, history_error->message);
        g_clear_pointer (&parsed->undo, g_ptr_array_unref);
        g_clear_pointer (&parsed->redo, g_ptr_array_unref);
      }
  }
  return g_steal_pointer (&parsed);
}

gboolean
qs_session_is_session_file (const char *path)
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
/* Writing                                                                                  */

static void
add_config (JsonBuilder *builder,
            QsConfig    *config)
{
  g_autofree char *json = qs_config_to_json (config);
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (json_parser_load_from_data (parser, json, -1, NULL))
    json_builder_add_value (builder, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (builder);
}

/* The newest MAX_AUTOSAVE_STEPS undo or redo steps, oldest first. */
static void
add_steps (JsonBuilder *builder,
           QsDocument  *document,
           gboolean     redo)
{
  guint n = qs_document_get_n_history_steps (document, redo);
  guint first = n > MAX_AUTOSAVE_STEPS ? n - MAX_AUTOSAVE_STEPS : 0;

  /* Redo steps are popped from the end too: keep the ones undone last. */
  json_builder_begin_array (builder);
  for (guint i = first; i < n; i++)
    {
      const char *label = NULL;
      QsConfig *config = qs_document_get_history_step (document, redo, i, &label);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "label");
      json_builder_add_string_value (builder, label ? label : "");
      json_builder_set_member_name (builder, "config");
      add_config (builder, config);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

char *
qs_session_to_json (QsSession *self,
                    gboolean   for_autosave)
{
  QsDocument *document;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *config_json = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *now_iso = g_date_time_format_iso8601 (now);
  g_autofree char *model_path = NULL;
  QsModel *model;

  g_return_val_if_fail (QS_IS_SESSION (self), NULL);
  g_return_val_if_fail (self->document != NULL, NULL);

  document = self->document;
  model = qs_document_get_model (document);
  config_json = qs_config_to_json (qs_document_get_config (document));
  model_path = g_canonicalize_filename (qs_model_get_path (model), NULL);

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
  json_builder_add_string_value (builder, qs_model_get_name (model));
  json_builder_set_member_name (builder, "sha256");
  json_builder_add_string_value (builder, qs_model_get_checksum (model));
  if (qs_document_get_architecture_path (document) != NULL)
    {
      g_autofree char *arch = g_canonicalize_filename (qs_document_get_architecture_path (document), NULL);

      json_builder_set_member_name (builder, "architecture");
      json_builder_add_string_value (builder, arch);
    }
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "dataset");
  if (qs_document_get_dataset_spec (document) != NULL)
    json_builder_add_string_value (builder, qs_document_get_dataset_spec (document));
  else
    json_builder_add_null_value (builder);
  if (qs_document_get_dataset_labels (document) != NULL)
    {
      json_builder_set_member_name (builder, "dataset_labels");
      json_builder_add_string_value (builder, qs_document_get_dataset_labels (document));
    }

  json_builder_set_member_name (builder, "config");
  if (json_parser_load_from_data (parser, config_json, -1, NULL))
    json_builder_add_value (builder, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (builder);

  json_builder_set_member_name (builder, "notes");
  json_builder_add_string_value (builder, qs_document_get_notes (document));

  if (qs_document_get_target_key (document) != NULL)
    {
      json_builder_set_member_name (builder, "target");
      json_builder_add_string_value (builder, qs_document_get_target_key (document));
    }

  if (for_autosave && qs_document_get_file (document) != NULL)
    {
      json_builder_set_member_name (builder, "session_file");
      json_builder_add_string_value (builder, g_file_peek_path (qs_document_get_file (document)));
    }
  if (for_autosave)
    {
      /* What Undo and Redo would do: a restored document can still undo. */
      json_builder_set_member_name (builder, "undo");
      add_steps (builder, document, FALSE);
      json_builder_set_member_name (builder, "redo");
      add_steps (builder, document, TRUE);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

gboolean
qs_session_write (QsSession  *self,
                  GFile      *file,
                  GError    **error)
{
  g_autofree char *json = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *path;

  g_return_val_if_fail (QS_IS_SESSION (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (self->document != NULL, FALSE);

  path = g_file_peek_path (file);
  if (path == NULL)
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_WRITE,
                   _("Sessions can only be saved to local files"));
      return FALSE;
    }
  json = qs_session_to_json (self, FALSE);
  if (!g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, QS_DOCUMENT_ERROR, QS_DOCUMENT_ERROR_WRITE,
                   _("Could not save the session to “%s”: %s"), path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------------------------- */
/* Autosave                                                                                 */

char *
qs_session_autosave_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "quantscope", "autosave", NULL);
}

gboolean
qs_session_is_autosave_file (GFile *file)
{
  g_autofree char *dir = qs_session_autosave_dir ();
  g_autofree char *parent = NULL;

  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  if (g_file_peek_path (file) == NULL)
    return FALSE;
  parent = g_path_get_dirname (g_file_peek_path (file));
  return g_strcmp0 (parent, dir) == 0;
}

char *
qs_session_find_autosave (void)
{
  g_autofree char *dir_path = qs_session_autosave_dir ();
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

static gboolean
autosave_timeout_cb (gpointer user_data)
{
  QsSession *self = user_data;
  g_autoptr(GError) error = NULL;

  self->autosave_timeout_id = 0;
  if (!qs_session_autosave_now (self, &error))
    g_warning ("Autosave failed: %s", error->message);
  return G_SOURCE_REMOVE;
}

void
qs_session_set_autosave_delay (QsSession *self,
                               guint      delay_ms)
{
  g_return_if_fail (QS_IS_SESSION (self));

  self->autosave_delay = delay_ms;
  if (delay_ms == 0)
    g_clear_handle_id (&self->autosave_timeout_id, g_source_remove);
}

void
qs_session_schedule_autosave (QsSession *self,
                              gboolean   modified)
{
  g_return_if_fail (QS_IS_SESSION (self));

  if (self->autosave_delay == 0)
    return;

  g_clear_handle_id (&self->autosave_timeout_id, g_source_remove);
  if (modified)
    self->autosave_timeout_id = g_timeout_add (self->autosave_delay, autosave_timeout_cb, self);
  else
    qs_session_discard_autosave (self);
}

static void
set_autosave_path (QsSession  *self,
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
qs_session_get_autosave_path (QsSession *self)
{
  g_return_val_if_fail (QS_IS_SESSION (self), NULL);

  if (self->autosave_path == NULL)
    {
      g_autofree char *dir = qs_session_autosave_dir ();
      g_autofree char *name = g_strdup_printf ("session-%s.json", self->autosave_id);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      set_autosave_path (self, path);
    }
  return self->autosave_path;
}

void
qs_session_adopt_autosave (QsSession  *self,
                           const char *path)
{
  g_return_if_fail (QS_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  set_autosave_path (self, path);
}

gboolean
qs_session_autosave_now (QsSession  *self,
                         GError    **error)
{
  g_autofree char *dir = qs_session_autosave_dir ();
  g_autofree char *json = NULL;
  const char *path;

  g_return_val_if_fail (QS_IS_SESSION (self), FALSE);

  g_clear_handle_id (&self->autosave_timeout_id, g_source_remove);
  if (self->document == NULL || !qs_document_get_modified (self->document))
    {
      qs_session_discard_autosave (self);
      return TRUE;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not create the autosave folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  path = qs_session_get_autosave_path (self);
  json = qs_session_to_json (self, TRUE);
  return g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

void
qs_session_discard_autosave (QsSession *self)
{
  g_return_if_fail (QS_IS_SESSION (self));

  g_clear_handle_id (&self->autosave_timeout_id, g_source_remove);
  if (self->autosave_path != NULL)
    g_unlink (self->autosave_path);
}

/* ---------------------------------------------------------------------------------------- */
/* GObject                                                                                  */

static void
qs_session_dispose (GObject *object)
{
  QsSession *self = QS_SESSION (object);

  g_clear_handle_id (&self->autosave_timeout_id, g_source_remove);
  g_clear_weak_pointer (&self->document);

  G_OBJECT_CLASS (qs_session_parent_class)->dispose (object);
}

static void
qs_session_finalize (GObject *object)
{
  QsSession *self = QS_SESSION (object);

  if (self->autosave_path != NULL && live_autosaves != NULL)
    g_hash_table_remove (live_autosaves, self->autosave_path);
  g_free (self->autosave_id);
  g_free (self->autosave_path);

  G_OBJECT_CLASS (qs_session_parent_class)->finalize (object);
}

static void
qs_session_class_init (QsSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qs_session_dispose;
  object_class->finalize = qs_session_finalize;
}

static void
qs_session_init (QsSession *self)
{
  self->autosave_delay = DEFAULT_AUTOSAVE_MS;
  self->autosave_id = g_uuid_string_random ();
}

QsSession *
qs_session_new (QsDocument *document)
{
  QsSession *self;

  g_return_val_if_fail (QS_IS_DOCUMENT (document), NULL);

  self = g_object_new (QS_TYPE_SESSION, NULL);
  g_set_weak_pointer (&self->document, document);
  return self;
}
