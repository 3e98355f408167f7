/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The live path, measured (not asserted): time from a config change to the new statistics
 * reaching the main thread, for a 1M-parameter Dense layer, and to the new quick accuracy of
 * the sample CNN (1,000 images, including the 150 ms debounce). Prints one line per number and
 * a JSON summary with --json. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "qs-document.h"

#define N_RUNS 15

typedef struct
{
  gboolean done;
  gint64   at;
} Signal;

static void
on_signal (Signal *signal)
{
  signal->done = TRUE;
  signal->at = g_get_monotonic_time ();
}

static void
wait_for (Signal *signal)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!signal->done)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out");
      g_main_context_iteration (NULL, TRUE);
    }
}

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

static QsModel *
big_dense_model (void)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *input = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);
  QsLayer *dense = qs_layer_new ("dense_1m", "Dense", QS_LAYER_DENSE);
  gsize kshape[] = { 1024, 1024 }, bshape[] = { 1024 };
  g_autoptr(GError) error = NULL;
  GRand *rand = g_rand_new_with_seed (42);
  QsTensor *kernel = qs_tensor_new ("dense_1m/kernel", 2, kshape, NULL);
  QsTensor *bias = qs_tensor_new ("dense_1m/bias", 1, bshape, NULL);
  QsModel *model;

  /* Roughly Gaussian weights with a few outliers, like a trained layer. */
  for (gsize i = 0; i < kernel->n_elements; i++)
    {
      double s = 0;
      for (int k = 0; k < 4; k++)
        s += g_rand_double (rand) - 0.5;
      kernel->data[i] = (float) (s * 0.05 * (g_rand_int_range (rand, 0, 1000) == 0 ? 8 : 1));
    }
  memset (bias->data, 0, sizeof (float) * 1024);
  qs_tensor_set_layout (kernel, QS_TENSOR_LAYOUT_DENSE);
  qs_tensor_set_layout (bias, QS_TENSOR_LAYOUT_VECTOR);
  g_rand_free (rand);

  input->output_rank = 1;
  input->output_shape[0] = 1024;
  input->inputs = g_new0 (guint, 1);
  dense->units = 1024;
  dense->n_inputs = 1;
  dense->inputs = g_new0 (guint, 1);
  dense->inputs[0] = 0;
  g_ptr_array_add (dense->weights, kernel);
  g_ptr_array_add (dense->weights, bias);
  g_ptr_array_add (layers, input);
  g_ptr_array_add (layers, dense);
  model = qs_model_new_from_layers ("bench", layers, &error);
  if (model == NULL)
    g_error ("%s", error->message);
  return model;
}

static void
set_bits (QsDocument *doc,
          const char *layer,
          guint       bits)
{
  const char *layers[] = { layer, NULL };
  QsLayerConfig lc;

  qs_config_get_layer (qs_document_get_config (doc), layer, &lc);
  lc.weight.format = QS_FORMAT_INT;
  lc.weight.bits = bits;
  qs_document_set_layer_config (doc, layers, &lc, "bench", NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr(QsModel) big = NULL;
  g_autoptr(QsDocument) doc = NULL;
  g_autoptr(QsModel) cnn = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cnn_path = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("quantscope-bench-XXXXXX", NULL);
  double layer_ms[N_RUNS], eval_ms[N_RUNS], compute_ms[N_RUNS], first_eval_ms;
  gboolean json = argc > 1 && g_strcmp0 (argv[1], "--json") == 0;
  const char *cnn_layer = NULL;

  g_setenv ("XDG_DATA_HOME", tmp, TRUE);

  /* 1. A 1M-parameter layer: change -> statistics (histograms and error map included). */
  big = big_dense_model ();
  doc = qs_document_new (big, NULL, NULL);
  qs_document_set_autosave_delay (doc, 0);
  for (guint run = 0; run < N_RUNS; run++)
    {
      Signal signal = { 0 };
      gulong id = g_signal_connect_swapped (doc, "layer-result-changed", G_CALLBACK (on_signal), &signal);
      gint64 start = g_get_monotonic_time ();

      set_bits (doc, "dense_1m", run % 2 ? 8 : 4);
      wait_for (&signal);
      g_signal_handler_disconnect (doc, id);
      layer_ms[run] = (signal.at - start) / 1000.0;
    }
  g_clear_object (&doc);

  /* 2. The sample CNN's quick accuracy on 1,000 images. */
  cnn_path = qs_data_find_file (QS_DATA_SAMPLE_MODEL, &error);
  if (cnn_path == NULL || (cnn = qs_model_load (cnn_path, NULL, NULL, &error)) == NULL
      || (dataset = qs_dataset_open ("sample", &error)) == NULL)
    g_error ("%s", error->message);
  doc = qs_document_new (cnn, NULL, dataset);
  qs_document_set_autosave_delay (doc, 0);
  for (guint i = 0; i < qs_model_get_n_layers (cnn) && cnn_layer == NULL; i++)
    if (qs_layer_get_kernel (qs_model_get_layer (cnn, i)) != NULL)
      cnn_layer = qs_model_get_layer (cnn, i)->name;

  {
    Signal signal = { 0 };
    gulong id = g_signal_connect_swapped (doc, "quick-eval-changed", G_CALLBACK (on_signal), &signal);
    gint64 start = g_get_monotonic_time ();

    qs_document_refresh (doc);
    wait_for (&signal);
    g_signal_handler_disconnect (doc, id);
    first_eval_ms = (signal.at - start) / 1000.0;
  }
  for (guint run = 0; run < N_RUNS; run++)
    {
      Signal signal = { 0 };
      gulong id = g_signal_connect_swapped (doc, "quick-eval-changed", G_CALLBACK (on_signal), &signal);
      gint64 start = g_get_monotonic_time ();

      set_bits (doc, cnn_layer, run % 2 ? 8 : 4);
      wait_for (&signal);
      g_signal_handler_disconnect (doc, id);
      eval_ms[run] = (signal.at - start) / 1000.0;
      if (qs_document_get_quick_eval (doc) == NULL)
        g_error ("quick accuracy failed: %s", qs_document_get_quick_eval_error (doc)->message);
      compute_ms[run] = qs_document_get_quick_eval (doc)->seconds * 1000.0;
    }

  {
    double layer_median = median (layer_ms, N_RUNS);   /* sorts: [0] is the minimum */
    double eval_median = median (eval_ms, N_RUNS);
    double compute_median = median (compute_ms, N_RUNS);

  if (json)
    printf ("{\"layer_1m_ms\": %.2f, \"layer_1m_min_ms\": %.2f, \"quick_eval_first_ms\": %.1f, "
            "\"quick_eval_ms\": %.1f, \"quick_eval_min_ms\": %.1f, \"quick_eval_compute_ms\": %.1f, "
            "\"debounce_ms\": 150}\n",
            layer_median, layer_ms[0], first_eval_ms, eval_median, eval_ms[0], compute_median);
  else
    {
      printf ("1M-parameter layer, change -> statistics: median %.2f ms, min %.2f ms (%d runs)\n",
              layer_median, layer_ms[0], N_RUNS);
      printf ("sample CNN quick accuracy (1,000 images), first run incl. calibration: %.1f ms\n",
              first_eval_ms);
      printf ("sample CNN quick accuracy, change -> accuracy: median %.1f ms, min %.1f ms "
              "(includes the 150 ms debounce; %d runs)\n",
              eval_median, eval_ms[0], N_RUNS);
      printf ("sample CNN quick accuracy, evaluation alone (after the debounce): median %.1f ms\n",
              compute_median);
    }
  }
  return 0;
}
