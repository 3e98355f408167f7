/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"
#include "test-models.h"

static char *tmp_dir;

static float *
sample_inputs (QsModel *model, QsDataset *dataset, guint n)
{
  g_autoptr(GError) error = NULL;
  float *x = g_new (float, (gsize) n * 784);

  g_assert_true (qs_dataset_fill_inputs (dataset, model, 0, n, x, &error));
  g_assert_no_error (error);
  return x;
}

/* A float config: every value is exact (+inf dB, no relative error), both top-5 lists are
 * the same, and no layer is blamed. */
static void
test_float_config_exact (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsConfig) config = qs_config_new ();
  g_autoptr(QsAttributor) at = NULL;
  g_autoptr(GPtrArray) batch = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = sample_inputs (model, dataset, 4);

  at = qs_attributor_new (model, config, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  batch = qs_attributor_run_batch (at, x, 4, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batch->len, ==, 4);
  for (guint b = 0; b < batch->len; b++)
    {
      QsAttribution *a = g_ptr_array_index (batch, b);

      /* input, conv, pool, flatten, dense#pre, dense: at least the four layers */
      g_assert_cmpuint (a->n_values, >=, 4);
      for (guint i = 0; i < a->n_values; i++)
        {
          g_assert_true (isinf (a->values[i].sqnr_db) && a->values[i].sqnr_db > 0);
          g_assert_cmpfloat (a->values[i].rel_l2, ==, 0.0);
        }
      g_assert_cmpint (a->worst, ==, -1);
      g_assert_cmpuint (a->n_top, ==, 5);
      for (guint k = 0; k < a->n_top; k++)
        g_assert_cmpuint (a->float_top[k].cls, ==, a->quant_top[k].cls);
      g_assert_cmpfloat (a->float_top[0].prob, >=, a->float_top[1].prob);
    }
}

/* int8: the integer values have finite error, and the last value's error is the difference
 * of the two programs' outputs, computed here from qs_engine_int_run. */
static void
test_int8_final_matches_output (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w8a8", NULL);
  g_autoptr(QsAttributor) at = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsLowering) lowering = NULL;
  g_autoptr(QsEngineInt) ref = NULL, quant = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = sample_inputs (model, dataset, 8);
  float ro[10], qo[10];

  qs_config_set_calib_images (config, 50);
  at = qs_attributor_new (model, config, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  calib = qs_calibration_cache_get (NULL, model, "sample-train", 50, NULL, NULL, NULL, &error);
  quant = qs_calibration_compile (calib, model, config, &error);
  lowering = qs_lowering_new (model, NULL, &error);
  ref = qs_engine_int_new (lowering, NULL, &error);
  g_assert_no_error (error);
  for (guint b = 0; b < 8; b++)
    {
      g_autoptr(QsAttribution) a = qs_attributor_run (at, x + b * 784, &error);
      const QsAttributionValue *last;
      double s = 0, e = 0;
      guint n_int = 0;

      g_assert_no_error (error);
      for (guint i = 0; i < a->n_values; i++)
        if (a->values[i].is_integer)
          {
            n_int++;
            g_assert_true (isfinite (a->values[i].sqnr_db));
            g_assert_cmpfloat (a->values[i].rel_l2, >, 0.0);
            g_assert_cmpfloat (a->values[i].rel_l2, <, 0.5);
          }
      g_assert_cmpuint (n_int, >=, 3);
      g_assert_cmpint (a->worst, >=, 0);
      g_assert_true (qs_engine_int_run (ref, x + b * 784, 1, ro, 1, NULL, NULL, NULL, &error));
      g_assert_true (qs_engine_int_run (quant, x + b * 784, 1, qo, 1, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      for (guint c = 0; c < 10; c++)
        {
          s += (double) ro[c] * ro[c];
          e += ((double) qo[c] - ro[c]) * ((double) qo[c] - ro[c]);
          /* the quantized predictions are the program's */
          g_assert_cmpfloat (a->quant_output[c], ==, qo[c]);
        }
      last = &a->values[a->n_values - 1];
      g_assert_cmpstr (last->layer, ==, "dense");
      g_assert_cmpuint (last->n, ==, 10);
      g_assert_cmpfloat_with_epsilon (last->sqnr_db, 10.0 * log10 (s / e), 1e-6);
      g_assert_cmpfloat_with_epsilon (last->rel_l2, sqrt (e / s), 1e-9);
    }
}

/* The per-image summary: predictions and "changed" recomputed from the two engines. */
static void
test_sample_set_independent (void)
{
  g_autoptr(QsModel) model = qs_test_small_cnn (tmp_dir);
  g_autoptr(QsDataset) dataset = qs_dataset_open ("sample", NULL);
  g_autoptr(QsConfig) config = qs_config_new_from_preset ("w4a4", NULL);
  g_autoptr(QsSampleSet) set = NULL;
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsEngineFloat) fe = NULL;
  g_autoptr(QsEngineInt) ie = NULL;
  g_autoptr(GError) error = NULL;
  QsEvalOptions opts = { .limit = 300, .n_threads = 2 };
  const guint n = 300;
  g_autofree float *x = sample_inputs (model, dataset, n);
  g_autofree float *fo = g_new (float, n * 10), *qo = g_new (float, n * 10);
  guint changed = 0;

  qs_config_set_calib_images (config, 50);
  set = qs_sample_set_compute (model, config, dataset, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->n_images, ==, n);
  calib = qs_calibration_cache_get (NULL, model, "sample-train", 50, NULL, NULL, NULL, &error);
  fe = qs_engine_float_new (model, &error);
  ie = qs_calibration_compile (calib, model, config, &error);
  g_assert_true (qs_engine_float_run (fe, x, n, fo, 1, NULL, NULL, NULL, &error));
  g_assert_true (qs_engine_int_run (ie, x, n, qo, 1, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      guint af = qs_test_argmax (fo + i * 10, 10), aq = qs_test_argmax (qo + i * 10, 10);

      g_assert_cmpuint (set->samples[i].float_class, ==, af);
      g_assert_cmpuint (set->samples[i].quant_class, ==, aq);
      g_assert_cmpint (set->samples[i].label, ==, qs_dataset_get_label (dataset, i));
      g_assert_cmpint (set->samples[i].changed, ==, af != aq);
      changed += af != aq;
    }
  g_assert_cmpuint (set->n_changed, ==, changed);
  /* w4a4 on this model changes some answers: the test would prove nothing otherwise */
  g_assert_cmpuint (changed, >, 0);
  g_assert_cmpfloat_with_epsilon (set->eval->agreement, 1.0 - (double) changed / n, 1e-12);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("qs-attribution-XXXXXX", NULL);
  g_test_add_func ("/qs/attribution/float-config-exact", test_float_config_exact);
  g_test_add_func ("/qs/attribution/int8-final-matches-output", test_int8_final_matches_output);
  g_test_add_func ("/qs/attribution/sample-set-independent", test_sample_set_independent);
  status = g_test_run ();
  {
    g_autofree char *p = g_build_filename (tmp_dir, "eval.h5", NULL);
    g_unlink (p);
    g_rmdir (tmp_dir);
  }
  return status;
}
