/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "qs-dataset-window.h"
#include "qs-engine-float.h"
#include "test-sample.h"

/* The dataset dialog (issue 11): its preview shows the float model's predictions on the
 * preprocessed inputs; data that does not fit the model says both shapes; Apply sets the
 * document's dataset and preprocessing as one undo step, and undo brings the dataset's
 * preprocessing back with the config's. */

static QsModel *sample_model;
static char *tmp_dir;

static void
wait_preview (QsDatasetWindow *win)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (qs_dataset_window_get_preview_busy (win))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static QsDocument *
sample_document (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", &error);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", &error);
  QsDocument *doc;

  g_assert_no_error (error);
  qs_config_set_calib_images (config, 50);
  doc = qs_document_new (sample_model, config, dataset);
  qs_document_set_autosave_delay (doc, 0);
  return doc;
}

/* The preview's predictions are the float engine's argmax on the same inputs. */
static void
test_preview_predictions (void)
{
  g_autoptr(QsDocument) doc = sample_document ();
  QsDatasetWindow *win = qs_dataset_window_new (NULL, doc);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsEngineFloat) engine = qs_engine_float_new (sample_model, &error);
  QsDataset *dataset;
  float inputs[8 * 784];
  float outputs[8 * 10];

  qs_dataset_window_set_spec (win, "sample");
  wait_preview (win);
  dataset = qs_dataset_window_get_preview_dataset (win, NULL);
  g_assert_nonnull (dataset);
  g_assert_true (qs_dataset_fill_inputs (dataset, sample_model, 0, 8, inputs, &error));
  g_assert_true (qs_engine_float_run (engine, inputs, 8, outputs, 1, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 8; i++)
    {
      guint best = 0;

      for (guint k = 1; k < 10; k++)
        if (outputs[i * 10 + k] > outputs[i * 10 + best])
          best = k;
      g_assert_cmpint (qs_dataset_window_get_preview_prediction (win, i), ==, (gint) best);
    }
  gtk_window_destroy (GTK_WINDOW (win));
}

/* A .npy of n h x w byte images (pseudo-random). */
static void
write_npy (const char *path,
           guint       n,
           guint       h,
           guint       w)
{
  g_autoptr(GString) npy = g_string_new (NULL);
  g_autofree char *header = g_strdup_printf ("{'descr': '|u1', 'fortran_order': False, 'shape': (%u, %u, %u), }",
                                             n, h, w);
  gsize len = strlen (header);
  /* header padded with spaces to a multiple of 64, ending in \n */
  gsize total = ((10 + len + 1 + 63) / 64) * 64 - 10;
  guint16 hl = GUINT16_TO_LE ((guint16) total);

  g_string_append_len (npy, "\x93NUMPY\x01\x00", 8);
  g_string_append_len (npy, (const char *) &hl, 2);
  g_string_append (npy, header);
  for (gsize i = len; i + 1 < total; i++)
    g_string_append_c (npy, ' ');
  g_string_append_c (npy, '\n');
  for (guint i = 0; i < n * h * w; i++)
    g_string_append_c (npy, (char) ((i * 2654435761u) >> 24));
  g_assert_true (g_file_set_contents (path, npy->str, npy->len, NULL));
}

/* A .npy of 5x7 images against a 28x28 model: the error names both shapes. */
static void
test_shape_mismatch (void)
{
  g_autoptr(QsDocument) doc = sample_document ();
  QsDatasetWindow *win = qs_dataset_window_new (NULL, doc);
  g_autofree char *path = g_build_filename (tmp_dir, "small.npy", NULL);
  const char *message = NULL;

  write_npy (path, 3, 5, 7);

  qs_dataset_window_set_spec (win, path);
  wait_preview (win);
  g_assert_null (qs_dataset_window_get_preview_dataset (win, &message));
  g_assert_nonnull (message);
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, "28"));
  g_assert_nonnull (strstr (message, "5"));
  g_assert_false (qs_dataset_window_apply (win));
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
dataset_notified (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* Apply: one undo step; undo restores the config's preprocessing and the dataset's. */
static void
test_apply_and_undo (void)
{
  g_autoptr(QsDocument) doc = sample_document ();
  QsDatasetWindow *win = qs_dataset_window_new (NULL, doc);
  g_autofree char *pp = NULL;
  QsPreprocess raw, dflt;
  guint notified = 0;
  gint64 deadline;

  g_assert_true (qs_preprocess_parse (&raw, "-1..1", NULL));
  qs_preprocess_init (&dflt);
  g_assert_true (qs_dataset_window_set_preprocess (win, "-1..1"));
  qs_dataset_window_set_spec (win, "sample");
  wait_preview (win);
  g_assert_true (qs_preprocess_equal (qs_dataset_get_preprocess (qs_dataset_window_get_preview_dataset (win, NULL)), &raw));
  g_assert_false (qs_document_can_undo (doc));
  g_assert_true (qs_dataset_window_apply (win));
  g_assert_true (qs_preprocess_equal (qs_config_get_preprocess (qs_document_get_config (doc)), &raw));
  g_assert_true (qs_preprocess_equal (qs_dataset_get_preprocess (qs_document_get_dataset (doc)), &raw));
  g_assert_cmpstr (qs_document_get_dataset_spec (doc), ==, "sample");
  g_assert_true (qs_document_can_undo (doc));
  {
    g_autofree char *json = qs_document_to_session_json (doc);

    g_assert_nonnull (strstr (json, "preprocessing"));
  }

  g_signal_connect (doc, "notify::dataset", G_CALLBACK (dataset_notified), &notified);
  g_assert_true (qs_document_undo (doc));
  g_assert_true (qs_preprocess_equal (qs_config_get_preprocess (qs_document_get_config (doc)), &dflt));
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (notified == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (qs_preprocess_equal (qs_dataset_get_preprocess (qs_document_get_dataset (doc)), &dflt));
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Your own data calibrates itself (as the command line does): applying it moves the
 * config's calibration from the bundled training images to it, in the same undo step, the
 * quick accuracy then runs, and going back to the bundled sample restores the default. */
static void
test_calibration_follows_data (void)
{
  g_autoptr(QsDocument) doc = sample_document ();
  QsDatasetWindow *win = qs_dataset_window_new (NULL, doc);
  g_autofree char *path = g_build_filename (tmp_dir, "own.npy", NULL);
  const char *default_calib = qs_config_get_default_calib_source ();
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  write_npy (path, 40, 28, 28);
  g_assert_cmpstr (qs_config_get_calib_source (qs_document_get_config (doc)), ==, default_calib);
  qs_dataset_window_set_spec (win, path);
  wait_preview (win);
  g_assert_true (qs_dataset_window_apply (win));
  g_assert_cmpstr (qs_config_get_calib_source (qs_document_get_config (doc)), ==, path);
  g_assert_cmpstr (qs_document_get_undo_label (doc), ==, "Dataset");
  qs_document_refresh (doc);
  while (qs_document_get_quick_eval (doc) == NULL && qs_document_get_quick_eval_error (doc) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_null (qs_document_get_quick_eval_error (doc));
  g_assert_cmpuint (qs_document_get_quick_eval (doc)->n_images, ==, 40);

  qs_dataset_window_set_spec (win, "sample");
  wait_preview (win);
  g_assert_true (qs_dataset_window_apply (win));
  g_assert_cmpstr (qs_config_get_calib_source (qs_document_get_config (doc)), ==, default_calib);

  /* a calibration set the config names stays */
  {
    g_autoptr(QsConfig) named = qs_config_copy (qs_document_get_config (doc));
    g_autofree char *calib = g_build_filename (tmp_dir, "calib.npy", NULL);

    write_npy (calib, 16, 28, 28);
    qs_config_set_calib_source (named, calib);
    qs_document_set_config (doc, named, "named calibration");
    qs_dataset_window_set_spec (win, path);
    wait_preview (win);
    g_assert_true (qs_dataset_window_apply (win));
    g_assert_cmpstr (qs_config_get_calib_source (qs_document_get_config (doc)), ==, calib);
  }
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  int ret;

  tmp_dir = g_dir_make_tmp ("quantscope-test-dataset-window-XXXXXX", NULL);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);
  test_gui_init_or_skip (&argc, &argv);

  sample_model = test_load_sample_model_or_skip ();

  g_test_add_func ("/qs/dataset-window/preview-predictions", test_preview_predictions);
  g_test_add_func ("/qs/dataset-window/shape-mismatch-names-shapes", test_shape_mismatch);
  g_test_add_func ("/qs/dataset-window/apply-and-undo", test_apply_and_undo);
  g_test_add_func ("/qs/dataset-window/calibration-follows-data", test_calibration_follows_data);

  ret = g_test_run ();
  g_clear_object (&sample_model);
  return ret;
}
