/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "quantscope-core.h"

#define Z95 1.959963984540054

/* Newcombe's worked examples for the Wilson score interval (Stat. Med. 17 (1998) 857-872,
 * table II, method 3), checked again with a python3 one-off of the formula
 * (x + z²/2 ± z sqrt (x (n - x) / n + z²/4)) / (n + z²) to ten places. */
static void
test_wilson_published (void)
{
  const struct { guint x, n; double lo, hi; } cases[] = {
    {  81,  263, 0.2552885199, 0.3662095770 },
    {  15,  148, 0.0623863995, 0.1604872417 },
    {   0,   20, 0.0,          0.1611251581 },
    {   1,   29, 0.0061132143, 0.1717552188 },
    { 902, 1000, 0.8820052977, 0.9189179885 },
    { 128,  128, 0.9708630437, 1.0          },
  };
  double lo, hi;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      qs_wilson_interval (cases[i].x, cases[i].n, Z95, &lo, &hi);
      g_assert_cmpfloat_with_epsilon (lo, cases[i].lo, 1e-9);
      g_assert_cmpfloat_with_epsilon (hi, cases[i].hi, 1e-9);
    }
  qs_wilson_interval (0, 0, Z95, &lo, &hi);
  g_assert_cmpfloat (lo, ==, 0.0);
  g_assert_cmpfloat (hi, ==, 1.0);
}

/* Newcombe's method 10 for paired proportions (Stat. Med. 17 (1998) 2635-2650), values from
 * an independent python3 one-off of the formula (phi = (ad - bc) / sqrt (efgh), square-and-add
 * of the two Wilson intervals); (36, 12, 2, 0) is the paper's first worked example, whose
 * published method-10 interval is 0.0569 to 0.3404 (Table II), as here. */
static void
test_paired_difference (void)
{
  const struct { guint a, b, c, d; double lo, hi; } cases[] = {
    {  12,  9,  2,  21, 0.0182102262, 0.2891566596 },
    {  36, 12,  2,   0, 0.0569295840, 0.3404276030 },
    { 850, 30, 12, 108, 0.0052823478, 0.0311653159 },
    {  20,  0,  0,   0, -0.1611251581, 0.1611251581 },
    { 100,  5,  5,  10, -0.0559120888, 0.0559120888 },
  };
  double lo, hi, lo2, hi2;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      qs_paired_difference_interval (cases[i].a, cases[i].b, cases[i].c, cases[i].d, Z95, &lo, &hi);
      g_assert_cmpfloat_with_epsilon (lo, cases[i].lo, 1e-9);
      g_assert_cmpfloat_with_epsilon (hi, cases[i].hi, 1e-9);
      /* swapping the two sides mirrors the interval */
      qs_paired_difference_interval (cases[i].a, cases[i].c, cases[i].b, cases[i].d, Z95, &lo2, &hi2);
      g_assert_cmpfloat_with_epsilon (lo2, -hi, 1e-12);
      g_assert_cmpfloat_with_epsilon (hi2, -lo, 1e-12);
      /* the estimate lies inside */
      g_assert_cmpfloat (lo, <=, ((double) cases[i].b - cases[i].c) / (cases[i].a + cases[i].b + cases[i].c + cases[i].d));
      g_assert_cmpfloat (hi, >=, ((double) cases[i].b - cases[i].c) / (cases[i].a + cases[i].b + cases[i].c + cases[i].d));
    }
}

typedef struct
{
  GArray       *partials;   /* QsEvalPartial */
  GCancellable *cancel_after_first;
} Collect;

static void
collect (const QsEvalPartial *partial,
         gpointer             user_data)
{
  Collect *c = user_data;

  g_array_append_vals (c->partials, partial, 1);
  if (c->cancel_after_first != NULL)
    g_cancellable_cancel (c->cancel_after_first);
}

static QsModel *
sample_model (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = qs_data_find_file (QS_DATA_SAMPLE_MODEL, &error);

  if (path == NULL)
    return NULL;
  return qs_model_load (path, NULL, NULL, &error);
}

/* Chunks grow, every partial's counts are those of its first n images, and the final result
 * is exactly the one-shot evaluation's: the integer program (w8a8) and the weight-only one
 * (w4g32, the fake-quantized float engine); the float side is computed chunk by chunk the first
 * time and read from the cache the second. */
static void
test_progressive (void)
{
  g_autoptr(QsModel) model = sample_model ();
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  const char *presets[] = { "w8a8", "w4g32" };

  if (model == NULL)
    {
      g_test_skip ("the bundled sample model is not available");
      return;
    }
  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);

  for (guint p = 0; p < G_N_ELEMENTS (presets); p++)
    {
      g_autoptr(QsConfig) config = qs_config_new_from_preset (presets[p], &error);
      g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
      g_autoptr(QsEvalResult) once = NULL;

      g_assert_no_error (error);
      qs_config_set_calib_images (config, 64);
      {
        QsEvalOptions opts = { .limit = 1000, .n_threads = 2 };

        once = qs_eval_run (model, config, dataset, &opts, NULL, NULL, NULL, &error);
        g_assert_no_error (error);
      }
      for (guint run = 0; run < 2; run++)
        {
          Collect c = { g_array_new (FALSE, TRUE, sizeof (QsEvalPartial)), NULL };
          /* the whole calibration at once: provisional-calibration tests the other way */
          QsEvalOptions opts = { .limit = 1000, .n_threads = 2, .cache = cache,
                                 .partial = collect, .partial_data = &c,
                                 .provisional_seconds = G_MAXDOUBLE };
          g_autoptr(QsEvalResult) r = qs_eval_run (model, config, dataset, &opts, NULL, NULL, NULL, &error);
          const QsEvalPartial *last;

          g_assert_no_error (error);
          /* the first run starts with 8 images; the second sizes its first chunk from the
           * measured cost per image (the float side cached), all of them for this small
           * model */
          g_assert_cmpuint (c.partials->len, >=, run == 0 ? 2 : 1);
          if (run == 0)
            g_assert_cmpuint (g_array_index (c.partials, QsEvalPartial, 0).n_images, ==, 8);
          for (guint i = 0; i < c.partials->len; i++)
            {
              const QsEvalPartial *e = &g_array_index (c.partials, QsEvalPartial, i);
              g_autoptr(QsEvalResult) prefix = NULL;
              QsEvalOptions po = { .limit = e->n_images, .n_threads = 1 };

              g_assert_cmpuint (e->n_total, ==, 1000);
              g_assert_true (e->labelled);
              if (i > 0)
                g_assert_cmpuint (e->n_images, >, g_array_index (c.partials, QsEvalPartial, i - 1).n_images);
              /* the interval holds its estimate and lies in [-1, 1] */
              g_assert_cmpfloat (e->diff_low, <=, e->diff);
              g_assert_cmpfloat (e->diff_high, >=, e->diff);
              g_assert_cmpfloat (e->float_low, <=, e->float_top1);
              g_assert_cmpfloat (e->quant_high, >=, e->quant_top1);
              if (i + 1 == c.partials->len || i > 1)
                continue;
              /* the first partials are the one-shot numbers of their first n images */
              prefix = qs_eval_run (model, config, dataset, &po, NULL, NULL, NULL, &error);
              g_assert_no_error (error);
              g_assert_cmpfloat (e->float_top1, ==, prefix->float_top1);
              g_assert_cmpfloat (e->quant_top1, ==, prefix->quant_top1);
              g_assert_cmpfloat (e->agreement, ==, prefix->agreement);
              g_assert_cmpuint (e->both_correct, ==, prefix->summary.both_correct);
            }
          last = &g_array_index (c.partials, QsEvalPartial, c.partials->len - 1);
          g_assert_cmpuint (last->n_images, ==, 1000);
          g_assert_cmpmem (last, sizeof *last, &r->summary, sizeof r->summary);
          /* exactly the one-shot result */
          g_assert_cmpuint (r->n_images, ==, once->n_images);
          g_assert_cmpfloat (r->float_top1, ==, once->float_top1);
          g_assert_cmpfloat (r->float_top5, ==, once->float_top5);
          g_assert_cmpfloat (r->quant_top1, ==, once->quant_top1);
          g_assert_cmpfloat (r->quant_top5, ==, once->quant_top5);
          g_assert_cmpfloat (r->agreement, ==, once->agreement);
          g_assert_cmpfloat (r->mean_kl, ==, once->mean_kl);
          g_assert_cmpfloat (r->output_sqnr_db, ==, once->output_sqnr_db);
          g_assert_cmpmem (r->quant_confusion, 100 * sizeof (guint), once->quant_confusion, 100 * sizeof (guint));
          g_assert_cmpmem (&r->summary, sizeof r->summary, &once->summary, sizeof once->summary);
          g_assert_cmpfloat (r->float_top1, ==, (double) r->summary.float_correct / 1000);
          g_array_unref (c.partials);
        }
    }
}

/* A progressive run whose calibration would be slow (forced here: a budget of 1 ns) first
 * answers from a calibration on 16 images (on at most 32 images, calib_images 16 of 64:
 * exactly a one-shot run with that calibration on the same images), then calibrates on
 * the whole set and answers again from the start; the final result is exactly the one-shot
 * result with the whole calibration. A second run (everything cached) answers from the
 * whole calibration at once. */
static void
test_provisional_calibration (void)
{
  g_autoptr(QsModel) model = sample_model ();
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(QsConfig) small = NULL;
  g_autoptr(QsEvalCache) cache = qs_eval_cache_new ();
  g_autoptr(QsEvalResult) once = NULL;

  if (model == NULL)
    {
      g_test_skip ("the bundled sample model is not available");
      return;
    }
  dataset = qs_dataset_open ("sample", &error);
  g_assert_no_error (error);
  config = qs_config_new_from_preset ("w8a8", &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, 64);
  small = qs_config_copy (config);
  qs_config_set_calib_images (small, 16);
  {
    QsEvalOptions opts = { .limit = 500, .n_threads = 2 };

    once = qs_eval_run (model, config, dataset, &opts, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  for (guint run = 0; run < 2; run++)
    {
      Collect c = { g_array_new (FALSE, TRUE, sizeof (QsEvalPartial)), NULL };
      QsEvalOptions opts = { .limit = 500, .n_threads = 2, .cache = cache,
                             .partial = collect, .partial_data = &c,
                             .provisional_seconds = 1e-9 };
      g_autoptr(QsEvalResult) r = qs_eval_run (model, config, dataset, &opts, NULL, NULL, NULL, &error);
      guint n_provisional = 0;
      const QsEvalPartial *last;

      g_assert_no_error (error);
      for (guint i = 0; i < c.partials->len; i++)
        {
          const QsEvalPartial *e = &g_array_index (c.partials, QsEvalPartial, i);

          g_assert_cmpuint (e->n_total, ==, 500);
          g_assert_cmpuint (e->calib_total, ==, 64);
          if (e->calib_images == 16)
            {
              g_autoptr(QsEvalResult) prefix = NULL;
              QsEvalOptions po = { .limit = e->n_images, .n_threads = 1 };

              /* the provisional answers come first, on at most 32 images */
              g_assert_cmpuint (i, ==, n_provisional);
              g_assert_cmpuint (e->n_images, <=, 32);
              n_provisional++;
              prefix = qs_eval_run (model, small, dataset, &po, NULL, NULL, NULL, &error);
              g_assert_no_error (error);
              g_assert_cmpfloat (e->quant_top1, ==, prefix->quant_top1);
              g_assert_cmpfloat (e->agreement, ==, prefix->agreement);
              g_assert_cmpuint (e->both_correct, ==, prefix->summary.both_correct);
            }
          else
            g_assert_cmpuint (e->calib_images, ==, 64);
        }
      /* the first run answers provisionally, the second has the calibration cached */
      if (run == 0)
        g_assert_cmpuint (n_provisional, >=, 1);
      else
        g_assert_cmpuint (n_provisional, ==, 0);
      last = &g_array_index (c.partials, QsEvalPartial, c.partials->len - 1);
      g_assert_cmpuint (last->n_images, ==, 500);
      g_assert_cmpuint (last->calib_images, ==, 64);
      g_assert_cmpmem (last, sizeof *last, &r->summary, sizeof r->summary);
      g_assert_cmpfloat (r->quant_top1, ==, once->quant_top1);
      g_assert_cmpfloat (r->float_top1, ==, once->float_top1);
      g_assert_cmpfloat (r->agreement, ==, once->agreement);
      g_assert_cmpmem (&r->summary, sizeof r->summary, &once->summary, sizeof once->summary);
      g_array_unref (c.partials);
    }
}

/* Cancelling after the first chunk stops the run: no further chunk is delivered. */
static void
test_progressive_cancel (void)
{
  g_autoptr(QsModel) model = sample_model ();
  g_autoptr(QsDataset) dataset = NULL;
  g_autoptr(QsConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(QsEvalResult) r = NULL;
  Collect c = { g_array_new (FALSE, TRUE, sizeof (QsEvalPartial)), cancellable };
  QsEvalOptions opts = { .limit = 1000, .n_threads = 2, .partial = collect, .partial_data = &c };

  if (model == NULL)
    {
      g_test_skip ("the bundled sample model is not available");
      g_array_unref (c.partials);
      return;
    }
  dataset = qs_dataset_open ("sample", &error);
  config = qs_config_new_from_preset ("w8a8", &error);
  g_assert_no_error (error);
  qs_config_set_calib_images (config, 64);
  r = qs_eval_run (model, config, dataset, &opts, NULL, NULL, cancellable, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (c.partials->len, ==, 1);
  g_assert_cmpuint (g_array_index (c.partials, QsEvalPartial, 0).n_images, <, 1000);
  g_array_unref (c.partials);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/eval-live/wilson-published", test_wilson_published);
  g_test_add_func ("/qs/eval-live/paired-difference-newcombe", test_paired_difference);
  g_test_add_func ("/qs/eval-live/progressive-equals-one-shot", test_progressive);
  g_test_add_func ("/qs/eval-live/progressive-cancel", test_progressive_cancel);
  g_test_add_func ("/qs/eval-live/provisional-calibration", test_provisional_calibration);
  return g_test_run ();
}
