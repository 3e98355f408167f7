/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quantscope-core.h"
#include "qs-kernels-quant.h"

static void
assert_sums_close (const QsQuantRowStats *a,
                   const QsQuantRowStats *b)
{
  /* float accumulators flushed every 1024 values vs double: tight relative tolerance */
  g_assert_cmpfloat_with_epsilon (a->sum_e2, b->sum_e2, 1e-5 * fabs (b->sum_e2) + 1e-30);
  g_assert_cmpfloat_with_epsilon (a->sum_x2, b->sum_x2, 1e-5 * fabs (b->sum_x2) + 1e-30);
  g_assert_cmpfloat_with_epsilon (a->sum_e, b->sum_e, 1e-5 * sqrt (b->sum_e2 * b->n_finite) + 1e-30);
  g_assert_cmpfloat_with_epsilon (a->sum_xe, b->sum_xe, 1e-5 * sqrt (b->sum_e2 * b->sum_x2) + 1e-30);
  g_assert_cmpfloat (a->max_abs_e, ==, b->max_abs_e);
  g_assert_cmpuint (a->n_finite, ==, b->n_finite);
  g_assert_cmpuint (a->n_nan, ==, b->n_nan);
  g_assert_cmpuint (a->n_inf, ==, b->n_inf);
  g_assert_cmpuint (a->n_clipped, ==, b->n_clipped);
}

static void
sum_banks (const guint32 *banks,
           gsize          n_levels,
           guint64       *out)
{
  for (gsize k = 0; k < n_levels; k++)
    {
      out[k] = 0;
      for (guint b = 0; b < QS_QUANT_HIST_BANKS; b++)
        out[k] += banks[b * n_levels + k];
    }
}

/* Seeded data with exact .5 ties, clipped values, zeros, -0.0 and the odd NaN / Inf. */
static void
fill (float  *x,
      gsize   n,
      float   scale,
      GRand  *rand,
      gboolean non_finite)
{
  for (gsize i = 0; i < n; i++)
    {
      switch (g_rand_int_range (rand, 0, 6))
        {
        case 0:
          x[i] = ((float) g_rand_int_range (rand, -200, 200) + 0.5f) * scale;   /* ties */
          break;
        case 1:
          x[i] = g_rand_boolean (rand) ? 0.0f : -0.0f;
          break;
        default:
          x[i] = (float) g_rand_double_range (rand, -150.0, 150.0) * scale;
          break;
        }
      if (non_finite && g_rand_int_range (rand, 0, 50) == 0)
        x[i] = g_rand_boolean (rand) ? NAN : (g_rand_boolean (rand) ? INFINITY : -INFINITY);
    }
}

static void
test_bit_exact (void)
{
  const QsQuantKernels *const *list = qs_quant_kernels_list ();
  const QsQuantKernels *ref = qs_quant_kernels_get ("ref");
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  gsize lengths[] = { 0, 1, 7, 8, 9, 15, 31, 33, 1000, 1023, 1024, 1025, 5001 };
  gint32 ranges[][2] = { { -127, 127 }, { -128, 127 }, { 0, 255 }, { -8, 7 }, { -1, 1 }, { -32768, 32767 } };

  g_assert_nonnull (ref);
  g_assert_true (qs_quant_kernels () != NULL);
  g_test_message ("selected kernels: %s", qs_quant_kernels ()->name);

  for (guint ki = 0; list[ki] != NULL; ki++)
    for (guint li = 0; li < G_N_ELEMENTS (lengths); li++)
      for (guint ri = 0; ri < G_N_ELEMENTS (ranges); ri++)
        for (int vec = 0; vec < 2; vec++)
          {
            const QsQuantKernels *k = list[ki];
            gsize n = lengths[li];
            gint32 qmin = ranges[ri][0], qmax = ranges[ri][1];
            gsize n_levels = (gsize) (qmax - qmin) + 1;
            float scale = (float) g_rand_double_range (rand, 0.001, 2.0);
            gint32 zp = qmin == 0 ? g_rand_int_range (rand, 0, qmax + 1) : 0;
            g_autofree float *x = g_new (float, n + 1);
            g_autofree float *scales = g_new (float, n + 1);
            g_autofree gint32 *zps = g_new (gint32, n + 1);
            g_autofree gint32 *c1 = g_new0 (gint32, n + 1), *c2 = g_new0 (gint32, n + 1);
            g_autofree float *d1 = g_new0 (float, n + 1), *d2 = g_new0 (float, n + 1);
            g_autofree guint32 *h1 = g_new0 (guint32, QS_QUANT_HIST_BANKS * n_levels);
            g_autofree guint32 *h2 = g_new0 (guint32, QS_QUANT_HIST_BANKS * n_levels);
            g_autofree guint64 *s1 = g_new (guint64, n_levels), *s2 = g_new (guint64, n_levels);
            QsQuantRowStats st1 = { 0 }, st2 = { 0 };

            fill (x, n, scale, rand, ri % 2 == 0);
            for (gsize i = 0; i < n; i++)
              {
                scales[i] = scale * (float) g_rand_double_range (rand, 0.5, 2.0);
                zps[i] = qmin == 0 ? g_rand_int_range (rand, 0, qmax + 1) : 0;
              }
            if (vec)
              {
                ref->quantize_row_vec (x, n, scales, zps, qmin, qmax, c1, d1, h1, &st1);
                k->quantize_row_vec (x, n, scales, zps, qmin, qmax, c2, d2, h2, &st2);
              }
            else
              {
                ref->quantize_row (x, n, scale, zp, qmin, qmax, c1, d1, h1, &st1);
                k->quantize_row (x, n, scale, zp, qmin, qmax, c2, d2, h2, &st2);
              }
            /* codes and dequantized values bit for bit (NaN payloads included) */
            g_assert_cmpmem (c1, n * sizeof (gint32), c2, n * sizeof (gint32));
            g_assert_cmpmem (d1, n * sizeof (float), d2, n * sizeof (float));
            sum_banks (h1, n_levels, s1);
            sum_banks (h2, n_levels, s2);
            g_assert_cmpmem (s1, n_levels * 8, s2, n_levels * 8);
            assert_sums_close (&st2, &st1);

            /* the reference itself agrees with the single-value helpers */
            for (gsize i = 0; i < n; i++)
              {
                float s = vec ? scales[i] : scale;
                gint32 z = vec ? zps[i] : zp;
                g_assert_cmpint (c1[i], ==, qs_quant_value (x[i], s, z, qmin, qmax, QS_ROUNDING_NEAREST_EVEN));
                if (isfinite (x[i]))
                  g_assert_cmpfloat (d1[i], ==, qs_dequant_value (c1[i], s, z));
              }

            /* outputs are optional */
            {
              QsQuantRowStats st3 = { 0 };
              if (vec)
                k->quantize_row_vec (x, n, scales, zps, qmin, qmax, NULL, NULL, NULL, &st3);
              else
                k->quantize_row (x, n, scale, zp, qmin, qmax, NULL, NULL, NULL, &st3);
              g_assert_cmpfloat (st3.sum_e2, ==, st2.sum_e2);
            }
          }
}

static void
test_minmax (void)
{
  const QsQuantKernels *const *list = qs_quant_kernels_list ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (gsize n = 0; n < 300; n += 1 + n / 3)
    {
      g_autofree float *x = g_new (float, n + 1);
      float mn0 = FLT_MAX, mx0 = -FLT_MAX;
      gsize nan0 = 0, inf0 = 0;

      fill (x, n, 0.1f, rand, TRUE);
      qs_minmax_ref (x, n, &mn0, &mx0, &nan0, &inf0);
      for (guint ki = 0; list[ki] != NULL; ki++)
        {
          float mn = FLT_MAX, mx = -FLT_MAX;
          gsize nan_count = 0, inf_count = 0;

          list[ki]->minmax (x, n, &mn, &mx, &nan_count, &inf_count);
          g_assert_cmpfloat (mn, ==, mn0);
          g_assert_cmpfloat (mx, ==, mx0);
          g_assert_cmpuint (nan_count, ==, nan0);
          g_assert_cmpuint (inf_count, ==, inf0);
        }
      /* element-wise form */
      {
        g_autofree float *mn0v = g_new (float, n + 1), *mx0v = g_new (float, n + 1);
        gsize nan1 = 0, inf1 = 0;

        for (gsize i = 0; i < n; i++)
          {
            mn0v[i] = (float) g_rand_double_range (rand, -0.1, 0.1);
            mx0v[i] = mn0v[i] + 0.05f;
          }
        for (guint ki = 0; list[ki] != NULL; ki++)
          {
            g_autofree float *mn = g_memdup2 (mn0v, (n + 1) * sizeof (float));
            g_autofree float *mx = g_memdup2 (mx0v, (n + 1) * sizeof (float));
            g_autofree float *rmn = g_memdup2 (mn0v, (n + 1) * sizeof (float));
            g_autofree float *rmx = g_memdup2 (mx0v, (n + 1) * sizeof (float));
            gsize nan_count = 0, inf_count = 0, nan_r = 0, inf_r = 0;

            qs_minmax_vec_ref (x, n, rmn, rmx, &nan_r, &inf_r);
            list[ki]->minmax_vec (x, n, mn, mx, &nan_count, &inf_count);
            g_assert_cmpmem (mn, n * sizeof (float), rmn, n * sizeof (float));
            g_assert_cmpmem (mx, n * sizeof (float), rmx, n * sizeof (float));
            g_assert_cmpuint (nan_count, ==, nan_r);
            g_assert_cmpuint (inf_count, ==, inf_r);
            nan1 = nan_r;
            inf1 = inf_r;
          }
        g_assert_cmpuint (nan1, ==, nan0);
        g_assert_cmpuint (inf1, ==, inf0);
      }
    }
}

static void
test_histogram (void)
{
  const QsQuantKernels *const *list = qs_quant_kernels_list ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  guint bins_list[] = { 1, 7, 256, 2048 };

  for (guint bi = 0; bi < G_N_ELEMENTS (bins_list); bi++)
    for (gsize n = 0; n < 5000; n = n * 3 + 7)
      {
        guint n_bins = bins_list[bi];
        double lo = -1.25, hi = 2.5, inv = n_bins / (hi - lo);
        g_autofree float *x = g_new (float, n + 1);
        g_autofree guint32 *ref = g_new0 (guint32, 8 * n_bins);
        guint32 ref_out[2] = { 0, 0 };

        fill (x, n, 0.01f, rand, TRUE);
        for (gsize i = 0; i < n; i += 13)
          x[i] = i % 2 ? (float) hi : (float) lo;     /* both edges */
        qs_histogram_count_ref (x, n, lo, hi, inv, n_bins, ref, ref_out);
        for (guint ki = 0; list[ki] != NULL; ki++)
          {
            g_autofree guint32 *banks = g_new0 (guint32, 8 * n_bins);
            guint32 out[2] = { 0, 0 };

            list[ki]->histogram (x, n, lo, hi, inv, n_bins, banks, out);
            g_assert_cmpmem (banks, 8 * n_bins * 4, ref, 8 * n_bins * 4);
            g_assert_cmpuint (out[0], ==, ref_out[0]);
            g_assert_cmpuint (out[1], ==, ref_out[1]);
          }
      }
}

/* Values whose squares overflow float: the SIMD sums fall back to double, as the
 * reference's. */
static void
test_huge_values (void)
{
  const QsQuantKernels *const *list = qs_quant_kernels_list ();
  gsize n = 3000;
  g_autofree float *x = g_new (float, n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  QsQuantRowStats ref = { 0 };

  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rand, -1.0, 1.0) * 1e30f;
  qs_quantize_row_ref (x, n, 1e28f, 0, -127, 127, NULL, NULL, NULL, &ref);
  g_assert_true (isfinite (ref.sum_x2) && isfinite (ref.sum_e2));
  for (guint ki = 0; list[ki] != NULL; ki++)
    {
      QsQuantRowStats st = { 0 };

      list[ki]->quantize_row (x, n, 1e28f, 0, -127, 127, NULL, NULL, NULL, &st);
      assert_sums_close (&st, &ref);
    }
}

/* Stochastic rounding draws depend only on (seed, index): splitting a row anywhere gives the
 * same codes. */
static void
test_stochastic_split (void)
{
  gsize n = 999;
  g_autofree float *x = g_new (float, n);
  g_autofree gint32 *whole = g_new (gint32, n), *parts = g_new (gint32, n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  QsQuantRowStats st = { 0 };

  fill (x, n, 0.05f, rand, FALSE);
  qs_quantize_row_round_ref (x, n, 0.05f, 0, -127, 127, QS_ROUNDING_STOCHASTIC, 77, 1000,
                             whole, NULL, NULL, &st);
  for (gsize start = 0; start < n; start += 100)
    qs_quantize_row_round_ref (x + start, MIN (100, n - start), 0.05f, 0, -127, 127,
                               QS_ROUNDING_STOCHASTIC, 77, 1000 + start, parts + start, NULL,
                               NULL, &st);
  g_assert_cmpmem (whole, n * 4, parts, n * 4);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpint (whole[i], ==, qs_quant_value_at (x[i], 0.05f, 0, -127, 127,
                                                       QS_ROUNDING_STOCHASTIC, 77, 1000 + i));
  /* the uniform draw is in [0, 1) */
  for (guint64 i = 0; i < 100000; i++)
    {
      float u = qs_stochastic_uniform (3, i);
      g_assert_cmpfloat (u, >=, 0.0f);
      g_assert_cmpfloat (u, <, 1.0f);
    }
}

/* Values a few ulps either side of the rounding ties x = (k + 1/2) scale, for scales whose
 * reciprocal is inexact, tiny and huge scales, and quotients up to 2^24: every kernel's codes
 * and dequantized values equal the reference's. (A kernel that replaces x / scale by
 * x * (1 / scale) without care fails here.) */
static void
test_near_ties (void)
{
  const QsQuantKernels *const *list = qs_quant_kernels_list ();
  const QsQuantKernels *ref = qs_quant_kernels_get ("ref");
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  const float scales[] = { 0.1f, 3.0f, 7.0f, 1.0f / 3.0f, 0.0123457f, 1.1754944e-38f,
                           1e-30f, 6.02e23f, 2.5e38f, 1.0f, 0.5f };
  const gint32 ranges[][2] = { { -127, 127 }, { -32768, 32767 }, { 0, 255 } };
  gsize n = 16 * 600 + 5;
  g_autofree float *x = g_new (float, n);
  g_autofree gint32 *c1 = g_new (gint32, n), *c2 = g_new (gint32, n);
  g_autofree float *d1 = g_new (float, n), *d2 = g_new (float, n);

  for (guint si = 0; si < G_N_ELEMENTS (scales); si++)
    for (guint ri = 0; ri < G_N_ELEMENTS (ranges); ri++)
      {
        float s = scales[si];
        gint32 qmin = ranges[ri][0], qmax = ranges[ri][1];
        gint32 zp = qmin == 0 ? 100 : 0;
        gsize n_levels = (gsize) (qmax - qmin) + 1;

        for (gsize i = 0; i < n; i++)
          {
            /* a tie in units of the scale, mostly inside the range, some far outside */
            double k = g_rand_int_range (rand, 0, 8) == 0
                       ? ldexp (g_rand_double_range (rand, -1.0, 1.0), g_rand_int_range (rand, 0, 25))
                       : g_rand_int_range (rand, qmin - zp - 3, qmax - zp + 3);
            float t = (float) ((floor (k) + 0.5) * s);
            int steps = g_rand_int_range (rand, -4, 5);

            for (int j = 0; j < abs (steps); j++)
              t = nextafterf (t, steps > 0 ? INFINITY : -INFINITY);
            x[i] = isfinite (t) ? t : 0.0f;
          }
        for (guint ki = 0; list[ki] != NULL; ki++)
          {
            g_autofree guint32 *h1 = g_new0 (guint32, QS_QUANT_HIST_BANKS * n_levels);
            g_autofree guint32 *h2 = g_new0 (guint32, QS_QUANT_HIST_BANKS * n_levels);
            g_autofree guint64 *s1 = g_new (guint64, n_levels), *s2 = g_new (guint64, n_levels);
            QsQuantRowStats st1 = { 0 }, st2 = { 0 };

            ref->quantize_row (x, n, s, zp, qmin, qmax, c1, d1, h1, &st1);
            list[ki]->quantize_row (x, n, s, zp, qmin, qmax, c2, d2, h2, &st2);
            g_assert_cmpmem (c1, n * sizeof (gint32), c2, n * sizeof (gint32));
            g_assert_cmpmem (d1, n * sizeof (float), d2, n * sizeof (float));
            sum_banks (h1, n_levels, s1);
            sum_banks (h2, n_levels, s2);
            g_assert_cmpmem (s1, n_levels * 8, s2, n_levels * 8);
            g_assert_cmpuint (st1.n_clipped, ==, st2.n_clipped);
          }
      }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/kernels-quant/bit-exact", test_bit_exact);
  g_test_add_func ("/qs/kernels-quant/minmax", test_minmax);
  g_test_add_func ("/qs/kernels-quant/histogram", test_histogram);
  g_test_add_func ("/qs/kernels-quant/huge-values", test_huge_values);
  g_test_add_func ("/qs/kernels-quant/stochastic-split", test_stochastic_split);
  g_test_add_func ("/qs/kernels-quant/near-ties", test_near_ties);
  return g_test_run ();
}
