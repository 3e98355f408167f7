/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "qs-qat-window.h"
#include "test-sample.h"

/* The Fine-tune with Quantization dialog (issue 11): a tiny run (1 epoch, 3 batches) on the
 * sample model ends with the accuracies the core computes for the same fine-tuning done
 * independently with the core API, and the files it saves hold exactly what it measured;
 * Cancel mid-run leaves the document's config untouched; saving over the open model is
 * refused with a message and leaves the model's bytes alone. */

#define EVAL_IMAGES 200
#define MAX_BATCHES 3
#define LEARNING_RATE 5e-4

static QsModel *sample_model;
static QsDataset *sample;
static char *tmp_dir;

static QsDocument *
new_document (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w4a8", &error);
  QsDocument *doc;

  g_assert_no_error (error);
  qs_config_set_calib_images (config, 50);
  doc = qs_document_new (sample_model, config, NULL);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_dataset (doc, "sample", NULL, sample);
  qs_document_set_quick_subset (doc, EVAL_IMAGES);
  return doc;
}

/* Runs the main loop until the dialog leaves RUNNING (the meson timeout bounds it). */
static void
wait_not_running (QsQatWindow *win)
{
  while (qs_qat_window_get_state (win) == QS_QAT_STATE_RUNNING)
    g_main_context_iteration (NULL, TRUE);
}

static char *
percent (double top1)
{
  return g_strdup_printf ("%.2f %%", 100.0 * top1);
}

static double
quant_top1 (QsModel  *model,
            QsConfig *config,
            double   *float_top1)
{
  g_autoptr(GError) error = NULL;
  QsEvalOptions options = { .limit = EVAL_IMAGES };
  g_autoptr(QsEvalResult) result = qs_eval_run (model, config, sample, &options, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (result->n_images, ==, EVAL_IMAGES);
  if (float_top1 != NULL)
    *float_top1 = result->float_top1;
  return result->quant_top1;
}

static QsQatWindow *
run_tiny (QsDocument *doc)
{
  QsQatWindow *win = qs_qat_window_new (NULL, doc);

  qs_qat_window_set_budget (win, 1, LEARNING_RATE, MAX_BATCHES);
  qs_qat_window_start (win);
  g_assert_cmpint (qs_qat_window_get_state (win), ==, QS_QAT_STATE_RUNNING);
  wait_not_running (win);
  if (qs_qat_window_get_error (win) != NULL)
    g_error ("QAT failed: %s", qs_qat_window_get_error (win)->message);
  g_assert_cmpint (qs_qat_window_get_state (win), ==, QS_QAT_STATE_DONE);
  return win;
}

static void
test_run_matches_core (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  QsQatWindow *win = run_tiny (doc);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsTrainNet) float_net = NULL;
  g_autoptr(QsTrainNet) net = NULL;
  g_autoptr(QsDataset) train_set = NULL;
  g_autoptr(QsTrainData) train = NULL;
  g_autoptr(QsConfig) qat_config = NULL;
  g_autoptr(QsModel) qat_model = NULL;
  g_autoptr(QsModel) saved_model = NULL;
  g_autoptr(QsConfig) saved_config = NULL;
  g_autofree char *ptq_text = NULL, *float_text = NULL, *qat_text = NULL, *delta_text = NULL;
  g_autofree char *out = g_build_filename (tmp_dir, "cnn-qat.h5", NULL);
  g_autofree char *out_config = qs_qat_window_config_path_for (out);
  g_autoptr(GFile) out_file = g_file_new_for_path (out);
  QsTrainOptions options;
  double float_top1, ptq_top1, qat_top1;

  /* the same fine-tuning with the core API: the training split the dialog says it uses,
   * the CLI's schedule, the dialog's budget */
  float_net = qs_train_net_new_from_model (sample_model, &error);
  g_assert_no_error (error);
  net = qs_train_net_new_qat (float_net, qs_document_get_config (doc), &error);
  g_assert_no_error (error);
  train_set = qs_dataset_open_full ("sample-train", NULL, qs_config_get_preprocess (qs_document_get_config (doc)), &error);
  g_assert_no_error (error);
  train = qs_train_data_new_from_dataset (train_set, 0, &error);
  g_assert_no_error (error);
  qs_train_options_init (&options);
  options.epochs = 1;
  options.batch_size = 64;
  options.seed = 1;
  options.learning_rate = LEARNING_RATE;
  options.cosine_decay = TRUE;
  options.max_batches = MAX_BATCHES;
  g_assert_true (qs_train_net_fit (net, train, &options, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  qat_config = qs_train_net_get_qat_config (net, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_config_get_n_activation_ranges (qat_config), >, 0);
  qat_model = qs_train_net_to_model (net, "independent", &error);
  g_assert_no_error (error);

  ptq_top1 = quant_top1 (sample_model, qs_document_get_config (doc), &float_top1);
  qat_top1 = quant_top1 (qat_model, qat_config, NULL);
  float_text = percent (float_top1);
  ptq_text = percent (ptq_top1);
  qat_text = percent (qat_top1);
  delta_text = g_strdup_printf ("%+.2f points", 100.0 * (qat_top1 - ptq_top1));
  g_test_message ("float %s, PTQ %s, QAT %s (%s)", float_text, ptq_text, qat_text, delta_text);
  g_assert_cmpstr (qs_qat_window_get_table_text (win, "float"), ==, float_text);
  g_assert_cmpstr (qs_qat_window_get_table_text (win, "ptq"), ==, ptq_text);
  g_assert_cmpstr (qs_qat_window_get_table_text (win, "qat"), ==, qat_text);
  g_assert_cmpstr (qs_qat_window_get_table_text (win, "delta"), ==, delta_text);
  /* the curve saw every batch */
  g_assert_cmpuint (qs_qat_window_get_n_batches_seen (win), ==, MAX_BATCHES);

  /* what is saved is what was measured: the .h5 and its config read back to the same QAT
   * accuracy on the integer engine */
  g_assert_true (qs_qat_window_save (win, out_file, &error));
  g_assert_no_error (error);
  saved_model = qs_model_load (out, NULL, NULL, &error);
  g_assert_no_error (error);
  saved_config = qs_config_load_file (out_config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_config_get_n_activation_ranges (saved_config), ==,
                    qs_config_get_n_activation_ranges (qat_config));
  g_assert_cmpfloat (quant_top1 (saved_model, saved_config, NULL), ==, qat_top1);

  /* the document is untouched by all of it */
  g_assert_false (qs_document_can_undo (doc));
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_cancel_leaves_document (void)
{
  g_autoptr(QsDocument) doc = new_document ();
  g_autofree char *before = qs_config_to_json (qs_document_get_config (doc));
  g_autofree char *after = NULL;
  QsQatWindow *win = qs_qat_window_new (NULL, doc);

  /* whole epochs: far more batches than the test waits for */
  qs_qat_window_set_budget (win, 3, LEARNING_RATE, 0);
  qs_qat_window_start (win);
  while (qs_qat_window_get_n_batches_seen (win) < 2)
    {
      g_assert_cmpint (qs_qat_window_get_state (win), ==, QS_QAT_STATE_RUNNING);
      g_main_context_iteration (NULL, TRUE);
    }
  qs_qat_window_cancel (win);
  wait_not_running (win);
  g_assert_cmpint (qs_qat_window_get_state (win), ==, QS_QAT_STATE_CANCELLED);
  g_assert_error (qs_qat_window_get_error (win), G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (qs_qat_window_get_model (win));
  g_assert_null (qs_qat_window_get_config (win));
  /* stopped within a batch: nowhere near the 3 x 157 of the run */
  g_assert_cmpuint (qs_qat_window_get_n_batches_seen (win), <, 157);

  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (after, ==, before);
  g_assert_false (qs_document_can_undo (doc));
  g_assert_false (qs_document_get_modified (doc));
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
test_save_refuses_open_model (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsDocument) doc = new_document ();
  const char *model_path = qs_model_get_path (sample_model);
  g_autofree char *link = g_build_filename (tmp_dir, "alias.h5", NULL);
  g_autofree char *bytes_before = NULL, *bytes_after = NULL;
  gsize len_before, len_after;
  QsQatWindow *win;

  g_assert_nonnull (model_path);
  g_assert_true (g_file_get_contents (model_path, &bytes_before, &len_before, NULL));
  /* saving before a run finished has nothing to write */
  {
    g_autoptr(QsDocument) other = new_document ();
    QsQatWindow *idle = qs_qat_window_new (NULL, other);
    g_autoptr(GFile) file = g_file_new_for_path (link);

    g_assert_false (qs_qat_window_save (idle, file, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
    g_clear_error (&error);
    gtk_window_destroy (GTK_WINDOW (idle));
  }

  win = run_tiny (doc);
  {
    g_autoptr(GFile) same = g_file_new_for_path (model_path);

    g_assert_false (qs_qat_window_save (win, same, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_nonnull (strstr (error->message, "open model"));
    g_clear_error (&error);
  }
  /* another name of the same file is the same file */
  g_assert_cmpint (symlink (model_path, link), ==, 0);
  {
    g_autoptr(GFile) alias = g_file_new_for_path (link);

    g_assert_false (qs_qat_window_save (win, alias, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
  }
  /* not a .h5: its config would go where the name points */
  {
    g_autofree char *json = g_build_filename (tmp_dir, "model.json", NULL);
    g_autoptr(GFile) file = g_file_new_for_path (json);

    g_assert_false (qs_qat_window_save (win, file, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_FILENAME);
    g_clear_error (&error);
    g_assert_false (g_file_test (json, G_FILE_TEST_EXISTS));
  }
  g_assert_true (g_file_get_contents (model_path, &bytes_after, &len_after, NULL));
  g_assert_cmpuint (len_after, ==, len_before);
  g_assert_true (memcmp (bytes_after, bytes_before, len_before) == 0);
  g_unlink (link);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Input [28, 28, 1] -> Flatten -> Dense (10, tanh): the engines run it, the trainer does not
 * train tanh. */
static QsModel *
tanh_model (void)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  QsLayer *dense = qs_layer_new ("squash", "Dense", QS_LAYER_DENSE);
  gsize kshape[2] = { 28 * 28, 10 }, bshape[1] = { 10 };
  QsTensor *kernel = qs_tensor_new ("squash/kernel", 2, kshape, NULL);
  QsTensor *bias = qs_tensor_new ("squash/bias", 1, bshape, NULL);
  QsModel *model;

  for (gsize i = 0; i < kernel->n_elements; i++)
    kernel->data[i] = (float) ((i * 7919) % 200) / 1000.0f - 0.1f;
  in->output_rank = 3;
  in->output_shape[0] = 28;
  in->output_shape[1] = 28;
  in->output_shape[2] = 1;
  flat->n_inputs = 1;
  flat->inputs = g_new0 (guint, 1);
  dense->n_inputs = 1;
  dense->inputs = g_new (guint, 1);
  dense->inputs[0] = 1;
  dense->units = 10;
  dense->use_bias = TRUE;
  dense->activation = QS_ACTIVATION_TANH;
  g_ptr_array_add (dense->weights, kernel);
  g_ptr_array_add (dense->weights, bias);
  g_ptr_array_add (layers, in);
  g_ptr_array_add (layers, flat);
  g_ptr_array_add (layers, dense);
  model = qs_model_new_from_layers ("tanh", layers, &error);
  g_assert_no_error (error);
  return model;
}

static void
test_unsupported_layer_is_shown (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = tanh_model ();
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", &error);
  g_autoptr(QsDocument) doc = NULL;
  g_autofree char *before = NULL, *after = NULL;
  QsQatWindow *win;
  const GError *failure;

  g_assert_no_error (error);
  doc = qs_document_new (model, config, NULL);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_dataset (doc, "sample", NULL, sample);
  qs_document_set_quick_subset (doc, EVAL_IMAGES);
  before = qs_config_to_json (qs_document_get_config (doc));
  win = qs_qat_window_new (NULL, doc);
  qs_qat_window_set_budget (win, 1, LEARNING_RATE, MAX_BATCHES);
  qs_qat_window_start (win);
  wait_not_running (win);
  g_assert_cmpint (qs_qat_window_get_state (win), ==, QS_QAT_STATE_FAILED);
  failure = qs_qat_window_get_error (win);
  g_assert_error (failure, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED);
  /* the core's message, naming the layer, is what the dialog shows */
  g_assert_nonnull (strstr (failure->message, "squash"));
  g_assert_cmpstr (qs_qat_window_get_status_text (win), ==, failure->message);
  g_assert_null (qs_qat_window_get_model (win));
  after = qs_config_to_json (qs_document_get_config (doc));
  g_assert_cmpstr (after, ==, before);
  /* and it can start again (failing the same way) without a crash */
  qs_qat_window_start (win);
  wait_not_running (win);
  g_assert_cmpint (qs_qat_window_get_state (win), ==, QS_QAT_STATE_FAILED);
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config_home = NULL, *data_home = NULL;
  int ret;

  tmp_dir = g_dir_make_tmp ("quantscope-test-qat-window-XXXXXX", NULL);
  config_home = g_build_filename (tmp_dir, "config", NULL);
  data_home = g_build_filename (tmp_dir, "data", NULL);
  g_setenv ("XDG_CACHE_HOME", tmp_dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);
  test_gui_init_or_skip (&argc, &argv);

  sample_model = test_load_sample_model_or_skip ();
  sample = qs_dataset_open ("sample", &error);
  if (sample == NULL)
    {
      g_print ("1..0 # SKIP sample dataset not available: %s\n", error->message);
      return 0;
    }

  g_test_add_func ("/qs/qat-window/run-matches-core", test_run_matches_core);
  g_test_add_func ("/qs/qat-window/cancel-leaves-document", test_cancel_leaves_document);
  g_test_add_func ("/qs/qat-window/save-refuses-open-model", test_save_refuses_open_model);
  g_test_add_func ("/qs/qat-window/unsupported-layer-is-shown", test_unsupported_layer_is_shown);

  ret = g_test_run ();
  g_clear_object (&sample);
  g_clear_object (&sample_model);
  return ret;
}
