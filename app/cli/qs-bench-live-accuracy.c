/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "qs-cli-bench.h"
#include "quantscope-core.h"

/* Benchmark group "live", the progressive quick accuracy (issue 16): the synthetic
 * ResNet-18 at 224x224x3 (64x64 with --quick), or the --model FILE, on random uint8 images
 * of its input shape with random labels (--images N, 1,000 by default: the app's quick
 * subset), the app's options (a QsEvalCache, progressive chunks). Times from the call to
 * the first chunk and to the final result:
 *   live-accuracy-open-first / -final  the model was just opened: nothing cached, the float
 *                                      side is computed chunk by chunk too
 *   live-accuracy-change-first / -final a preset change after that, w8a8 -> w4a8 (float side
 *                                      cached, the first chunk sized from the measured cost
 *                                      per image; every layer quantized and packed again)
 *   live-accuracy-edit-first / -final  then one layer (the biggest kernel) to 8 bits and
 *                                      back, the median of 4 (only that layer compiled again)
 *   live-accuracy-open-calib500-...    opening again (nothing cached) with the app's
 *                                      calibration count, 500 capped by the data: the first
 *                                      answer from a 16-image calibration (provisional) */

typedef struct
{
  gint64 t0;
  gint64 first;
  guint  first_images;
  guint  chunks;
} Timing;

static void
on_partial (const QsEvalPartial *partial,
            gpointer             user_data)
{
  Timing *t = user_data;

  if (t->chunks++ == 0)
    {
      t->first = g_get_monotonic_time () - t->t0;
      t->first_images = partial->n_images;
    }
}

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static gboolean
run_once (QsModel      *model,
          QsConfig     *config,
          QsDataset    *dataset,
          QsEvalCache  *cache,
          guint         n,
          Timing       *t,
          double       *final_ms,
          GError      **error)
{
  g_autoptr(QsEvalResult) r = NULL;
  QsEvalOptions opts = { .limit = n, .cache = cache, .partial = on_partial, .partial_data = t };

  memset (t, 0, sizeof *t);
  t->t0 = g_get_monotonic_time ();
  r = qs_eval_run (model, config, dataset, &opts, NULL, NULL, NULL, error);
  *final_ms = (g_get_monotonic_time () - t->t0) / 1e3;
  return r != NULL;
}

void
qs_bench_live_accuracy (QsBench *bench)
{
  gboolean quick = qs_bench_quick (bench);
  gsize size = quick ? 64 : 224, h, w, c;
  const QsLayer *input;
  const char *edited = NULL;
  gsize edited_params = 0;
  double edit_first[4], edit_final[4], edit_images[4];
  guint n = quick ? 64 : qs_bench_images (bench, 1000);
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) built = NULL;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autoptr(QsConfig) w8a8 = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsConfig) w4a8 = qs_config_new_from_preset ("w4a8", NULL);
  g_autofree char *dir = g_dir_make_tmp ("qs-bench-accuracy-XXXXXX", &error);
  g_autofree char *model_path = NULL, *x_path = NULL, *y_path = NULL;
  Timing t;
  double final_ms;

  if (dir == NULL)
    goto fail;
  model_path = g_build_filename (dir, "resnet18.h5", NULL);
  x_path = g_build_filename (dir, "x.npy", NULL);
  y_path = g_build_filename (dir, "y.npy", NULL);
  if (qs_bench_model_path (bench) != NULL)
    model = qs_model_load (qs_bench_model_path (bench), NULL, NULL, &error);
  else if ((built = qs_synthetic_resnet18 (size, 1000, &error)) != NULL
           && qs_synthetic_settle_batch_norm (built, 4, 99, &error)
           && qs_model_save (built, model_path, NULL, &error))
    model = qs_model_load (model_path, NULL, NULL, &error);
  if (model == NULL)
    goto fail;
  input = qs_model_get_layer (model, 0);
  if (input->output_rank != 3)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("the live-accuracy group needs a model with image inputs (height, width, channels)"));
      goto fail;
    }
  h = input->output_shape[0];
  w = input->output_shape[1];
  c = input->output_shape[2];
  for (guint i = 0; i < qs_model_get_n_layers (model); i++)
    {
      QsTensor *kernel = qs_layer_get_kernel (qs_model_get_layer (model, i));

      if (kernel != NULL && kernel->n_elements > edited_params)
        {
          edited = qs_model_get_layer (model, i)->name;
          edited_params = kernel->n_elements;
        }
    }

  if (!qs_synthetic_write_dataset (x_path, y_path, n, h, w, c, 1000, 16, &error)
      || (dataset = qs_dataset_open_full (x_path, y_path, NULL, &error)) == NULL)
    goto fail;
  /* calibrate on the first images of the same data */
  qs_config_set_calib_source (w8a8, x_path);
  qs_config_set_calib_images (w8a8, 16);
  qs_config_set_calib_source (w4a8, x_path);
  qs_config_set_calib_images (w4a8, 16);

  if (!run_once (model, w8a8, dataset, cache, n, &t, &final_ms, &error))
    goto fail;
  qs_bench_add_ms (bench, "live-accuracy-open-first", t.first / 1e3, "vs_final", t.first / 1e3 / final_ms);
  qs_bench_add_ms (bench, "live-accuracy-open-final", final_ms, NULL, 0);
  qs_bench_add_rate (bench, "live-accuracy-open-first-images", "images", t.first_images, "chunks", t.chunks);
  if (!run_once (model, w4a8, dataset, cache, n, &t, &final_ms, &error))
    goto fail;
  qs_bench_add_ms (bench, "live-accuracy-change-first", t.first / 1e3, "vs_final", t.first / 1e3 / final_ms);
  qs_bench_add_ms (bench, "live-accuracy-change-final", final_ms, NULL, 0);
  qs_bench_add_rate (bench, "live-accuracy-change-first-images", "images", t.first_images, "chunks", t.chunks);
  /* one layer edited, then back: the program before is reused for every other layer */
  for (guint run = 0; run < G_N_ELEMENTS (edit_first); run++)
    {
      QsLayerConfig lc;

      qs_config_get_layer (w4a8, edited, &lc);
      lc.weight.bits = run % 2 ? 4 : 8;
      qs_config_set_layer (w4a8, edited, &lc);
      if (!run_once (model, w4a8, dataset, cache, n, &t, &final_ms, &error))
        goto fail;
      edit_first[run] = t.first / 1e3;
      edit_final[run] = final_ms;
      edit_images[run] = t.first_images;
    }
  qsort (edit_first, G_N_ELEMENTS (edit_first), sizeof (double), cmp_double);
  qsort (edit_final, G_N_ELEMENTS (edit_final), sizeof (double), cmp_double);
  qsort (edit_images, G_N_ELEMENTS (edit_images), sizeof (double), cmp_double);
  qs_bench_add_ms (bench, "live-accuracy-edit-first", edit_first[2], "min", edit_first[0]);
  qs_bench_add_ms (bench, "live-accuracy-edit-final", edit_final[2], NULL, 0);
  qs_bench_add_rate (bench, "live-accuracy-edit-first-images", "images", edit_images[2],
                     "params_edited", (double) edited_params);
  /* opening with the app's calibration count (500, capped by the data): the first answer
   * comes from a 16-image calibration while the whole one runs (provisional_seconds) */
  {
    g_autoptr(QsEvalCache) fresh = qs_eval_cache_new ();

    qs_config_set_calib_images (w8a8, MIN (n, 500));
    if (!run_once (model, w8a8, dataset, fresh, n, &t, &final_ms, &error))
      goto fail;
    qs_bench_add_ms (bench, "live-accuracy-open-calib500-first", t.first / 1e3, "vs_final", t.first / 1e3 / final_ms);
    qs_bench_add_ms (bench, "live-accuracy-open-calib500-final", final_ms, NULL, 0);
    qs_bench_add_rate (bench, "live-accuracy-open-calib500-first-images", "images", t.first_images, "chunks", t.chunks);
  }
  goto out;

fail:
  g_printerr ("bench live (accuracy): %s\n", error ? error->message : "?");
out:
  if (dir != NULL)
    {
      g_unlink (model_path);
      g_unlink (x_path);
      g_unlink (y_path);
      g_rmdir (dir);
    }
}
