/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qs-enums.h"
#include "qs-file.h"
#include "qs-keras.h"
#include "qs-model-private.h"
#include "qs-dataset-private.h"
#include "qs-tsan.h"
#include "qs-model-sandbox.h"

/* The sandboxed loader: model files from strangers are parsed by quantscope-loader, a
 * helper process under resource limits and a seccomp filter (app/loader/qs-loader.c), as
 * GNOME does for thumbnailers. The parent never opens the file with HDF5: it receives the
 * parsed model over a pipe and rebuilds it with the parsers it already trusts (the Keras
 * config parser, depth-checked json-glib).
 *
 * The stream (native byte order, both ends are this build):
 *   "QSLOADR1"
 *   guint32 status      0 = model follows, 1 = error follows
 *   error:  guint32 code (QsModelError), guint32 length, message (UTF-8)
 *   model:  guint64 header length, header JSON, then every tensor's float32 data in the
 *           order the header lists them.
 * Header: {"name", "keras_version", "backend", "format", "has_architecture",
 *          "architecture" (the model_config text, when has_architecture),
 *          "layers": [{"name", "class_name", "weights": [{"name", "shape": [...], "layout"}]}]}
 * Everything in it is checked as if a stranger wrote it: the helper may be the one that
 * was compromised. */

#define MAGIC "QSLOADR1"
#define MAGIC_LEN 8
#define MAX_HEADER_BYTES ((gsize) 256 << 20)
#define MAX_MESSAGE_BYTES 65536
#define MAX_TOTAL_ELEMENTS ((gsize) 1 << 32) /* 16 GiB of float32 */

/* --- the helper's side --- */

static gboolean
write_all (int           fd,
           const void   *data,
           gsize         length,
           GError      **error)
{
  const guint8 *p = data;

  while (length > 0)
    {
      gssize n = write (fd, p, MIN (length, (gsize) 1 << 24));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "write: %s", g_strerror (saved));
          return FALSE;
        }
      p += n;
      length -= (gsize) n;
    }
  return TRUE;
}

gboolean
_qs_model_sandbox_write_error (int           fd,
                               const GError *model_error)
{
  guint32 status = 1;
  /* The parent reads the code in the domain of its request (models: QsModelError, HDF5
   * datasets: QsDatasetError). */
  guint32 code = model_error->domain == QS_MODEL_ERROR || model_error->domain == QS_DATASET_ERROR
                   ? (guint32) model_error->code : QS_MODEL_ERROR_CORRUPT;
  gsize len = MIN (strlen (model_error->message), (gsize) MAX_MESSAGE_BYTES);
  guint32 length = (guint32) len;

  return write_all (fd, MAGIC, MAGIC_LEN, NULL)
         && write_all (fd, &status, sizeof status, NULL)
         && write_all (fd, &code, sizeof code, NULL)
         && write_all (fd, &length, sizeof length, NULL)
         && write_all (fd, model_error->message, len, NULL);
}

static void
add_string (JsonBuilder *b,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

gboolean
_qs_model_sandbox_write_model (int       fd,
                               QsModel  *model,
                               GError  **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *header = NULL;
  gsize header_len = 0;
  guint64 header_len64;
  guint32 status = 0;
  gboolean has_architecture = model->has_architecture && model->architecture_json != NULL;

  json_builder_begin_object (b);
  add_string (b, "name", model->name);
  add_string (b, "keras_version", model->keras_version);
  add_string (b, "backend", model->backend);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, model->format);
  json_builder_set_member_name (b, "has_architecture");
  json_builder_add_boolean_value (b, has_architecture);
  if (has_architecture)
    add_string (b, "architecture", model->architecture_json);
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < model->layers->len; i++)
    {
      const QsLayer *layer = g_ptr_array_index (model->layers, i);

      json_builder_begin_object (b);
      add_string (b, "name", layer->name);
      add_string (b, "class_name", layer->class_name);
      json_builder_set_member_name (b, "weights");
      json_builder_begin_array (b);
      for (guint j = 0; j < layer->weights->len; j++)
        {
          const QsTensor *t = g_ptr_array_index (layer->weights, j);

          json_builder_begin_object (b);
          add_string (b, "name", t->name);
          json_builder_set_member_name (b, "shape");
          json_builder_begin_array (b);
          for (guint d = 0; d < t->n_dims; d++)
            json_builder_add_int_value (b, (gint64) t->shape[d]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "layout");
          json_builder_add_int_value (b, t->layout);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  header = json_generator_to_data (gen, &header_len);
  header_len64 = header_len;

  if (!write_all (fd, MAGIC, MAGIC_LEN, error)
      || !write_all (fd, &status, sizeof status, error)
      || !write_all (fd, &header_len64, sizeof header_len64, error)
      || !write_all (fd, header, header_len, error))
    return FALSE;
  for (guint i = 0; i < model->layers->len; i++)
    {
      const QsLayer *layer = g_ptr_array_index (model->layers, i);

      for (guint j = 0; j < layer->weights->len; j++)
        {
          const QsTensor *t = g_ptr_array_index (layer->weights, j);

          if (!write_all (fd, t->data, t->n_elements * sizeof (float), error))
            return FALSE;
        }
    }
  return TRUE;
}

/* --- the parent's side --- */

static gboolean
read_exact (GInputStream  *in,
            void          *buffer,
            gsize          length,
            GCancellable  *cancellable,
            GError       **error)
{
  gsize got = 0;

  if (!g_input_stream_read_all (in, buffer, length, &got, cancellable, error))
    return FALSE;
  if (got != length)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "truncated");
      return FALSE;
    }
  return TRUE;
}

static const char *
member_string (JsonObject *o,
               const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static JsonArray *
member_array (JsonObject *o,
              const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* A tensor as the header declares it, checked. */
static QsTensor *
tensor_from_header (JsonNode  *node,
                    gsize     *total,
                    GError   **error)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonArray *shape = o != NULL ? member_array (o, "shape") : NULL;
  const char *name = o != NULL ? member_string (o, "name") : NULL;
  gsize dims[QS_TENSOR_MAX_DIMS];
  gsize n = 1;
  guint rank;
  QsTensor *t;

  if (name == NULL || shape == NULL || json_array_get_length (shape) > QS_TENSOR_MAX_DIMS)
    return NULL;
  rank = json_array_get_length (shape);
  for (guint d = 0; d < rank; d++)
    {
      JsonNode *dn = json_array_get_element (shape, d);
      gint64 v;

      if (!JSON_NODE_HOLDS_VALUE (dn) || json_node_get_value_type (dn) != G_TYPE_INT64)
        return NULL;
      v = json_node_get_int (dn);
      if (v < 0 || (gsize) v > QS_MODEL_MAX_DIM)
        return NULL;
      dims[d] = (gsize) v;
      if (dims[d] != 0 && n > MAX_TOTAL_ELEMENTS / dims[d])
        return NULL;
      n *= dims[d];
    }
  if (n > MAX_TOTAL_ELEMENTS - *total)
    return NULL;
  *total += n;
  t = qs_tensor_new (name, rank, dims, error);
  if (t != NULL)
    {
      /* Only a layout that fits the rank: the quantizers index the channel axis it names. */
      gint64 layout = json_object_get_int_member_with_default (o, "layout", 0);
      gboolean fits = layout == QS_TENSOR_LAYOUT_GENERIC
                      || (layout == QS_TENSOR_LAYOUT_VECTOR && rank == 1)
                      || (layout == QS_TENSOR_LAYOUT_DENSE && rank == 2)
                      || ((layout == QS_TENSOR_LAYOUT_CONV2D || layout == QS_TENSOR_LAYOUT_DEPTHWISE)
                          && rank == 4);
      qs_tensor_set_layout (t, fits ? (QsTensorLayout) layout
                                    : qs_tensor_layout_for_shape (rank, dims, NULL));
    }
  return t;
}

QsModel *
_qs_model_sandbox_read_model (GInputStream  *in,
                   const char    *path,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autofree char *header = NULL;
  g_autofree char *model_name = NULL;
  g_autoptr(GError) local = NULL;
  guint64 header_len = 0;
  JsonObject *root;
  JsonArray *hlayers;
  const char *architecture;
  gsize total = 0;
  QsModel *model;

#define DAMAGED(why) \
  G_STMT_START { \
    g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT, \
                 _("%s: the loader process sent a damaged answer (%s)"), path, why); \
    return NULL; \
  } G_STMT_END

  if (!read_exact (in, &header_len, sizeof header_len, cancellable, NULL))
    DAMAGED ("header length");
  if (header_len == 0 || header_len > MAX_HEADER_BYTES)
    DAMAGED ("header length");
  header = g_malloc (header_len + 1);
  if (!read_exact (in, header, header_len, cancellable, NULL))
    DAMAGED ("header");
  header[header_len] = '\0';
  if (!g_utf8_validate (header, header_len, NULL)
      || !qs_json_text_depth_ok (header, header_len, QS_MODEL_MAX_JSON_DEPTH)
      || !json_parser_load_from_data (parser, header, header_len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    DAMAGED ("header");
  root = json_node_get_object (json_parser_get_root (parser));
  hlayers = member_array (root, "layers");
  if (hlayers == NULL || json_array_get_length (hlayers) > QS_MODEL_MAX_LAYERS)
    DAMAGED ("layers");
  architecture = json_object_get_boolean_member_with_default (root, "has_architecture", FALSE)
                 ? member_string (root, "architecture") : NULL;

  if (architecture != NULL)
    {
      g_autoptr(GPtrArray) k3_names = NULL;

      /* The same parser, on the same text, as an in-process load. */
      if (!_qs_keras_config_parse (architecture, strlen (architecture), path, &model_name,
                                   &layers, &configs, &k3_names, error))
        return NULL;
      if (layers->len != json_array_get_length (hlayers))
        DAMAGED ("layer count");
    }
  else
    {
      layers = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_layer_free);
      for (guint i = 0; i < json_array_get_length (hlayers); i++)
        {
          JsonNode *ln = json_array_get_element (hlayers, i);
          JsonObject *lo = JSON_NODE_HOLDS_OBJECT (ln) ? json_node_get_object (ln) : NULL;
          const char *name = lo != NULL ? member_string (lo, "name") : NULL;
          const char *class_name = lo != NULL ? member_string (lo, "class_name") : NULL;

          if (name == NULL || class_name == NULL)
            DAMAGED ("layer");
          g_ptr_array_add (layers, qs_layer_new (name, class_name, QS_LAYER_WEIGHTS));
        }
    }

  for (guint i = 0; i < layers->len; i++)
    {
      QsLayer *layer = g_ptr_array_index (layers, i);
      JsonNode *ln = json_array_get_element (hlayers, i);
      JsonObject *lo = JSON_NODE_HOLDS_OBJECT (ln) ? json_node_get_object (ln) : NULL;
      JsonArray *weights = lo != NULL ? member_array (lo, "weights") : NULL;
      const char *name = lo != NULL ? member_string (lo, "name") : NULL;

      if (weights == NULL || g_strcmp0 (name, layer->name) != 0)
        DAMAGED ("layer names");
      for (guint j = 0; j < json_array_get_length (weights); j++)
        {
          QsTensor *t = tensor_from_header (json_array_get_element (weights, j), &total, NULL);

          if (t == NULL)
            DAMAGED ("tensor shape");
          g_ptr_array_add (layer->weights, t);
        }
    }

  /* The tensor data, straight into the tensors. */
  for (guint i = 0; i < layers->len; i++)
    {
      QsLayer *layer = g_ptr_array_index (layers, i);

      for (guint j = 0; j < layer->weights->len; j++)
        {
          QsTensor *t = g_ptr_array_index (layer->weights, j);

          if (!read_exact (in, t->data, t->n_elements * sizeof (float), cancellable, &local))
            {
              if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                {
                  g_propagate_error (error, g_steal_pointer (&local));
                  return NULL;
                }
              DAMAGED ("tensor data");
            }
        }
      /* Layouts: what the loader set wins over the defaults finish () picks. */
      {
        g_autofree QsTensorLayout *layouts = g_new (QsTensorLayout, MAX (layer->weights->len, 1));
        for (guint j = 0; j < layer->weights->len; j++)
          layouts[j] = ((QsTensor *) g_ptr_array_index (layer->weights, j))->layout;
        _qs_keras_finish_layer_weights (layer);
        for (guint j = 0; j < layer->weights->len; j++)
          qs_tensor_set_layout (g_ptr_array_index (layer->weights, j), layouts[j]);
      }
    }

  model = _qs_model_build (architecture != NULL ? model_name : NULL, g_steal_pointer (&layers),
                           g_steal_pointer (&configs), architecture != NULL, error);
  if (model == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  g_free (model->name);
  model->name = g_strdup (member_string (root, "name"));
  model->keras_version = g_strdup (member_string (root, "keras_version"));
  model->backend = g_strdup (member_string (root, "backend"));
  {
    gint64 format = json_object_get_int_member_with_default (root, "format", 0);
    GEnumClass *klass = g_type_class_ref (QS_TYPE_MODEL_FORMAT);
    if (g_enum_get_value (klass, (gint) format) != NULL)
      model->format = (QsModelFormat) format;
    g_type_class_unref (klass);
  }
  model->path = g_strdup (path);
  if (architecture != NULL)
    model->architecture_json = g_strdup (architecture);
  return model;
#undef DAMAGED
}

/* Where the helper is: $QS_LOADER, beside the running program or one folder up (the build
 * tree: build/app/quantscope-cli, build/app/gui/quantscope), then LIBEXECDIR. */
static char *
find_loader (void)
{
  const char *env = g_getenv ("QS_LOADER");
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  if (exe != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (exe);
      g_autofree char *here = g_build_filename (dir, "quantscope-loader", NULL);
      g_autofree char *up = g_build_filename (dir, "..", "quantscope-loader", NULL);

      if (g_file_test (here, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&here);
      if (g_file_test (up, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&up);
    }
  {
    g_autofree char *installed = g_build_filename (LIBEXECDIR, "quantscope-loader", NULL);
    if (g_file_test (installed, G_FILE_TEST_IS_EXECUTABLE))
      return g_steal_pointer (&installed);
  }
  return NULL;
}

gboolean
qs_model_sandbox_available (void)
{
  g_autofree char *loader = NULL;

  if (g_strcmp0 (g_getenv ("QS_NO_SANDBOX"), "1") == 0)
    return FALSE;
  loader = find_loader ();
  return loader != NULL;
}

/* The parent's own deadline, in case the helper's (alarm, RLIMIT_CPU) is gone. */
typedef struct
{
  GMutex       lock;
  GCond        cond;
  gboolean     done;
  gboolean     fired;
  gint64       deadline;
  GSubprocess *proc;
} Watchdog;

static gpointer
watchdog_thread (gpointer data)
{
  Watchdog *w = data;

  g_mutex_lock (&w->lock);
  QS_TSAN_ACQUIRE (&w->lock);
  while (!w->done)
    {
      gboolean signalled;

      QS_TSAN_RELEASE (&w->lock);   /* the wait unlocks it, then locks it again */
      signalled = g_cond_wait_until (&w->cond, &w->lock, w->deadline);
      QS_TSAN_ACQUIRE (&w->lock);
      if (!signalled)
        {
          if (!w->done)
            {
              w->fired = TRUE;
              g_subprocess_force_exit (w->proc);
            }
          break;
        }
    }
  QS_TSAN_RELEASE (&w->lock);
  g_mutex_unlock (&w->lock);
  return NULL;
}

static void
on_cancelled (GCancellable *cancellable,
              GSubprocess  *proc)
{
  g_subprocess_force_exit (proc);
}

guint
qs_model_sandbox_timeout_seconds (gsize file_size)
{
  const char *env = g_getenv ("QS_LOADER_TIMEOUT");
  guint64 v;

  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 3600, &v, NULL))
    return (guint) v;
  /* 10 s plus 1 s per 50 MB: a 100 MB ResNet-50-size file loads in about 1.5 s here. */
  return 10 + (guint) (file_size / (50u << 20));
}

static void
set_stopped_error (GError     **error,
                   GQuark       domain,
                   gint         corrupt_code,
                   gint         too_large_code,
                   const char  *path,
                   int          sig,
                   gboolean     timed_out,
                   guint        timeout)
{
  if (timed_out || sig == SIGXCPU || sig == SIGALRM)
    g_set_error (error, domain, corrupt_code,
                 _("%s: reading the file took longer than %u s and was stopped; its HDF5 "
                   "structure is probably damaged (a loop)"), path, timeout);
  else if (sig == SIGSYS)
    g_set_error (error, domain, corrupt_code,
                 _("%s: the reader was stopped because reading the file tried something a "
                   "model file never needs (network, running programs or writing files)"),
                 path);
  else if (sig == SIGKILL || sig == SIGABRT)
    g_set_error (error, domain, too_large_code,
                 _("%s: the reader stopped (it ran out of its memory limit, or the file's "
                   "HDF5 structure is damaged)"), path);
  else
    g_set_error (error, domain, corrupt_code,
                 _("%s: the file's HDF5 structure is damaged; the reader crashed on it (%s)"),
                 path, g_strsignal (sig));
}

/* Reads the answer after the magic and a status of 0; TRUE when it has the result. */
typedef gboolean (*SandboxReader) (GInputStream  *in,
                                   gpointer       data,
                                   GError       **error);

/* Runs the loader with args on path, under the parent's own deadline and cancellable; an
 * error record or a crash becomes an error in domain (the record's code is one of the
 * domain's). */
static gboolean
sandbox_call (const char          *loader,
              const char * const  *args,
              const char          *path,
              GQuark               domain,
              gint                 corrupt_code,
              gint                 too_large_code,
              SandboxReader        reader,
              gpointer             reader_data,
              GCancellable        *cancellable,
              GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *timeout_str = NULL;
  GInputStream *out;
  GThread *thread;
  Watchdog w = { 0 };
  char magic[MAGIC_LEN];
  guint32 status = 0;
  gulong cancel_id = 0;
  gboolean have = FALSE, killed = FALSE;
  guint timeout;
  GStatBuf st;

  timeout = qs_model_sandbox_timeout_seconds (g_stat (path, &st) == 0 ? (gsize) st.st_size : 0);
  timeout_str = g_strdup_printf ("%u", timeout);
  g_ptr_array_add (argv, (gpointer) loader);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "QS_LOADER_TIMEOUT", timeout_str, TRUE);
  /* Under AddressSanitizer (tests, CI): LeakSanitizer's check at exit stops the world with
   * ptrace, which the reader's seccomp filter refuses, and it would then fail the reader.
   * The parent's own leak check is unaffected. Ignored by normal builds. */
  {
    const char *asan_env = g_getenv ("ASAN_OPTIONS");
    g_autofree char *asan = g_strconcat (asan_env != NULL ? asan_env : "",
                                         asan_env != NULL ? ":" : "", "detect_leaks=0", NULL);
    g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", asan, TRUE);
  }
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &local);
  if (proc == NULL)
    {
      g_set_error (error, domain, corrupt_code,
                   _("Cannot start the file reader %s: %s"), loader, local->message);
      return FALSE;
    }

  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  w.proc = proc;
  w.deadline = g_get_monotonic_time () + (gint64) (timeout + 2) * G_TIME_SPAN_SECOND;
  thread = g_thread_new ("qs-loader-watchdog", watchdog_thread, &w);
  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), proc, NULL);

  out = g_subprocess_get_stdout_pipe (proc);
  if (read_exact (out, magic, MAGIC_LEN, NULL, NULL) && memcmp (magic, MAGIC, MAGIC_LEN) == 0
      && read_exact (out, &status, sizeof status, NULL, NULL))
    {
      if (status == 0)
        have = reader (out, reader_data, &local);
      else if (status == 1)
        {
          guint32 code = 0, length = 0;
          g_autofree char *message = NULL;

          if (read_exact (out, &code, sizeof code, NULL, NULL)
              && read_exact (out, &length, sizeof length, NULL, NULL) && length <= MAX_MESSAGE_BYTES)
            {
              message = g_malloc0 (length + 1);
              if (read_exact (out, message, length, NULL, NULL) && g_utf8_validate (message, length, NULL))
                g_set_error_literal (&local, domain, (gint) code, message);
            }
        }
    }
  /* Drain and reap: the helper may still be writing when the parent gave up. */
  g_input_stream_close (out, NULL, NULL);
  if (!have)
    {
      killed = local != NULL;
      g_subprocess_force_exit (proc);
    }
  g_subprocess_wait (proc, NULL, NULL);

  g_mutex_lock (&w.lock);
  QS_TSAN_ACQUIRE (&w.lock);
  w.done = TRUE;
  g_cond_signal (&w.cond);
  QS_TSAN_RELEASE (&w.lock);
  g_mutex_unlock (&w.lock);
  g_thread_join (thread);
  g_mutex_clear (&w.lock);
  g_cond_clear (&w.cond);
  if (cancel_id != 0)
    g_cancellable_disconnect (cancellable, cancel_id);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (have && g_subprocess_get_successful (proc))
    return TRUE;
  if (local != NULL && (killed || !g_subprocess_get_if_signaled (proc)))
    g_propagate_error (error, g_steal_pointer (&local));
  else if (g_subprocess_get_if_signaled (proc))
    set_stopped_error (error, domain, corrupt_code, too_large_code, path,
                       g_subprocess_get_term_sig (proc), w.fired, timeout);
  else
    g_set_error (error, domain, corrupt_code,
                 _("%s: the file reader stopped without an answer (exit status %d)"), path,
                 g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1);
  return FALSE;
}

typedef struct
{
  const char *path;
  QsModel    *model;
} ModelRead;

static gboolean
read_model_answer (GInputStream  *in,
                   gpointer       data,
                   GError       **error)
{
  ModelRead *r = data;

  r->model = _qs_model_sandbox_read_model (in, r->path, NULL, error);
  return r->model != NULL;
}

QsModel *
qs_model_load_untrusted (const char    *path,
                         const char    *architecture_path,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autofree char *loader = NULL;
  g_autoptr(GError) local = NULL;
  ModelRead r = { path, NULL };
  const char *args[] = { "--", path, architecture_path, NULL };

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_strcmp0 (g_getenv ("QS_NO_SANDBOX"), "1") == 0 || (loader = find_loader ()) == NULL)
    {
      g_debug ("loading %s in-process (%s)", path,
               loader == NULL ? "no quantscope-loader found" : "QS_NO_SANDBOX=1");
      return qs_model_load (path, architecture_path, cancellable, error);
    }
  /* Cheap checks in the parent, so that the common mistakes get their usual words. */
  if (!qs_file_check_regular (path, &local))
    {
      g_set_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_NOT_FOUND,
                   _("Cannot open model “%s”: %s"), path, local->message);
      return NULL;
    }
  if (!sandbox_call (loader, args, path, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT,
                     QS_MODEL_ERROR_TOO_LARGE, read_model_answer, &r, cancellable, error))
    {
      g_clear_object (&r.model);
      return NULL;
    }
  return r.model;
}

/* --- HDF5 datasets: the arrays come back as (rank, dims, doubles) --- */

#define MAX_ARRAY_VALUES ((guint64) 1 << 31)   /* the in-process reader's limit */

static gboolean
write_array (int            fd,
             guint          rank,
             const guint64 *dims,
             const double  *values,
             GError       **error)
{
  guint32 r = rank;
  guint64 n = 1;

  for (guint d = 0; d < rank; d++)
    n *= dims[d];
  return write_all (fd, &r, sizeof r, error)
         && write_all (fd, dims, 4 * sizeof (guint64), error)
         && write_all (fd, values, n * sizeof (double), error);
}

static gboolean
write_name (int         fd,
            const char *name,
            GError    **error)
{
  guint32 len = (guint32) strlen (name);

  return write_all (fd, &len, sizeof len, error) && write_all (fd, name, len, error);
}

gboolean
_qs_dataset_sandbox_write_arrays (int                    fd,
                                  const QsDatasetArrays *a,
                                  GError               **error)
{
  guint32 status = 0;

  return write_all (fd, MAGIC, MAGIC_LEN, error)
         && write_all (fd, &status, sizeof status, error)
         && write_name (fd, a->x_name, error) && write_name (fd, a->y_name, error)
         && write_array (fd, a->x_rank, a->x_dims, a->x, error)
         && write_array (fd, a->y_rank, a->y_dims, a->y, error);
}

static gboolean
read_name (GInputStream *in,
           char        **out)
{
  guint32 len = 0;

  if (!read_exact (in, &len, sizeof len, NULL, NULL) || len > 4096)
    return FALSE;
  *out = g_malloc0 (len + 1);
  return read_exact (in, *out, len, NULL, NULL) && g_utf8_validate (*out, len, NULL);
}

static gboolean
read_array (GInputStream  *in,
            guint         *rank,
            guint64       *dims,
            double       **values)
{
  guint32 r = 0;
  guint64 n = 1;

  if (!read_exact (in, &r, sizeof r, NULL, NULL) || r < 1 || r > 4
      || !read_exact (in, dims, 4 * sizeof (guint64), NULL, NULL))
    return FALSE;
  for (guint d = 0; d < r; d++)
    {
      if (dims[d] > MAX_ARRAY_VALUES || (dims[d] != 0 && n > MAX_ARRAY_VALUES / dims[d]))
        return FALSE;
      n *= dims[d];
    }
  if (n > MAX_ARRAY_VALUES)
    return FALSE;
  *rank = r;
  *values = g_try_new (double, MAX (n, 1));
  return *values != NULL && read_exact (in, *values, n * sizeof (double), NULL, NULL);
}

typedef struct
{
  const char      *path;
  QsDatasetArrays *arrays;
} ArraysRead;

static gboolean
read_arrays_answer (GInputStream  *in,
                    gpointer       data,
                    GError       **error)
{
  ArraysRead *r = data;
  QsDatasetArrays *a = r->arrays;

  if (read_name (in, &a->x_name) && read_name (in, &a->y_name)
      && read_array (in, &a->x_rank, a->x_dims, &a->x)
      && read_array (in, &a->y_rank, a->y_dims, &a->y))
    return TRUE;
  g_set_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
               _("%s: the loader process sent a damaged answer (%s)"), r->path, "arrays");
  return FALSE;
}

gboolean
_qs_dataset_h5_arrays_read_untrusted (const char      *path,
                                      const char      *x_name,
                                      const char      *y_name,
                                      QsDatasetArrays *out,
                                      GError         **error)
{
  g_autofree char *loader = NULL;
  ArraysRead r = { path, out };
  const char *args[] = { "--h5-dataset", "--", path, x_name, y_name, NULL };
  gboolean ok;

  memset (out, 0, sizeof *out);
  if (g_strcmp0 (g_getenv ("QS_NO_SANDBOX"), "1") == 0 || (loader = find_loader ()) == NULL)
    {
      _qs_hdf5_lock ();
      ok = _qs_dataset_h5_arrays_read (path, x_name, y_name, out, error);
      _qs_hdf5_unlock ();
      return ok;
    }
  if (x_name == NULL)
    args[3] = NULL;
  if (!sandbox_call (loader, args, path, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT,
                     QS_DATASET_ERROR_FORMAT, read_arrays_answer, &r, NULL, error))
    {
      _qs_dataset_arrays_clear (out);
      return FALSE;
    }
  return TRUE;
}
