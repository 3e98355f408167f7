/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The live path, measured (not asserted): time from a config change to the new statistics
 * reaching the main thread, for a 1M-parameter Dense layer, and to the new quick accuracy of
 * the sample CNN (1,000 images, including the 50 ms debounce); then a big synthetic MLP
 * (issue 17: 4096 -> Dense 4096 -> Dense N -> Dense 10, 25M parameters by default, another
 * size with --synthetic-params 16M or QS_BENCH_SYNTHETIC_PARAMS): first open, tuning the
 * 16.8M-parameter layer and a preset, each with the longest main-loop stall seen by a 10 ms
 * probe; then an ImageNet-sized CNN with 512 images of its own (the synthetic ResNet-18, or
 * --cnn-model FILE; --cnn-only for this part alone): one-layer edit and preset -> first
 * answer of the quick accuracy and final one. Prints one line per number and a JSON
 * summary with --json. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "qs-document.h"
#include "qs-layer-page.h"

#define N_RUNS 15
#define N_BIG_RUNS 8

/* The main-loop stall probe: a 10 ms timeout that records the longest gap between ticks. */
static gint64 probe_last;
static gint64 probe_max_gap;

static gboolean
probe_tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  probe_max_gap = MAX (probe_max_gap, now - probe_last);
  probe_last = now;
  return G_SOURCE_CONTINUE;
}

/* The main thread's own CPU time per main-loop iteration: what the callbacks cost, without
 * the time the thread waited for a core on a loaded machine (which the probe also sees). */
static gint64 busy_max;

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static double trace_ms = -1;   /* QS_BENCH_TRACE_MS: print every iteration that costs more */

static void
iterate_measured (void)
{
  gint64 t0 = thread_cpu_us ();
  gint64 w0 = g_get_monotonic_time ();
  gint64 busy;

  g_main_context_iteration (NULL, TRUE);
  busy = thread_cpu_us () - t0;
  busy_max = MAX (busy_max, busy);
  if (trace_ms >= 0 && busy / 1000.0 > trace_ms)
    g_printerr ("trace: iteration at %.1f ms: %.2f ms CPU, %.2f ms wall\n",
                w0 / 1000.0, busy / 1000.0, (g_get_monotonic_time () - w0) / 1000.0);
}

static void
probe_reset (void)
{
  probe_last = g_get_monotonic_time ();
  probe_max_gap = 0;
  busy_max = 0;
}

static double
probe_max_ms (void)
{
  return probe_max_gap / 1000.0;
}

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

static guint64
parse_params (const char *text)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);

  if (end != NULL && (*end == 'M' || *end == 'm'))
    v *= 1e6;
  else if (end != NULL && (*end == 'k' || *end == 'K'))
    v *= 1e3;
  return v > 0 ? (guint64) v : 25000000;
}

static gboolean
layer_has_result (QsDocument *doc,
                  const char *layer,
                  gboolean    exact)
{
  QsQuantResult *r = qs_document_get_layer_result (doc, layer);

  return r != NULL && (!exact || !r->is_estimate);
}

static gboolean
all_layers_done (QsDocument *doc,
                 gboolean    exact)
{
  QsModel *model = qs_document_get_model (doc);

  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);

      if (qs_document_get_layer_error (doc, layer->name) != NULL)
        g_error ("%s: %s", layer->name, qs_document_get_layer_error (doc, layer->name)->message);
      if (qs_layer_get_kernel (layer) != NULL && !layer_has_result (doc, layer->name, exact))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  double first_ms;       /* the big layer's first statistics (estimate or exact) */
  double exact_ms;       /* its exact statistics */
  double all_ms;         /* every layer has statistics (the summary is complete) */
  double all_exact_ms;   /* every layer's statistics are exact */
  double stall_ms;       /* longest gap between 10 ms probe ticks */
  double busy_ms;        /* longest main-thread CPU time in one main-loop iteration */
  gboolean estimate;     /* the first answer was an estimate */
} BigTiming;

/* Runs the main loop until the big layer and the model have exact statistics. */
static void
wait_big (QsDocument *doc,
          gint64      start,
          BigTiming  *t)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  t->first_ms = t->exact_ms = t->all_ms = t->all_exact_ms = -1;
  while (t->all_exact_ms < 0)
    {
      double now = (g_get_monotonic_time () - start) / 1000.0;

      if (t->first_ms < 0 && layer_has_result (doc, "dense_16m", FALSE))
        {
          t->first_ms = now;
          t->estimate = qs_document_get_layer_result (doc, "dense_16m")->is_estimate;
        }
      if (t->exact_ms < 0 && layer_has_result (doc, "dense_16m", TRUE))
        t->exact_ms = now;
      if (t->all_ms < 0 && all_layers_done (doc, FALSE))
        t->all_ms = now;
      if (t->all_exact_ms < 0 && all_layers_done (doc, TRUE))
        t->all_exact_ms = now;
      if (t->all_exact_ms >= 0)
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out");
      iterate_measured ();
    }
  t->stall_ms = probe_max_ms ();
  t->busy_ms = busy_max / 1000.0;
}

/* Keeps the main loop running for ms milliseconds (frames are drawn), measured. */
static void
settle (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    iterate_measured ();
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

/* --- 5. an ImageNet-sized CNN with its own images (issue 16): change -> first answer --- */

typedef struct
{
  QsDocument *doc;
  gint64      first_at;   /* the first chunk of the new config's quick accuracy */
  gint64      final_at;
  guint       first_images;
} LiveTiming;

static void
on_live_progress (LiveTiming *t)
{
  const QsEvalPartial *p = qs_document_get_quick_eval_partial (t->doc);

  if (p != NULL && t->first_at == 0)
    {
      t->first_at = g_get_monotonic_time ();
      t->first_images = p->n_images;
    }
}

static void
on_live_final (LiveTiming *t)
{
  if (t->first_at == 0)
    t->first_at = g_get_monotonic_time ();
  t->final_at = g_get_monotonic_time ();
}

/* Runs change (doc) and the main loop until the new quick accuracy is final. */
static void
live_change (QsDocument *doc,
             void      (*change) (QsDocument *doc, guint run),
             guint       run,
             double     *first_ms,
             double     *final_ms,
             guint      *first_images)
{
  LiveTiming t = { doc, 0, 0, 0 };
  gulong a = g_signal_connect_swapped (doc, "quick-eval-progress", G_CALLBACK (on_live_progress), &t);
  gulong b = g_signal_connect_swapped (doc, "quick-eval-changed", G_CALLBACK (on_live_final), &t);
  gint64 start = g_get_monotonic_time (), deadline = start + 300 * G_USEC_PER_SEC;

  change (doc, run);
  while (t.final_at == 0)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out");
      iterate_measured ();
    }
  g_signal_handler_disconnect (doc, a);
  g_signal_handler_disconnect (doc, b);
  if (qs_document_get_quick_eval (doc) == NULL)
    g_error ("quick accuracy failed: %s", qs_document_get_quick_eval_error (doc)->message);
  *first_ms = (t.first_at - start) / 1000.0;
  *final_ms = (t.final_at - start) / 1000.0;
  *first_images = t.first_images;
}

static const char *live_edited;

static void
change_edit (QsDocument *doc,
             guint       run)
{
  set_bits (doc, live_edited, run % 2 ? 8 : 4);
}

static void
change_preset (QsDocument *doc,
               guint       run)
{
  g_autoptr(GError) error = NULL;

  if (!qs_document_apply_preset (doc, run % 2 ? "w8a8" : "w4a8", NULL, &error))
    g_error ("%s", error->message);
}

static void
change_refresh (QsDocument *doc,
                guint       run)
{
  qs_document_refresh (doc);
}

#define N_LIVE_RUNS 6

/* The synthetic ResNet-18 at 224x224x3 (or model_path), 512 random images of its input
 * shape with random labels as its own dataset, calibrated on 64 of them: the time from a
 * one-layer edit (its biggest kernel, 4 <-> 8 bits) and from a preset (w4a8 <-> w8a8) to
 * the first answer on screen and to the final quick accuracy, the debounce included. */
static void
bench_live_cnn (const char *tmp,
                const char *model_path,
                gboolean    json)
{
  const guint n = 512;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsDocument) doc = NULL;
  g_autofree char *x_path = g_build_filename (tmp, "live-x.npy", NULL);
  g_autofree char *y_path = g_build_filename (tmp, "live-y.npy", NULL);
  g_autofree char *name = NULL, *saved_path = NULL;
  double open_first, open_final, edit_first[N_LIVE_RUNS], edit_final[N_LIVE_RUNS];
  double preset_first[N_LIVE_RUNS], preset_final[N_LIVE_RUNS], edit_images[N_LIVE_RUNS];
  double preset_images[N_LIVE_RUNS], edit_median, preset_median;
  gsize h, w, c, edited_params = 0;
  guint64 n_params = 0;
  guint images;
  const QsLayer *input;

  /* from a file, as the app has it (calibrations are cached by the file's checksum) */
  if (model_path == NULL)
    {
      g_autoptr(QsModel) built = qs_synthetic_resnet18 (224, 1000, &error);

      saved_path = g_build_filename (tmp, "resnet18.h5", NULL);
      if (built == NULL || !qs_synthetic_settle_batch_norm (built, 4, 99, &error)
          || !qs_model_save (built, saved_path, NULL, &error))
        g_error ("%s", error ? error->message : "?");
    }
  model = qs_model_load (model_path ? model_path : saved_path, NULL, NULL, &error);
  if (model == NULL)
    g_error ("%s", error->message);
  name = model_path ? g_path_get_basename (model_path) : g_strdup ("synthetic ResNet-18");
  input = qs_model_get_layer (model, 0);
  g_assert (input->output_rank == 3);
  h = input->output_shape[0];
  w = input->output_shape[1];
  c = input->output_shape[2];
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      QsTensor *kernel = qs_layer_get_kernel (qs_model_get_layer (model, i));

      n_params += qs_model_get_layer (model, i)->n_params;
      if (kernel != NULL && kernel->n_elements > edited_params)
        {
          live_edited = qs_model_get_layer (model, i)->name;
          edited_params = kernel->n_elements;
        }
    }

  if (!qs_synthetic_write_dataset (x_path, y_path, n, h, w, c, 1000, 16, &error))
    g_error ("%s", error->message);
  if ((dataset = qs_dataset_open_full (x_path, y_path, NULL, &error)) == NULL)
    g_error ("%s", error->message);
  qs_config_set_calib_source (config, x_path);
  qs_config_set_calib_images (config, 64);

  doc = qs_document_new (model, config, dataset);
  qs_document_set_autosave_delay (doc, 0);
  qs_document_set_quick_subset (doc, n);
  live_change (doc, change_refresh, 0, &open_first, &open_final, &images);
  for (guint run = 0; run < N_LIVE_RUNS; run++)
    {
      live_change (doc, change_edit, run, &edit_first[run], &edit_final[run], &images);
      edit_images[run] = images;
      if (g_getenv ("QS_BENCH_VERBOSE") != NULL)
        g_printerr ("edit %u: first %.1f ms (%u images), final %.1f ms\n", run,
                    edit_first[run], images, edit_final[run]);
    }
  for (guint run = 0; run < N_LIVE_RUNS; run++)
    {
      live_change (doc, change_preset, run, &preset_first[run], &preset_final[run], &images);
      preset_images[run] = images;
      if (g_getenv ("QS_BENCH_VERBOSE") != NULL)
        g_printerr ("preset %u: first %.1f ms (%u images), final %.1f ms\n", run,
                    preset_first[run], images, preset_final[run]);
    }
  g_unlink (x_path);
  g_unlink (y_path);
  if (saved_path != NULL)
    g_unlink (saved_path);
  /* medians first: median () sorts, [N - 1] is then the maximum */
  edit_median = median (edit_first, N_LIVE_RUNS);
  preset_median = median (preset_first, N_LIVE_RUNS);

  if (json)
    printf ("{\"live_cnn\": \"%s\", \"live_cnn_params\": %" G_GUINT64_FORMAT ", "
            "\"live_cnn_open_first_ms\": %.1f, \"live_cnn_open_final_ms\": %.1f, "
            "\"live_cnn_edit_first_ms\": %.1f, \"live_cnn_edit_first_max_ms\": %.1f, "
            "\"live_cnn_edit_final_ms\": %.1f, \"live_cnn_edit_first_images\": %.0f, "
            "\"live_cnn_preset_first_ms\": %.1f, \"live_cnn_preset_first_max_ms\": %.1f, "
            "\"live_cnn_preset_final_ms\": %.1f, \"live_cnn_preset_first_images\": %.0f}\n",
            name, n_params, open_first, open_final,
            edit_median, edit_first[N_LIVE_RUNS - 1], median (edit_final, N_LIVE_RUNS),
            median (edit_images, N_LIVE_RUNS),
            preset_median, preset_first[N_LIVE_RUNS - 1],
            median (preset_final, N_LIVE_RUNS), median (preset_images, N_LIVE_RUNS));
  else
    {
      printf ("%s (%" G_GUINT64_FORMAT " parameters), %u own images, quick accuracy in the "
              "document (debounce included):\n", name, n_params, n);
      printf ("  open (64-image calibration): first answer %.1f ms, final %.1f ms\n", open_first, open_final);
      printf ("  one-layer edit (%s, %zu weights): first answer median %.1f ms, max %.1f ms "
              "(%.0f images), final median %.1f ms (%d edits)\n", live_edited, edited_params,
              edit_median, edit_first[N_LIVE_RUNS - 1],
              median (edit_images, N_LIVE_RUNS), median (edit_final, N_LIVE_RUNS), N_LIVE_RUNS);
      printf ("  preset w4a8 <-> w8a8: first answer median %.1f ms, max %.1f ms (%.0f images), "
              "final median %.1f ms (%d presets)\n", preset_median,
              preset_first[N_LIVE_RUNS - 1], median (preset_images, N_LIVE_RUNS),
              median (preset_final, N_LIVE_RUNS), N_LIVE_RUNS);
    }
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
  gboolean json = FALSE;
  gboolean page_only = FALSE;
  gboolean cnn_only = FALSE;
  const char *cnn_model = NULL;
  const char *cnn_layer = NULL;
  const char *params_text = g_getenv ("QS_BENCH_SYNTHETIC_PARAMS");
  guint64 n_big_params;
  BigTiming open_t, preset_t, tune_t[N_BIG_RUNS], page_open_t, page_tune_t;
  double page_tune_stall = 0, page_tune_busy = 0;
  gboolean with_page = FALSE;
  double tune_first[N_BIG_RUNS], tune_exact[N_BIG_RUNS], tune_stall = 0, tune_busy = 0, load_ms;
  guint source;

  for (int i = 1; i < argc; i++)
    if (g_strcmp0 (argv[i], "--json") == 0)
      json = TRUE;
    else if (g_strcmp0 (argv[i], "--page-only") == 0)
      page_only = TRUE;
    else if (g_strcmp0 (argv[i], "--synthetic-params") == 0 && i + 1 < argc)
      params_text = argv[++i];
    else if (g_strcmp0 (argv[i], "--cnn-model") == 0 && i + 1 < argc)
      cnn_model = argv[++i];
    else if (g_strcmp0 (argv[i], "--cnn-only") == 0)
      cnn_only = TRUE;
  n_big_params = parse_params (params_text ? params_text : "25M");
  if (g_getenv ("QS_BENCH_TRACE_MS") != NULL)
    trace_ms = g_ascii_strtod (g_getenv ("QS_BENCH_TRACE_MS"), NULL);

  g_setenv ("XDG_DATA_HOME", tmp, TRUE);

  if (cnn_only)
    {
      bench_live_cnn (tmp, cnn_model, json);
      return 0;
    }

  memset (layer_ms, 0, sizeof layer_ms);
  memset (eval_ms, 0, sizeof eval_ms);
  memset (compute_ms, 0, sizeof compute_ms);
  first_eval_ms = 0;
  if (!page_only)
  {
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

  g_clear_object (&doc);
  }

  /* 3. The big synthetic model: first open, tuning the 16.8M-parameter layer, a preset. */
  {
    gint64 start = g_get_monotonic_time ();
    g_autoptr(QsModel) mlp = qs_synthetic_mlp (n_big_params, &error);

    if (mlp == NULL)
      g_error ("%s", error->message);

    load_ms = (g_get_monotonic_time () - start) / 1000.0;
    n_big_params = 0;
    for (guint i = 0; i < qs_model_get_n_layers (mlp); i++)
      n_big_params += qs_model_get_layer (mlp, i)->n_params;
    source = g_timeout_add (10, probe_tick, NULL);
    memset (&open_t, 0, sizeof open_t);
    memset (&preset_t, 0, sizeof preset_t);
    memset (tune_first, 0, sizeof tune_first);
    memset (tune_exact, 0, sizeof tune_exact);
    if (!page_only)
    {
    doc = qs_document_new (mlp, NULL, NULL);
    qs_document_set_autosave_delay (doc, 0);
    probe_reset ();
    start = g_get_monotonic_time ();
    qs_document_refresh (doc);
    wait_big (doc, start, &open_t);

    for (guint run = 0; run < N_BIG_RUNS; run++)
      {
        probe_reset ();
        start = g_get_monotonic_time ();
        set_bits (doc, "dense_16m", run % 2 ? 8 : 4);
        wait_big (doc, start, &tune_t[run]);
        tune_first[run] = tune_t[run].first_ms;
        tune_exact[run] = tune_t[run].exact_ms;
        tune_stall = MAX (tune_stall, tune_t[run].stall_ms);
        tune_busy = MAX (tune_busy, tune_t[run].busy_ms);
      }

    probe_reset ();
    start = g_get_monotonic_time ();
    if (!qs_document_apply_preset (doc, "w4g32", NULL, &error))
      g_error ("%s", error->message);
    wait_big (doc, start, &preset_t);
    g_clear_object (&doc);
    }

    /* 4. The same with the layer page on screen (its charts normalise and draw on the main
     *    thread), when there is a display. */
    if (gtk_init_check ())
      {
        GtkWidget *window, *page;

        adw_init ();
        with_page = TRUE;
        window = gtk_window_new ();
        page = qs_layer_page_new ();
        gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
        gtk_window_set_child (GTK_WINDOW (window), page);
        gtk_window_present (GTK_WINDOW (window));
        doc = qs_document_new (mlp, NULL, NULL);
        qs_document_set_autosave_delay (doc, 0);
        qs_layer_page_set_document (QS_LAYER_PAGE (page), doc);
        qs_layer_page_set_layer (QS_LAYER_PAGE (page), "dense_16m");
        settle (500);   /* the window's first frames are not the live path's */
        probe_reset ();
        start = g_get_monotonic_time ();
        qs_document_refresh (doc);
        wait_big (doc, start, &page_open_t);
        settle (300);
        page_open_t.stall_ms = probe_max_ms ();
        page_open_t.busy_ms = busy_max / 1000.0;
        for (guint run = 0; run < N_BIG_RUNS / 2; run++)
          {
            probe_reset ();
            start = g_get_monotonic_time ();
            set_bits (doc, "dense_16m", run % 2 ? 8 : 4);
            wait_big (doc, start, &page_tune_t);
            settle (300);
            page_tune_stall = MAX (page_tune_stall, probe_max_ms ());
            page_tune_busy = MAX (page_tune_busy, busy_max / 1000.0);
          }
        qs_layer_page_set_document (QS_LAYER_PAGE (page), NULL);
        gtk_window_destroy (GTK_WINDOW (window));
        g_clear_object (&doc);
      }
    g_source_remove (source);
  }

  {
    double layer_median = median (layer_ms, N_RUNS);   /* sorts: [0] is the minimum */
    double eval_median = median (eval_ms, N_RUNS);
    double compute_median = median (compute_ms, N_RUNS);

  if (json)
    printf ("{\"layer_1m_ms\": %.2f, \"layer_1m_min_ms\": %.2f, \"quick_eval_first_ms\": %.1f, "
            "\"quick_eval_ms\": %.1f, \"quick_eval_min_ms\": %.1f, \"quick_eval_compute_ms\": %.1f, "
            "\"debounce_ms\": 50}\n",
            layer_median, layer_ms[0], first_eval_ms, eval_median, eval_ms[0], compute_median);
  if (json)
    printf ("{\"synthetic_params\": %" G_GUINT64_FORMAT ", \"synthetic_build_ms\": %.1f, "
            "\"open_first_ms\": %.1f, \"open_first_is_estimate\": %s, \"open_exact_ms\": %.1f, "
            "\"open_all_ms\": %.1f, \"open_all_exact_ms\": %.1f, \"open_stall_ms\": %.1f, "
            "\"open_busy_ms\": %.2f, \"tune_first_ms\": %.1f, \"tune_exact_ms\": %.1f, "
            "\"tune_stall_ms\": %.1f, \"tune_busy_ms\": %.2f, \"preset_all_ms\": %.1f, "
            "\"preset_all_exact_ms\": %.1f, \"preset_stall_ms\": %.1f, \"preset_busy_ms\": %.2f}\n",
            n_big_params, load_ms, open_t.first_ms, open_t.estimate ? "true" : "false",
            open_t.exact_ms, open_t.all_ms, open_t.all_exact_ms, open_t.stall_ms, open_t.busy_ms,
            median (tune_first, N_BIG_RUNS), median (tune_exact, N_BIG_RUNS), tune_stall, tune_busy,
            preset_t.all_ms, preset_t.all_exact_ms, preset_t.stall_ms, preset_t.busy_ms);
  if (json && with_page)
    printf ("{\"page_open_stall_ms\": %.1f, \"page_open_busy_ms\": %.1f, "
            "\"page_tune_stall_ms\": %.1f, \"page_tune_busy_ms\": %.1f}\n",
            page_open_t.stall_ms, page_open_t.busy_ms, page_tune_stall, page_tune_busy);
  else if (page_only)
    {
      if (with_page)
        printf ("with the layer page on screen (%" G_GUINT64_FORMAT " parameters): open, longest "
                "main-loop gap %.1f ms, main-thread CPU per iteration %.1f ms; tuning, longest "
                "gap %.1f ms, CPU per iteration %.1f ms\n", n_big_params,
                page_open_t.stall_ms, page_open_t.busy_ms, page_tune_stall, page_tune_busy);
    }
  else
    {
      printf ("1M-parameter layer, change -> statistics: median %.2f ms, min %.2f ms (%d runs)\n",
              layer_median, layer_ms[0], N_RUNS);
      printf ("sample CNN quick accuracy (1,000 images), first run incl. calibration: %.1f ms\n",
              first_eval_ms);
      printf ("sample CNN quick accuracy, change -> accuracy: median %.1f ms, min %.1f ms "
              "(includes the 50 ms debounce; %d runs)\n",
              eval_median, eval_ms[0], N_RUNS);
      printf ("sample CNN quick accuracy, evaluation alone (after the debounce): median %.1f ms\n",
              compute_median);
      printf ("synthetic MLP, %" G_GUINT64_FORMAT " parameters (built in %.0f ms)\n", n_big_params, load_ms);
      printf ("  first open: 16.8M layer first statistics %.1f ms (%s), exact %.1f ms; "
              "every layer %.1f ms, every layer exact %.1f ms; longest main-loop gap %.1f ms, "
              "longest main-thread CPU per iteration %.2f ms\n",
              open_t.first_ms, open_t.estimate ? "estimate" : "exact", open_t.exact_ms,
              open_t.all_ms, open_t.all_exact_ms, open_t.stall_ms, open_t.busy_ms);
      printf ("  tuning the 16.8M layer: first statistics median %.1f ms, exact median %.1f ms; "
              "longest main-loop gap %.1f ms, longest main-thread CPU per iteration %.2f ms "
              "(%d changes)\n",
              median (tune_first, N_BIG_RUNS), median (tune_exact, N_BIG_RUNS), tune_stall,
              tune_busy, N_BIG_RUNS);
      printf ("  preset w4g32: whole-model summary %.1f ms, every layer exact %.1f ms; "
              "longest main-loop gap %.1f ms, longest main-thread CPU per iteration %.2f ms\n",
              preset_t.all_ms, preset_t.all_exact_ms, preset_t.stall_ms, preset_t.busy_ms);
      if (with_page)
        printf ("  with the layer page on screen: open, longest main-loop gap %.1f ms, main-thread "
                "CPU per iteration %.1f ms; tuning, longest gap %.1f ms, CPU per iteration %.1f ms\n",
                page_open_t.stall_ms, page_open_t.busy_ms, page_tune_stall, page_tune_busy);
    }
  }
  if (!page_only)
    bench_live_cnn (tmp, cnn_model, json);
  return 0;
}
