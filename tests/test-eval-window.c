/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"
#include "qs-eval-private.h"
#include "test-models.h"

/* The evaluation's input window (QsEvalOptions.window_bytes, issue 16): the preprocessed
 * inputs are filled a window at a time, so what a run and its cache hold of them does not
 * grow with the number of images, and every number is the same whatever the window. */

static char *tmp_dir;

#define IN_BYTES (28 * 28 * sizeof (float))

static QsEvalResult *
eval (QsModel             *model,
      QsConfig            *config,
      QsDataset           *dataset,
      const QsEvalOptions *opts)
{
  g_autoptr(GError) error = NULL;
  QsEvalResult *r = qs_eval_run (model, config, dataset, opts, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static void
assert_float_equal (double a,
                    double b)
{
  if (isnan (a))
    g_assert_true (isnan (b));
  else
    g_assert_cmpfloat (a, ==, b);
}

/* Bit for bit: every output of both engines, every metric, every layer's statistics. */
static void
assert_identical (QsEvalResult *a,
                  QsEvalResult *b)
{
  g_assert_cmpuint (a->n_images, ==, b->n_images);
  g_assert_cmpuint (a->n_classes, ==, b->n_classes);
  g_assert_nonnull (a->float_outputs);
  g_assert_nonnull (b->float_outputs);
  g_assert_cmpmem (a->float_outputs, (gsize) a->n_images * a->n_classes * sizeof (float),
                   b->float_outputs, (gsize) b->n_images * b->n_classes * sizeof (float));
  g_assert_true ((a->quant_outputs == NULL) == (b->quant_outputs == NULL));
  if (a->quant_outputs != NULL)
    g_assert_cmpmem (a->quant_outputs, (gsize) a->n_images * a->n_classes * sizeof (float),
                     b->quant_outputs, (gsize) b->n_images * b->n_classes * sizeof (float));
  assert_float_equal (a->float_top1, b->float_top1);
  assert_float_equal (a->float_top5, b->float_top5);
  assert_float_equal (a->quant_top1, b->quant_top1);
  assert_float_equal (a->quant_top5, b->quant_top5);
  assert_float_equal (a->agreement, b->agreement);
  assert_float_equal (a->mean_kl, b->mean_kl);
  assert_float_equal (a->top5_overlap, b->top5_overlap);
  assert_float_equal (a->output_sqnr_db, b->output_sqnr_db);
  assert_float_equal (a->output_max_abs_error, b->output_max_abs_error);
  g_assert_cmpuint (a->float_nonfinite, ==, b->float_nonfinite);
  g_assert_cmpuint (a->quant_nonfinite, ==, b->quant_nonfinite);
  g_assert_cmpstr (a->float_nonfinite_at, ==, b->float_nonfinite_at);
  g_assert_cmpstr (a->quant_nonfinite_at, ==, b->quant_nonfinite_at);
  g_assert_cmpmem (&a->summary, sizeof a->summary, &b->summary, sizeof b->summary);
  g_assert_cmpuint (a->n_layers, ==, b->n_layers);
  for (guint i = 0; i < a->n_layers; i++)
    {
      assert_float_equal (a->layers[i].activation_sqnr_db, b->layers[i].activation_sqnr_db);
      assert_float_equal (a->layers[i].weight_sqnr_db, b->layers[i].weight_sqnr_db);
    }
}

static void
on_partial (const QsEvalPartial *partial,
            gpointer             user_data)
{
  (*(guint *) user_data)++;
}

/* The default window (every image at once here, kept in the cache), one image, 7 and 299
 * images at a time, one
 * shot and progressive, integer program (with the layer statistics' second pass) and
 * weight-only: the same results. */
static void
test_identical (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  const char *presets[] = { "w8a8", "w8" };

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  for (guint p = 0; p < G_N_ELEMENTS (presets); p++)
    {
      g_autoptr(QsConfig) config = qs_config_new_from_preset (presets[p], &error);
      QsEvalOptions base = { .limit = 300, .n_threads = 2, .layer_stats = TRUE, .keep_outputs = TRUE };
      g_autoptr(QsEvalResult) ref = NULL;
      gsize windows[] = { 0, 1, 7 * IN_BYTES, 300 * IN_BYTES - 1 };

      g_assert_no_error (error);
      qs_config_set_calib_images (config, 50);
      ref = eval (model, config, dataset, &base);
      g_assert_cmpuint (ref->input_window, ==, 300);
      for (guint w = 0; w < G_N_ELEMENTS (windows); w++)
        for (int progressive = 0; progressive < 2; progressive++)
          {
            g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
            g_autoptr(QsEvalResult) r = NULL;
            g_autoptr(QsEvalResult) again = NULL;
            QsEvalOptions opts = base;
            guint chunks = 0;

            opts.window_bytes = windows[w];
            opts.cache = cache;
            if (progressive)
              {
                opts.partial = on_partial;
                opts.partial_data = &chunks;
                opts.provisional_seconds = G_MAXDOUBLE;   /* one calibration, as one-shot */
              }
            r = eval (model, config, dataset, &opts);
            g_assert_cmpuint (r->input_window, ==, windows[w] == 0 ? 300 : MAX (windows[w] / IN_BYTES, 1));
            assert_identical (ref, r);
            g_assert_true (!progressive || chunks >= 2);
            /* the cached float side: its inputs when they fit in one window (a progressive
             * run fills it chunk after chunk), else none; a second run reads them */
            g_assert_cmpuint (_qs_eval_cache_get_input_bytes (cache), ==,
                              windows[w] == 0 ? 300 * IN_BYTES : 0);
            /* a window smaller than the run goes back to the cache: the next run's first
             * chunk fills it instead of faulting in a new one */
            if (windows[w] != 0)
              g_assert_cmpuint (_qs_eval_cache_get_spare_window_bytes (cache), >=,
                                MAX (windows[w] / IN_BYTES, 1) * IN_BYTES);
            again = eval (model, config, dataset, &opts);
            assert_identical (ref, again);
          }
    }
}

/* The float outputs on disk: the key is the same whatever the window (it checksums the
 * same inputs in the same order), so a run with another window reads the file. */
static void
test_disk_key (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsEvalResult) a = NULL;
  g_autoptr(QsEvalResult) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (tmp_dir, "float-outputs", NULL);
  QsEvalOptions opts = { .limit = 200, .n_threads = 2, .keep_outputs = TRUE,
                         .float_cache_dir = dir, .window_bytes = 9 * IN_BYTES };

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, 50);
  a = eval (model, config, dataset, &opts);
  g_assert_false (a->float_from_disk);
  opts.window_bytes = 0;
  b = eval (model, config, dataset, &opts);
  g_assert_true (b->float_from_disk);
  assert_identical (a, b);
}

/* What the app's quick accuracy does (progressive, the document's cache) on 100 and on
 * 1,000 images: the same window, and the cache keeps no inputs once they do not fit in it;
 * with the default window the sample's images fit and are kept, within the window's bytes. */
static void
test_bounded (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(GError) error = NULL;
  const guint limits[] = { 100, 1000 };

  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, 50);
  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
      g_autoptr(QsEvalCache) whole = qs_eval_cache_new ();
      g_autoptr(QsEvalResult) r = NULL;
      g_autoptr(QsEvalResult) d = NULL;
      guint chunks = 0;
      QsEvalOptions opts = { .limit = limits[i], .n_threads = 2, .cache = cache,
                             .partial = on_partial, .partial_data = &chunks,
                             .window_bytes = 32 * IN_BYTES, .provisional_seconds = G_MAXDOUBLE };

      r = eval (model, config, dataset, &opts);
      g_assert_cmpuint (r->n_images, ==, limits[i]);
      g_assert_cmpuint (r->input_window, ==, 32);
      g_assert_cmpuint (_qs_eval_cache_get_input_bytes (cache), ==, 0);

      opts.cache = whole;
      opts.window_bytes = 0;
      d = eval (model, config, dataset, &opts);
      g_assert_cmpuint (d->input_window, ==, limits[i]);
      g_assert_cmpuint (_qs_eval_cache_get_input_bytes (whole), ==, limits[i] * IN_BYTES);
      g_assert_cmpuint (_qs_eval_cache_get_input_bytes (whole), <=, (gsize) 64 << 20);
    }
}

/* A .npy of n float32 28x28x1 images, NaN in the images listed. */
static char *
write_npy (guint        n,
           const guint *nan_at,
           guint        n_nan)
{
  g_autofree char *path = g_build_filename (tmp_dir, "nan.npy", NULL);
  g_autofree char *hdr = g_strdup_printf ("{'descr': '<f4', 'fortran_order': False, 'shape': (%u, 28, 28, 1), }", n);
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(GError) error = NULL;
  guint16 len;

  while ((10 + strlen (hdr) + 1) % 64 != 0)
    {
      char *t = g_strconcat (hdr, " ", NULL);
      g_free (hdr);
      hdr = t;
    }
  len = GUINT16_TO_LE (strlen (hdr) + 1);
  g_byte_array_append (b, (const guint8 *) "\x93NUMPY\x01\x00", 8);
  g_byte_array_append (b, (const guint8 *) &len, 2);
  g_byte_array_append (b, (const guint8 *) hdr, strlen (hdr));
  g_byte_array_append (b, (const guint8 *) "\n", 1);
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < 784; k++)
      {
        float v = g_rand_double (rand);

        for (guint j = 0; j < n_nan; j++)
          if (nan_at[j] == i && k == 300)
            v = NAN;
        g_byte_array_append (b, (const guint8 *) &v, sizeof v);
      }
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

/* Images holding NaN are counted and located ("input") on both sides, whatever the window,
 * also when the float side comes from the cache (the inputs then refilled or not kept). */
static void
test_nonfinite_input (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(GError) error = NULL;
  const guint nan_at[] = { 13, 27 };
  g_autofree char *path = write_npy (40, nan_at, G_N_ELEMENTS (nan_at));
  gsize windows[] = { 0, 5 * IN_BYTES, 1 };

  dataset = qs_dataset_open (path, &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, 50);
  for (guint w = 0; w < G_N_ELEMENTS (windows); w++)
    {
      g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
      QsEvalOptions opts = { .n_threads = 1, .cache = cache, .window_bytes = windows[w] };

      for (int run = 0; run < 2; run++)
        {
          g_autoptr(QsEvalResult) r = eval (model, config, dataset, &opts);

          g_assert_cmpuint (r->float_nonfinite, ==, 2);
          g_assert_cmpstr (r->float_nonfinite_at, ==, "input");
          g_assert_cmpuint (r->quant_nonfinite, ==, 2);
          g_assert_nonnull (r->quant_nonfinite_at);
        }
    }
}

int
main (int argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-eval-window-XXXXXX", NULL);
  g_test_add_func ("/qs/eval-window/identical", test_identical);
  g_test_add_func ("/qs/eval-window/disk-key", test_disk_key);
  g_test_add_func ("/qs/eval-window/bounded", test_bounded);
  g_test_add_func ("/qs/eval-window/nonfinite-input", test_nonfinite_input);
  ret = g_test_run ();
  {
    g_autoptr(GDir) d = g_dir_open (tmp_dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (tmp_dir, name, NULL);

        if (g_file_test (p, G_FILE_TEST_IS_DIR))
          {
            g_autoptr(GDir) sub = g_dir_open (p, 0, NULL);
            const char *s;

            while (sub != NULL && (s = g_dir_read_name (sub)) != NULL)
              {
                g_autofree char *q = g_build_filename (p, s, NULL);
                g_unlink (q);
              }
            g_rmdir (p);
          }
        else
          g_unlink (p);
      }
  }
  g_rmdir (tmp_dir);
  return ret;
}
