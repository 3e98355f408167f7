/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sandboxed model loader (core/qs-model-sandbox.c, app/loader/qs-loader.c): the model
 * it hands back equals an in-process load, bit for bit; a reader that crashes, hangs,
 * answers garbage or is cancelled becomes a specific error; the filter refuses what a
 * compromised reader would try. QS_LOADER names the helper (set by tests/meson.build). */
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"

static const char *sample_models[] = {
  "models/fmnist-cnn.h5", "models/fmnist-mlp.h5", "models/fmnist-mobilenet.h5",
  "models/fmnist-resnet.h5",
};

static gboolean
have_loader (void)
{
  if (!qs_model_sandbox_available ())
    {
      g_test_skip ("quantscope-loader not found (QS_LOADER unset)");
      return FALSE;
    }
  return TRUE;
}

static void
assert_models_equal (QsModel *a,
                     QsModel *b)
{
  g_assert_cmpuint (qs_model_get_n_layers (a), ==, qs_model_get_n_layers (b));
  g_assert_cmpint (qs_model_get_format (a), ==, qs_model_get_format (b));
  g_assert_cmpstr (qs_model_get_name (a), ==, qs_model_get_name (b));
  g_assert_cmpstr (qs_model_get_keras_version (a), ==, qs_model_get_keras_version (b));
  g_assert_cmpint (qs_model_can_infer (a, NULL), ==, qs_model_can_infer (b, NULL));
  for (guint i = 0; i < qs_model_get_n_layers (a); i++)
    {
      const QsLayer *la = qs_model_get_layer (a, i);
      const QsLayer *lb = qs_model_get_layer (b, i);

      g_assert_cmpstr (la->name, ==, lb->name);
      g_assert_cmpstr (la->class_name, ==, lb->class_name);
      g_assert_cmpint (la->kind, ==, lb->kind);
      g_assert_cmpuint (la->n_inputs, ==, lb->n_inputs);
      g_assert_cmpuint (la->weights->len, ==, lb->weights->len);
      g_assert_cmpuint (la->n_nonfinite, ==, lb->n_nonfinite);
      for (guint j = 0; j < la->weights->len; j++)
        {
          const QsTensor *ta = g_ptr_array_index (la->weights, j);
          const QsTensor *tb = g_ptr_array_index (lb->weights, j);

          g_assert_cmpstr (ta->name, ==, tb->name);
          g_assert_cmpuint (ta->n_dims, ==, tb->n_dims);
          g_assert_cmpint (ta->layout, ==, tb->layout);
          g_assert_cmpuint (ta->n_elements, ==, tb->n_elements);
          g_assert_cmpmem (ta->data, ta->n_elements * sizeof (float),
                           tb->data, tb->n_elements * sizeof (float));
        }
    }
}

static void
check_same (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) direct = qs_model_load (path, NULL, NULL, &error);
  g_autoptr(QsModel) sandboxed = NULL;

  g_assert_no_error (error);
  sandboxed = qs_model_load_untrusted (path, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_models_equal (direct, sandboxed);
}

static void
test_same_as_in_process (void)
{
  if (!have_loader ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sample_models); i++)
    {
      g_autofree char *path = qs_data_find_file (sample_models[i], NULL);
      g_assert_nonnull (path);
      check_same (path);
    }
}

/* The real Keras files of ../shared/models, when present: Keras 2 and 3, weights-only. */
static void
test_shared_models (void)
{
  const char *shared = g_getenv ("QS_SHARED_DIR");
  g_autofree char *dir = shared != NULL ? g_build_filename (shared, "models", NULL) : NULL;
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint n = 0;

  if (!have_loader ())
    return;
  if (dir == NULL || (d = g_dir_open (dir, 0, NULL)) == NULL)
    {
      g_test_skip ("../shared/models is absent");
      return;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr(QsModel) direct = NULL;
      g_autoptr(QsModel) sandboxed = NULL;
      g_autoptr(GError) e1 = NULL;
      g_autoptr(GError) e2 = NULL;

      if (!g_str_has_suffix (name, ".h5") && !g_str_has_suffix (name, ".keras"))
        continue;
      direct = qs_model_load (path, NULL, NULL, &e1);
      sandboxed = qs_model_load_untrusted (path, NULL, NULL, &e2);
      if (direct == NULL)
        {
          /* The same refusal, in the same words. */
          g_assert_nonnull (e2);
          g_assert_cmpint (e1->code, ==, e2->code);
          g_assert_cmpstr (e1->message, ==, e2->message);
          continue;
        }
      g_assert_no_error (e2);
      assert_models_equal (direct, sandboxed);
      n++;
    }
  g_assert_cmpuint (n, >, 0);
}

/* A file that is not a model: the reader's own error comes back unchanged. */
static void
test_error_passes_through (void)
{
  g_autoptr(GError) e1 = NULL;
  g_autoptr(GError) e2 = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("qs-sandbox-XXXXXX.h5", &path, NULL);
  g_autoptr(QsModel) m1 = NULL;
  g_autoptr(QsModel) m2 = NULL;

  if (!have_loader ())
    return;
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "\x89HDF\r\n\x1a\n garbage", 17), ==, 17);
  close (fd);
  m1 = qs_model_load (path, NULL, NULL, &e1);
  m2 = qs_model_load_untrusted (path, NULL, NULL, &e2);
  g_assert_null (m1);
  g_assert_null (m2);
  g_assert_error (e2, QS_MODEL_ERROR, e1->code);
  g_assert_cmpstr (e1->message, ==, e2->message);
  g_unlink (path);
}

/* A stand-in reader (a shell script) that misbehaves as HDF5 can. */
static char *
fake_loader (const char *body)
{
  g_autofree char *path = NULL;
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\n%s\n", body);
  int fd = g_file_open_tmp ("qs-fake-loader-XXXXXX", &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, script, strlen (script)), ==, (gssize) strlen (script));
  close (fd);
  g_chmod (path, 0700);
  return g_steal_pointer (&path);
}

static GError *
load_with (const char *loader_body,
           const char *timeout,
           GCancellable *cancellable)
{
  g_autofree char *loader = fake_loader (loader_body);
  g_autofree char *model = qs_data_find_file ("models/fmnist-mlp.h5", NULL);
  g_autofree char *saved = g_strdup (g_getenv ("QS_LOADER"));
  g_autoptr(QsModel) m = NULL;
  GError *error = NULL;

  g_setenv ("QS_LOADER", loader, TRUE);
  if (timeout != NULL)
    g_setenv ("QS_LOADER_TIMEOUT", timeout, TRUE);
  m = qs_model_load_untrusted (model, NULL, cancellable, &error);
  g_unsetenv ("QS_LOADER_TIMEOUT");
  if (saved != NULL)
    g_setenv ("QS_LOADER", saved, TRUE);
  else
    g_unsetenv ("QS_LOADER");
  g_unlink (loader);
  g_assert_null (m);
  g_assert_nonnull (error);
  return error;
}

static void
test_reader_crashes (void)
{
  g_autoptr(GError) error = load_with ("kill -SEGV $$", NULL, NULL);

  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "fmnist-mlp.h5"));
  g_assert_nonnull (strstr (error->message, "crashed"));
}

static void
test_reader_hangs (void)
{
  /* The script ignores its own alarm: the parent's deadline (timeout + 2 s) stops it. */
  g_autoptr(GError) error = load_with ("exec sleep 60", "1", NULL);

  g_assert_error (error, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "longer than 1 s"));
}

static void
test_reader_garbage (void)
{
  g_autoptr(GError) e1 = load_with ("printf 'QSLOADR1\\000\\000\\000\\000\\377\\377\\377\\377\\377\\377\\377\\177'", NULL, NULL);
  g_autoptr(GError) e2 = load_with ("echo hello", NULL, NULL);
  g_autoptr(GError) e3 = load_with ("exit 0", NULL, NULL);

  g_assert_error (e1, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (e1->message, "damaged answer"));
  g_assert_error (e2, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT);
  g_assert_error (e3, QS_MODEL_ERROR, QS_MODEL_ERROR_CORRUPT);
}

/* HDF5 dataset files go through the reader too: a crash there is a dataset error. */
static void
test_dataset_reader_crashes (void)
{
  g_autofree char *loader = fake_loader ("kill -SEGV $$");
  g_autofree char *saved = g_strdup (g_getenv ("QS_LOADER"));
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  int fd = g_file_open_tmp ("qs-sandbox-XXXXXX.h5", &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "\x89HDF\r\n\x1a\n garbage", 17), ==, 17);
  close (fd);
  g_setenv ("QS_LOADER", loader, TRUE);
  dataset = qs_dataset_open (path, &error);
  if (saved != NULL)
    g_setenv ("QS_LOADER", saved, TRUE);
  else
    g_unsetenv ("QS_LOADER");
  g_assert_null (dataset);
  g_assert_error (error, QS_DATASET_ERROR, QS_DATASET_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "crashed"));
  g_unlink (loader);
  g_unlink (path);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
cancel_thread (gpointer data)
{
  g_usleep (300 * 1000);
  cancel_later (data);
  return NULL;
}

static void
test_cancel (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GThread *t = g_thread_new ("cancel", cancel_thread, cancellable);
  g_autoptr(GError) error = load_with ("exec sleep 60", "30", cancellable);

  g_thread_join (t);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_filter_refuses (void)
{
  const char *loader = g_getenv ("QS_LOADER");
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  const char *argv[] = { loader, "--check-sandbox", NULL };

  if (!have_loader () || loader == NULL)
    return;
  g_auto(GStrv) env = g_get_environ ();

  /* As qs-model-sandbox.c: LeakSanitizer's exit check needs ptrace, which the filter
   * refuses. */
  {
    const char *asan_env = g_getenv ("ASAN_OPTIONS");
    g_autofree char *asan = g_strconcat (asan_env != NULL ? asan_env : "",
                                         asan_env != NULL ? ":" : "", "detect_leaks=0", NULL);
    env = g_environ_setenv (env, "ASAN_OPTIONS", asan, TRUE);
  }
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s", err);
  if (strstr (err, "seccomp: not built") != NULL)
    {
      g_test_skip ("built without libseccomp");
      return;
    }
  g_assert_nonnull (strstr (err, "seccomp: applied"));
  g_assert_null (strstr (err, "ALLOWED"));
  g_assert_nonnull (strstr (err, "run a program: refused"));
  g_assert_nonnull (strstr (err, "open a network socket: refused"));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/sandbox/same-as-in-process", test_same_as_in_process);
  g_test_add_func ("/qs/sandbox/shared-models", test_shared_models);
  g_test_add_func ("/qs/sandbox/error-passes-through", test_error_passes_through);
  g_test_add_func ("/qs/sandbox/reader-crashes", test_reader_crashes);
  g_test_add_func ("/qs/sandbox/reader-hangs", test_reader_hangs);
  g_test_add_func ("/qs/sandbox/reader-garbage", test_reader_garbage);
  g_test_add_func ("/qs/sandbox/cancel", test_cancel);
  g_test_add_func ("/qs/sandbox/dataset-reader-crashes", test_dataset_reader_crashes);
  g_test_add_func ("/qs/sandbox/filter-refuses", test_filter_refuses);
  return g_test_run ();
}
