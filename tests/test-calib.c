/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <glib/gstdio.h>

#include "quantscope-core.h"
#include "test-models.h"

/* Input [28, 28, 1] -> Flatten -> Dense (6, linear) -> Dense (3, relu). */
static QsModel *
build_model (GRand *rand)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);
  QsLayer *flat = qs_layer_new ("flatten", "Flatten", QS_LAYER_FLATTEN);
  QsLayer *d1 = qs_layer_new ("d1", "Dense", QS_LAYER_DENSE);
  QsLayer *d2 = qs_layer_new ("d2", "Dense", QS_LAYER_DENSE);
  gsize k1[] = { 784, 6 }, b1[] = { 6 }, k2[] = { 6, 3 }, b2[] = { 3 };
  QsTensor *t[4];
  g_autoptr(GError) error = NULL;
  QsModel *m;

  in->output_rank = 3;
  in->output_shape[0] = in->output_shape[1] = 28;
  in->output_shape[2] = 1;
  flat->n_inputs = d1->n_inputs = d2->n_inputs = 1;
  flat->inputs = g_new0 (guint, 1);
  d1->inputs = g_new (guint, 1); d1->inputs[0] = 1;
  d2->inputs = g_new (guint, 1); d2->inputs[0] = 2;
  d1->units = 6;
  d2->units = 3;
  d2->activation = QS_ACTIVATION_RELU;
  t[0] = qs_tensor_new ("d1/kernel", 2, k1, NULL);
  t[1] = qs_tensor_new ("d1/bias", 1, b1, NULL);
  t[2] = qs_tensor_new ("d2/kernel", 2, k2, NULL);
  t[3] = qs_tensor_new ("d2/bias", 1, b2, NULL);
  for (int i = 0; i < 4; i++)
    {
      qs_tensor_set_layout (t[i], i % 2 ? QS_TENSOR_LAYOUT_VECTOR : QS_TENSOR_LAYOUT_DENSE);
      for (gsize j = 0; j < t[i]->n_elements; j++)
        t[i]->data[j] = (float) g_rand_double_range (rand, -0.1, 0.1) * (i == 2 ? 10 : 1);
    }
  g_ptr_array_add (d1->weights, t[0]);
  g_ptr_array_add (d1->weights, t[1]);
  g_ptr_array_add (d2->weights, t[2]);
  g_ptr_array_add (d2->weights, t[3]);
  g_ptr_array_add (layers, in);
  g_ptr_array_add (layers, flat);
  g_ptr_array_add (layers, d1);
  g_ptr_array_add (layers, d2);
  m = qs_model_new_from_layers ("calib-test", layers, &error);
  g_assert_no_error (error);
  return m;
}

/* min / max of every value against an independent double-precision forward pass. */
static void
test_minmax (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(QsModel) model = build_model (rand);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(GError) error = NULL;
  const gsize n = 20;
  g_autofree float *x = g_new (float, n * 784);
  double lo1 = INFINITY, hi1 = -INFINITY, lo2 = INFINITY, hi2 = -INFINITY;
  const float *k1 = qs_layer_get_kernel (qs_model_find_layer (model, "d1"))->data;
  const float *b1 = qs_layer_get_bias (qs_model_find_layer (model, "d1"))->data;
  const float *k2 = qs_layer_get_kernel (qs_model_find_layer (model, "d2"))->data;
  const float *b2 = qs_layer_get_bias (qs_model_find_layer (model, "d2"))->data;
  float lo, hi;

  for (gsize i = 0; i < n * 784; i++)
    x[i] = (float) g_rand_double (rand);
  for (gsize i = 0; i < n; i++)
    {
      double h[6], o;

      for (int j = 0; j < 6; j++)
        {
          h[j] = b1[j];
          for (int k = 0; k < 784; k++)
            h[j] += (double) x[i * 784 + k] * k1[k * 6 + j];
          lo1 = MIN (lo1, h[j]); hi1 = MAX (hi1, h[j]);
        }
      for (int j = 0; j < 3; j++)
        {
          o = b2[j];
          for (int k = 0; k < 6; k++)
            o += (float) h[k] * k2[k * 3 + j];
          o = MAX (o, 0.0);
          lo2 = MIN (lo2, o); hi2 = MAX (hi2, o);
        }
    }

  calib = qs_calibration_new (model, x, n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_calibration_get_n_images (calib), ==, n);
  g_assert_true (qs_calibration_get_minmax (calib, "d1", &lo, &hi));
  g_assert_cmpfloat_with_epsilon (lo, lo1, 1e-4);
  g_assert_cmpfloat_with_epsilon (hi, hi1, 1e-4);
  g_assert_true (qs_calibration_get_minmax (calib, "d2", &lo, &hi));
  g_assert_cmpfloat_with_epsilon (lo, lo2, 1e-4);
  g_assert_cmpfloat_with_epsilon (hi, hi2, 1e-4);
  g_assert_true (qs_calibration_get_minmax (calib, "input", &lo, &hi));
  g_assert_false (qs_calibration_get_minmax (calib, "nothing", &lo, &hi));
}

/* Histogram methods pick ranges inside the min-max range; the histogram counts every value. */
static void
test_range_methods (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);
  g_autoptr(QsModel) model = build_model (rand);
  g_autoptr(QsCalibration) calib = NULL;
  g_autoptr(QsHistogram) hist = NULL;
  g_autoptr(GError) error = NULL;
  const gsize n = 30;
  g_autofree float *x = g_new (float, n * 784);
  QsRangeMethod methods[] = { QS_RANGE_PERCENTILE, QS_RANGE_MSE, QS_RANGE_KL };
  QsQuantSpec spec;
  float mlo, mhi, lo, hi;

  for (gsize i = 0; i < n * 784; i++)
    x[i] = (float) g_rand_double (rand);
  calib = qs_calibration_new (model, x, n, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  hist = qs_calibration_get_histogram (calib, "d1", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hist->total + hist->underflow + hist->overflow, ==, n * 6);
  g_assert_cmpuint (hist->n_bins, ==, QS_CALIB_HIST_BINS);

  qs_quant_spec_init (&spec);
  spec.mapping = QS_MAPPING_AFFINE;
  spec.granularity = QS_GRANULARITY_TENSOR;
  spec.range_param = 99.0;
  g_assert_true (qs_calibration_get_minmax (calib, "d1", &mlo, &mhi));
  spec.range_method = QS_RANGE_MINMAX;
  g_assert_true (qs_calibration_get_range (calib, "d1", &spec, &lo, &hi, &error));
  g_assert_cmpfloat (lo, ==, mlo);
  g_assert_cmpfloat (hi, ==, mhi);
  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      spec.range_method = methods[i];
      g_assert_true (qs_calibration_get_range (calib, "d1", &spec, &lo, &hi, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat (lo, <=, hi);
      g_assert_cmpfloat (lo, >=, MIN (mlo, 0.0f) - 1e-4f);
      g_assert_cmpfloat (hi, <=, MAX (mhi, 0.0f) + 1e-4f);
    }
  g_assert_false (qs_calibration_get_range (calib, "nothing", &spec, &lo, &hi, &error));
  g_assert_error (error, QS_CALIB_ERROR, QS_CALIB_ERROR_NO_VALUE);
}

/* The cache: keyed by model checksum + source + count. */
static void
test_cache (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(QsModel) built = build_model (rand);
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsCalibrationCache) cache = qs_calibration_cache_new ();
  g_autoptr(QsCalibration) a = NULL, b = NULL, c = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("qs-calib-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.h5", NULL);

  g_assert_true (qs_model_save (built, path, NULL, &error));
  g_assert_no_error (error);
  model = qs_model_load (path, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (qs_model_get_checksum (model));

  a = qs_calibration_cache_get (cache, model, "sample-train", 40, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  b = qs_calibration_cache_get (cache, model, "sample-train", 40, NULL, NULL, NULL, &error);
  g_assert_true (a == b);
  c = qs_calibration_cache_get (cache, model, "sample-train", 41, NULL, NULL, NULL, &error);
  g_assert_true (a != c);
  g_assert_cmpuint (qs_calibration_get_n_images (c), ==, 41);
  qs_calibration_cache_clear (cache);
  g_clear_pointer (&b, qs_calibration_unref);
  b = qs_calibration_cache_get (cache, model, "sample-train", 40, NULL, NULL, NULL, &error);
  g_assert_true (a != b);
  g_assert_null (qs_calibration_cache_get (cache, model, "/nonexistent/images-idx3-ubyte", 10, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_unlink (path);
  g_rmdir (dir);
}

/* The passes split the images over threads: every statistic and histogram of a model with
 * branches (tests/test-models.c, model 2) is bit for bit the same on 1 and on 4 threads. */
static void
test_threads_identical (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(QsModel) model = qs_test_model2 (rand);
  g_autoptr(QsCalibration) one = NULL, many = NULL;
  g_autoptr(GError) error = NULL;
  gsize shape[QS_TENSOR_MAX_DIMS], in_size = 1;
  guint rank = qs_model_get_input_shape (model, shape);
  const gsize n = 13;
  g_autofree float *x = NULL;
  guint n_found = 0;

  for (guint i = 0; i < rank; i++)
    in_size *= shape[i];
  x = g_new (float, n * in_size);
  for (gsize i = 0; i < n * in_size; i++)
    /* a few exact zeros and negative zeros, so the zero counts and +0 / -0 choices matter */
    x[i] = i % 7 == 0 ? (i % 2 ? -0.0f : 0.0f) : (float) g_rand_double_range (rand, -1, 1);
  one = qs_calibration_new_full (model, x, n, 1, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  many = qs_calibration_new_full (model, x, n, 4, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  for (guint l = 0; l < qs_model_get_n_layers (model); l++)
    {
      const char *suffixes[] = { "", "#pre", "#dw" };

      for (guint s = 0; s < G_N_ELEMENTS (suffixes); s++)
        {
          g_autofree char *name = g_strconcat (qs_model_get_layer (model, l)->name, suffixes[s], NULL);
          float lo1, hi1, lo2, hi2;
          g_autoptr(QsActStats) a = NULL, b = NULL;

          if (!qs_calibration_get_minmax (one, name, &lo1, &hi1))
            {
              g_assert_false (qs_calibration_get_minmax (many, name, &lo2, &hi2));
              continue;
            }
          n_found++;
          g_assert_true (qs_calibration_get_minmax (many, name, &lo2, &hi2));
          g_assert_cmpmem (&lo1, sizeof lo1, &lo2, sizeof lo2);
          g_assert_cmpmem (&hi1, sizeof hi1, &hi2, sizeof hi2);
          a = qs_calibration_get_activations (one, name, &error);
          g_assert_no_error (error);
          b = qs_calibration_get_activations (many, name, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (a->n_values, ==, b->n_values);
          g_assert_cmpuint (a->n_values, >, 0);
          g_assert_cmpuint (a->n_zero, ==, b->n_zero);
          g_assert_cmpuint (a->n_nonfinite, ==, b->n_nonfinite);
          g_assert_cmpmem (&a->sum_sq, sizeof a->sum_sq, &b->sum_sq, sizeof b->sum_sq);
          g_assert_cmpuint (a->hist->n_bins, ==, b->hist->n_bins);
          g_assert_cmpfloat (a->hist->lo, ==, b->hist->lo);
          g_assert_cmpfloat (a->hist->hi, ==, b->hist->hi);
          g_assert_cmpuint (a->hist->total, ==, b->hist->total);
          g_assert_cmpuint (a->hist->total, >, 0);
          g_assert_cmpuint (a->hist->underflow, ==, b->hist->underflow);
          g_assert_cmpuint (a->hist->overflow, ==, b->hist->overflow);
          g_assert_cmpmem (a->hist->counts, a->hist->n_bins * sizeof (guint64),
                           b->hist->counts, b->hist->n_bins * sizeof (guint64));
          /* every finite value is in the histogram, counted once */
          g_assert_cmpuint (a->hist->total + a->hist->underflow + a->hist->overflow, ==, a->n_values);
        }
    }
  g_assert_cmpuint (n_found, >=, 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/calib/minmax-independent", test_minmax);
  g_test_add_func ("/qs/calib/range-methods", test_range_methods);
  g_test_add_func ("/qs/calib/cache", test_cache);
  g_test_add_func ("/qs/calib/threads-identical", test_threads_identical);
  return g_test_run ();
}
