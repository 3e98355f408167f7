/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quantscope-core.h"

static double
gauss (GRand *rand)
{
  double u = g_rand_double_range (rand, 1e-12, 1.0), v = g_rand_double (rand);
  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

static float *
gaussian_values (gsize n,
                 guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  float *v = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    v[i] = (float) gauss (rand);
  return v;
}

static QsHistogram *
hist_of (const float *v,
         gsize        n,
         guint        bins)
{
  float lo = FLT_MAX, hi = -FLT_MAX;
  QsHistogram *h;

  for (gsize i = 0; i < n; i++)
    lo = MIN (lo, v[i]), hi = MAX (hi, v[i]);
  h = qs_histogram_new (bins, lo, hi);
  qs_histogram_add (h, v, n);
  return h;
}

/* The actual mean squared error of quantizing v with the spec clipped to [lo, hi]. */
static double
actual_mse (const float       *v,
            gsize              n,
            const QsQuantSpec *spec,
            float              lo,
            float              hi)
{
  g_autoptr(QsQuantParams) p = qs_quant_params_from_range (spec, lo, hi, NULL);
  double sum = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      gint32 c = qs_quant_value (v[i], p->scale[0], p->zero_point[0], p->qmin, p->qmax,
                                 QS_ROUNDING_NEAREST_EVEN);
      double e = qs_dequant_value (c, p->scale[0], p->zero_point[0]) - v[i];
      sum += e * e;
    }
  return sum / n;
}

/* The closed-form expected error over histogram bins matches really quantizing. */
static void
test_expected_mse (void)
{
  gsize n = 400000;
  g_autofree float *v = gaussian_values (n, 1);
  g_autoptr(QsHistogram) h = hist_of (v, n, 2048);
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_TENSOR;
  for (guint bits = 2; bits <= 8; bits += 3)
    for (int affine = 0; affine < 2; affine++)
      for (double clip = 1.0; clip <= 5.0; clip += 1.0)
        {
          double expected, actual;

          s.bits = bits;
          s.mapping = affine ? QS_MAPPING_AFFINE : QS_MAPPING_SYMMETRIC;
          expected = qs_range_expected_mse (h, &s, (float) -clip, (float) clip * 0.8f);
          actual = actual_mse (v, n, &s, (float) -clip, (float) clip * 0.8f);
          g_assert_cmpfloat (fabs (expected - actual), <, 0.03 * actual);
        }
}

static void
test_minmax_percentile (void)
{
  gsize n = 100001;
  g_autofree float *v = g_new (float, n);
  g_autoptr(QsHistogram) h = NULL;
  QsQuantSpec s;
  float lo, hi;

  for (gsize i = 0; i < n; i++)
    v[i] = -1.0f + 2.0f * i / (n - 1);     /* uniform on [-1, 1] */
  h = hist_of (v, n, 1000);
  qs_quant_spec_init (&s);
  g_assert_true (qs_range_choose (h, &s, &lo, &hi, NULL));
  g_assert_cmpfloat (lo, ==, -1.0f);
  g_assert_cmpfloat (hi, ==, 1.0f);
  s.range_method = QS_RANGE_PERCENTILE;
  s.range_param = 100.0;
  g_assert_true (qs_range_choose (h, &s, &lo, &hi, NULL));
  g_assert_cmpfloat_with_epsilon (hi, 1.0f, 1e-6);
  s.range_param = 90.0;
  g_assert_true (qs_range_choose (h, &s, &lo, &hi, NULL));
  g_assert_cmpfloat_with_epsilon (hi, 0.9f, 2e-3);
  g_assert_cmpfloat_with_epsilon (lo, -0.9f, 2e-3);
  /* exact on values */
  g_assert_true (qs_range_choose_values (v, n, &s, &lo, &hi, NULL));
  g_assert_cmpfloat_with_epsilon (hi, 0.9f, 1e-4);
  /* affine: each tail loses 10% */
  s.mapping = QS_MAPPING_AFFINE;
  g_assert_true (qs_range_choose (h, &s, &lo, &hi, NULL));
  g_assert_cmpfloat_with_epsilon (lo, -0.8f, 2e-3);
  g_assert_cmpfloat_with_epsilon (hi, 0.8f, 2e-3);
}

/* The search finds (nearly) the best clip a brute-force scan of 2000 clips finds. */
static void
test_mse_search (void)
{
  gsize n = 200000;
  g_autofree float *v = gaussian_values (n, 2);
  g_autoptr(QsHistogram) h = hist_of (v, n, 2048);
  QsQuantSpec s;

  qs_quant_spec_init (&s);
  s.granularity = QS_GRANULARITY_TENSOR;
  s.range_method = QS_RANGE_MSE;
  for (guint bits = 2; bits <= 8; bits += 2)
    {
      float lo, hi, amax = MAX (fabs (h->lo), fabs (h->hi));
      double best = G_MAXDOUBLE, chosen, at_max;

      s.bits = bits;
      g_assert_true (qs_range_choose (h, &s, &lo, &hi, NULL));
      chosen = qs_range_expected_mse (h, &s, lo, hi);
      at_max = qs_range_expected_mse (h, &s, -amax, amax);
      for (int k = 1; k <= 2000; k++)
        best = MIN (best, qs_range_expected_mse (h, &s, -amax * k / 2000, amax * k / 2000));
      g_assert_cmpfloat (chosen, <=, best * 1.01);
      g_assert_cmpfloat (chosen, <=, at_max);
      /* the well-known optimal clips for a unit Gaussian: ~1.7 (2 bit) .. ~4 (8 bit) */
      g_assert_cmpfloat (hi, >, 1.0);
      g_assert_cmpfloat (hi, <, 5.0);
    }
}

static void
test_kl (void)
{
  gsize n = 1000000;
  g_autofree float *v = gaussian_values (n, 3);
  g_autofree float *a = g_new (float, n);
  g_autoptr(QsHistogram) h = hist_of (v, n, 2048);
  g_autoptr(QsHistogram) ha = NULL;
  QsQuantSpec s;
  float lo, hi, lo2, hi2, amax = 0;

  for (gsize i = 0; i < n; i++)
    {
      a[i] = fabsf (v[i]);
      amax = MAX (amax, a[i]);
    }
  ha = qs_histogram_new (2048, 0.0, amax);
  qs_histogram_add (ha, a, n);
  qs_quant_spec_init (&s);
  s.range_method = QS_RANGE_KL;
  g_assert_true (qs_range_choose (ha, &s, &lo, &hi, NULL));
  /* int8 entropy calibration of a Gaussian clips well inside the extremes */
  g_assert_cmpfloat (hi, >, 2.5f);
  g_assert_cmpfloat (hi, <, amax);
  g_assert_cmpfloat (lo, ==, -hi);
  /* a signed histogram is folded into the same answer */
  g_assert_true (qs_range_choose (h, &s, &lo2, &hi2, NULL));
  g_assert_cmpfloat (fabsf (hi2 - hi), <, 0.1f * hi);   /* KL is flat near its minimum */
  g_assert_true (qs_range_choose_values (v, n, &s, &lo2, &hi2, NULL));
  g_assert_cmpfloat (fabsf (hi2 - hi), <, 0.1f * hi);   /* KL is flat near its minimum */
}

static void
test_errors (void)
{
  g_autoptr(QsHistogram) h = qs_histogram_new (16, -1, 1);
  g_autoptr(GError) error = NULL;
  QsQuantSpec s;
  float lo, hi;
  float one = 0.5f;

  qs_quant_spec_init (&s);
  g_assert_false (qs_range_choose (h, &s, &lo, &hi, &error));
  g_assert_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY);
  g_clear_error (&error);
  qs_histogram_add (h, &one, 1);
  s.range_method = QS_RANGE_PERCENTILE;
  s.range_param = 120;
  g_assert_false (qs_range_choose (h, &s, &lo, &hi, &error));
  g_assert_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_INVALID_SPEC);
  g_assert_nonnull (strstr (error->message, "range_param"));
  g_clear_error (&error);
  s.range_param = 99.0;
  g_assert_false (qs_range_choose_values (NULL, 0, &s, &lo, &hi, &error));
  g_assert_error (error, QS_QUANT_ERROR, QS_QUANT_ERROR_EMPTY);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/range/expected-mse", test_expected_mse);
  g_test_add_func ("/qs/range/minmax-percentile", test_minmax_percentile);
  g_test_add_func ("/qs/range/mse-search", test_mse_search);
  g_test_add_func ("/qs/range/kl", test_kl);
  g_test_add_func ("/qs/range/errors", test_errors);
  return g_test_run ();
}
