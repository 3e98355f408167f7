/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "qs-cli-bench.h"
#include "quantscope-core.h"

/* Benchmark group "live": the worker side of the app's live path on a big synthetic model
 * (issue 17), so anyone can reproduce it without the app. A Keras file
 * 4096 -> Dense 4096 -> Dense N -> Dense 10 (25M parameters, or --synthetic-params) is
 * written with the Keras writer and loaded back; then, with the options the app uses (codes,
 * dequantized copy, 128-bin histograms, 128 x 128 error map):
 *   live-estimate-16m   the first answer for the 16.8M-parameter layer: 256k sampled values
 *   live-exact-16m      its exact statistics (qs_quant_run)
 *   live-preset-summary after a preset, every layer's first answer (estimates for layers
 *                       over 2M weights, exact ones below) plus the cost model, one thread
 * The main-loop side (stalls, with and without the layer page) is tests/gui/bench-live.c. */

#define ESTIMATE_MIN_VALUES (2 * 1024 * 1024)   /* as app/gui/qs-document-results.c */
#define ESTIMATE_VALUES     (256 * 1024)

typedef struct
{
  QsTensor       *kernel;
  QsQuantSpec     spec;
  QsQuantOptions  options;
  gsize           sample;
} PassJob;

static void
options_for_app (QsTensor       *kernel,
                 QsQuantOptions *options)
{
  gsize rows, cols;

  memset (options, 0, sizeof *options);
  options->want_codes = TRUE;
  options->want_dequant = TRUE;
  options->hist_bins = 128;
  options->hist_channel = -1;
  qs_tensor_matrix_shape (kernel, &rows, &cols);
  options->map_width = (guint) MIN (cols, 128);
  options->map_height = (guint) MIN (rows, 128);
}

static void
run_pass (gpointer data)
{
  PassJob *job = data;
  g_autoptr(QsQuantResult) r = NULL;

  if (job->sample > 0)
    r = qs_quant_run_estimate (job->kernel, &job->spec, &job->options, job->sample, NULL, NULL);
  else
    r = qs_quant_run (job->kernel, &job->spec, &job->options, NULL, NULL);
  g_assert (r != NULL);
}

typedef struct
{
  QsModel  *model;
  QsConfig *config;
} PresetJob;

/* Every layer's first answer after a preset, then the cost model: the summary bar's input. */
static void
run_preset (gpointer data)
{
  PresetJob *job = data;
  QsCost cost;

  for (guint i = 0; i < qs_model_get_n_layers (job->model); i++)
    {
      const QsLayer *layer = qs_model_get_layer (job->model, i);
      QsTensor *kernel = qs_layer_get_kernel (layer);
      PassJob pass = { 0 };
      QsLayerConfig lc;

      if (kernel == NULL)
        continue;
      qs_config_get_layer (job->config, layer->name, &lc);
      pass.kernel = kernel;
      pass.spec = lc.weight;
      options_for_app (kernel, &pass.options);
      pass.sample = kernel->n_elements > ESTIMATE_MIN_VALUES ? ESTIMATE_VALUES : 0;
      run_pass (&pass);
    }
  qs_cost_compute (job->model, job->config, &cost);
}

void
qs_bench_live (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  guint64 n_params = qs_bench_synthetic_params (bench);
  g_autoptr(QsModel) built = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w4g32", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  PassJob pass = { 0 };
  PresetJob preset;
  double t_estimate, t_exact, t_preset, t_load;
  gint64 t0;
  int fd;

  if (n_params == 0)
    n_params = 25000000;
  built = qs_synthetic_mlp (n_params, &error);
  if (built == NULL)
    {
      g_printerr ("bench live: %s\n", error->message);
      return;
    }
  fd = g_file_open_tmp ("qs-bench-live-XXXXXX.h5", &path, &error);
  if (fd < 0)
    {
      g_printerr ("bench live: %s\n", error->message);
      return;
    }
  close (fd);
  if (!qs_model_save (built, path, NULL, &error))
    {
      g_printerr ("bench live: %s\n", error->message);
      g_unlink (path);
      return;
    }
  g_clear_object (&built);
  t0 = g_get_monotonic_time ();
  model = qs_model_load (path, NULL, NULL, &error);
  t_load = (g_get_monotonic_time () - t0) / 1e6;
  g_unlink (path);
  if (model == NULL)
    {
      g_printerr ("bench live: %s\n", error->message);
      return;
    }

  pass.kernel = qs_layer_get_kernel (qs_model_find_layer (model, "dense_16m"));
  qs_quant_spec_init (&pass.spec);            /* int8 symmetric per channel: the default */
  options_for_app (pass.kernel, &pass.options);
  pass.sample = ESTIMATE_VALUES;
  t_estimate = qs_bench_best_seconds (quick ? 2 : 5, run_pass, &pass);
  pass.sample = 0;
  t_exact = qs_bench_best_seconds (quick ? 1 : 3, run_pass, &pass);

  preset.model = model;
  preset.config = config;
  t_preset = qs_bench_best_seconds (quick ? 1 : 3, run_preset, &preset);

  qs_bench_add_rate (bench, "live-synthetic-params", "params", (double) qs_model_get_n_params (model),
                     NULL, 0);
  qs_bench_add_ms (bench, "live-synthetic-load", t_load * 1e3, NULL, 0);
  qs_bench_add_ms (bench, "live-estimate-16m", t_estimate * 1e3, "vs_exact", t_estimate / t_exact);
  qs_bench_add_ms (bench, "live-exact-16m", t_exact * 1e3, NULL, 0);
  qs_bench_add_ms (bench, "live-preset-summary", t_preset * 1e3, NULL, 0);
}
