/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "quantscope-core.h"

/* Independent references in 128-bit arithmetic: round half away from zero of p / 2^e. */
static gint64
round_away_pow2 (__int128 p,
                 int      e)
{
  __int128 d = (__int128) 1 << e;
  __int128 mag = p < 0 ? -p : p;
  __int128 q = (mag + d / 2) / d;

  if (e == 0)
    q = mag;
  return (gint64) (p < 0 ? -q : q);
}

/* Nearest, ties toward +infinity: floor ((p + 2^(e-1)) / 2^e). */
static gint64
round_up_pow2 (__int128 p,
               int      e)
{
  __int128 d = (__int128) 1 << e, s = p + d / 2;
  __int128 q = s / d;

  if (s % d != 0 && s < 0)
    q -= 1;
  return (gint64) q;
}

static const gint32 edge[] = {
  G_MININT32, G_MININT32 + 1, -(1 << 30), -65536, -255, -2, -1, 0, 1, 2, 127, 255, 65535,
  1 << 30, (1 << 30) + 1, G_MAXINT32 - 1, G_MAXINT32,
};

static gint32
random_i32 (GRand *rand)
{
  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0: return edge[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge))];
    case 1: return g_rand_int_range (rand, -300, 300);
    default: return (gint32) g_rand_int (rand);
    }
}

static void
test_srdhm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);

  for (int i = 0; i < 200000; i++)
    {
      gint32 a = random_i32 (rand), b = random_i32 (rand);
      gint64 want = round_up_pow2 ((__int128) a * b, 31);

      if (want > G_MAXINT32)
        want = G_MAXINT32;   /* only INT32_MIN * INT32_MIN */
      g_assert_cmpint (qs_saturating_rounding_doubling_high_mul (a, b), ==, want);
    }
  g_assert_cmpint (qs_saturating_rounding_doubling_high_mul (G_MININT32, G_MININT32), ==, G_MAXINT32);
}

static void
test_rdbpot (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);

  for (int e = 0; e <= 31; e++)
    for (int i = 0; i < 5000; i++)
      {
        gint32 x = random_i32 (rand);
        g_assert_cmpint (qs_rounding_divide_by_pot (x, e), ==, round_away_pow2 (x, e));
      }
  /* ties go away from zero */
  g_assert_cmpint (qs_rounding_divide_by_pot (-3, 1), ==, -2);
  g_assert_cmpint (qs_rounding_divide_by_pot (3, 1), ==, 2);
  g_assert_cmpint (qs_rounding_divide_by_pot (G_MININT32, 31), ==, -1);
  g_assert_cmpint (qs_rounding_divide_by_pot (G_MAXINT32, 31), ==, 1);
}

static void
test_quantize_multiplier (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  gint32 m;
  gint s;

  for (int i = 0; i < 100000; i++)
    {
      double real = ldexp (g_rand_double_range (rand, 0.5, 1.0), g_rand_int_range (rand, -30, 30));
      double back;

      qs_quantize_multiplier (real, &m, &s);
      g_assert_cmpint (m, >=, 1 << 30);
      back = ldexp ((double) m, s - 31);
      g_assert_cmpfloat (fabs (back - real), <=, ldexp (1.0, s - 32) * 1.0000001);
    }
  /* The mantissa rounds up to 2^31: halved, exponent + 1 (TFLite QuantizeMultiplier). */
  qs_quantize_multiplier (1.0 - ldexp (1.0, -34), &m, &s);
  g_assert_cmpint (m, ==, 1 << 30);
  g_assert_cmpint (s, ==, 1);
  qs_quantize_multiplier (0.0, &m, &s);
  g_assert_cmpint (m, ==, 0); g_assert_cmpint (s, ==, 0);
  qs_quantize_multiplier (ldexp (1.0, -40), &m, &s);
  g_assert_cmpint (m, ==, 0); g_assert_cmpint (s, ==, 0);
  qs_quantize_multiplier (ldexp (1.0, 40), &m, &s);
  g_assert_cmpint (m, ==, G_MAXINT32); g_assert_cmpint (s, ==, 30);
  qs_quantize_multiplier (0.5, &m, &s);
  g_assert_cmpint (m, ==, 1 << 30); g_assert_cmpint (s, ==, 0);
}

static void
test_multiply_by_quantized_multiplier (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);

  for (int i = 0; i < 200000; i++)
    {
      gint32 x = random_i32 (rand);
      gint32 m = g_rand_int_range (rand, 0, 8) == 0 ? G_MAXINT32
                 : (gint32) g_rand_int_range (rand, 1 << 30, G_MAXINT32);
      gint shift = i % 3 == 0 ? (i % 2 ? -31 : 30) : g_rand_int_range (rand, -31, 31);
      gint left = MAX (shift, 0), right = MAX (-shift, 0);
      __int128 shifted = (__int128) x * ((__int128) 1 << left);
      gint64 high, want;

      if (shifted > G_MAXINT32) shifted = G_MAXINT32;
      if (shifted < G_MININT32) shifted = G_MININT32;
      high = round_up_pow2 (shifted * m, 31);
      if (high > G_MAXINT32) high = G_MAXINT32;
      want = round_away_pow2 (high, right);
      g_assert_cmpint (qs_multiply_by_quantized_multiplier (x, m, shift), ==, want);
    }
  /* Approximates x * real within one unit (two roundings). */
  for (int i = 0; i < 10000; i++)
    {
      double real = g_rand_double_range (rand, 1e-6, 4.0);
      gint32 x = g_rand_int_range (rand, -100000, 100000), m;
      gint s;

      qs_quantize_multiplier (real, &m, &s);
      g_assert_cmpfloat (fabs (qs_multiply_by_quantized_multiplier (x, m, s) - x * real), <=, 1.0 + 1e-9 * fabs (x * real));
    }
}

/* TFLite single rounding, hand-computed: m = 2^30 is 0.5, so x * 2^shift / 2 rounds once,
 * ties toward +infinity, where gemmlowp rounds twice (its second rounding, ties away from
 * zero, differs on negative ties). */
static void
test_single_rounding (void)
{
  const gint32 half = 1 << 30;
  struct { gint32 x, m; gint shift; gint32 want; } cases[] = {
    { 3, half, 0, 2 },          /* 1.5 -> 2 */
    { -3, half, 0, -1 },        /* -1.5 -> -1 (ties up; gemmlowp gives -1 as well) */
    { 5, half, -1, 1 },         /* 1.25 -> 1 */
    { 6, half, -1, 2 },         /* 1.5 -> 2 */
    { -6, half, -1, -1 },       /* -1.5 -> -1; gemmlowp: srdhm -3, then -1.5 away -> -2 */
    { -2, half, -1, 0 },        /* -0.5 -> 0; gemmlowp: srdhm -1, -0.5 away -> -1 */
    { 7, half, 2, 14 },         /* left shift: 7 * 4 / 2 */
    { G_MAXINT32, G_MAXINT32, 30, G_MAXINT32 },   /* saturates */
    { G_MININT32, G_MAXINT32, 30, G_MININT32 },
    { 1000, 0, 0, 0 },
    { G_MININT32, G_MAXINT32, -31, -1 },          /* -2^31 (2^31 - 1) / 2^62 = -0.99.. -> -1 */
    { G_MAXINT32, G_MAXINT32, -31, 1 },           /* (2^31 - 1)^2 / 2^62 = 0.99.. -> 1 */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (qs_multiply_by_quantized_multiplier_single_rounding (cases[i].x, cases[i].m, cases[i].shift),
                     ==, cases[i].want);
  /* the negative ties really differ from the double rounding */
  g_assert_cmpint (qs_multiply_by_quantized_multiplier (-6, half, -1), ==, -2);
  g_assert_cmpint (qs_multiply_by_quantized_multiplier (-2, half, -1), ==, -1);
  /* against 128-bit arithmetic on edges and random values */
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (40);

    for (int rep = 0; rep < 200000; rep++)
      {
        gint32 x = rep < 1000 ? edge[rep % G_N_ELEMENTS (edge)] : (gint32) g_rand_int (rand);
        gint32 m = g_rand_int_range (rand, 0, 4) == 0 ? half : g_rand_int_range (rand, half, G_MAXINT32);
        gint shift = g_rand_int_range (rand, -31, 31);
        gint64 want = round_up_pow2 ((__int128) x * m, 31 - shift);

        want = CLAMP (want, G_MININT32, G_MAXINT32);
        g_assert_cmpint (qs_multiply_by_quantized_multiplier_single_rounding (x, m, shift), ==, want);
      }
  }
}

/* CMSIS-NN: arm_nn_doubling_high_mult_no_sat ((p + 2^30) >> 31) rounds every product,
 * negative ties included, exactly as gemmlowp's nudged truncating division; the left shift
 * wraps where the gemmlowp mode saturates. */
static void
test_cmsis_nn (void)
{
  const gint32 half = 1 << 30;
  g_autoptr(GRand) rand = g_rand_new_with_seed (41);

  /* ties of the high multiply: x * 2^30 / 2^31 = x / 2 */
  g_assert_cmpint (qs_cmsis_nn_doubling_high_mult_no_sat (1, half), ==, 1);    /* 0.5 -> 1 */
  g_assert_cmpint (qs_cmsis_nn_doubling_high_mult_no_sat (-1, half), ==, 0);   /* -0.5 -> 0 */
  g_assert_cmpint (qs_cmsis_nn_doubling_high_mult_no_sat (-3, half), ==, -1);  /* -1.5 -> -1 */
  g_assert_cmpint (qs_cmsis_nn_doubling_high_mult_no_sat (3, half), ==, 2);    /* 1.5 -> 2 */
  g_assert_cmpint (qs_saturating_rounding_doubling_high_mul (-1, half), ==, 0);
  g_assert_cmpint (qs_saturating_rounding_doubling_high_mul (-3, half), ==, -1);
  /* the only product that differs: INT32_MIN^2 wraps instead of saturating */
  g_assert_cmpint (qs_cmsis_nn_doubling_high_mult_no_sat (G_MININT32, G_MININT32), ==, G_MININT32);
  g_assert_cmpint (qs_saturating_rounding_doubling_high_mul (G_MININT32, G_MININT32), ==, G_MAXINT32);
  for (int rep = 0; rep < 200000; rep++)
    {
      gint32 a = rep < 289 ? edge[rep % G_N_ELEMENTS (edge)] : (gint32) g_rand_int (rand);
      gint32 b = rep < 289 ? edge[rep / G_N_ELEMENTS (edge)] : (gint32) g_rand_int (rand);

      if (a == G_MININT32 && b == G_MININT32)
        continue;
      g_assert_cmpint (qs_cmsis_nn_doubling_high_mult_no_sat (a, b), ==, qs_saturating_rounding_doubling_high_mul (a, b));
    }
  /* requantize: right shifts round ties away from zero, as gemmlowp */
  g_assert_cmpint (qs_cmsis_nn_requantize (-6, half, -1), ==, -2);
  g_assert_cmpint (qs_cmsis_nn_requantize (6, half, -1), ==, 2);
  /* 1.25 rounded twice: 2.5 -> 3, then 1.5 -> 2 (single rounding gives 1) */
  g_assert_cmpint (qs_cmsis_nn_requantize (5, half, -1), ==, 2);
  /* left shifts: equal to gemmlowp while x * 2^shift fits, wrap after */
  g_assert_cmpint (qs_cmsis_nn_requantize (7, half, 2), ==, 14);
  g_assert_cmpint (qs_cmsis_nn_requantize (1 << 29, half, 2), ==, G_MININT32 / 2);  /* 2^31 wraps to -2^31 */
  g_assert_cmpint (qs_multiply_by_quantized_multiplier (1 << 29, half, 2), ==, 1 << 30); /* saturates, then halves */
  for (int rep = 0; rep < 200000; rep++)
    {
      gint32 x = g_rand_int_range (rand, -(1 << 20), 1 << 20);
      gint32 m = g_rand_int_range (rand, half, G_MAXINT32);
      gint shift = g_rand_int_range (rand, -31, 10);

      g_assert_cmpint (qs_cmsis_nn_requantize (x, m, shift), ==, qs_multiply_by_quantized_multiplier (x, m, shift));
    }
}

/* fp32-rne: round half to even after a float32 multiply, clamped; the float32 scale of the
 * exporters. */
static void
test_fp32_rne (void)
{
  /* ties to even, positive and negative */
  g_assert_cmpint (qs_requantize_fp32_rne (5, 0.5f, -128, 127), ==, 2);     /* 2.5 -> 2 */
  g_assert_cmpint (qs_requantize_fp32_rne (7, 0.5f, -128, 127), ==, 4);     /* 3.5 -> 4 */
  g_assert_cmpint (qs_requantize_fp32_rne (-5, 0.5f, -128, 127), ==, -2);   /* -2.5 -> -2 */
  g_assert_cmpint (qs_requantize_fp32_rne (-7, 0.5f, -128, 127), ==, -4);   /* -3.5 -> -4 */
  g_assert_cmpint (qs_requantize_fp32_rne (-1, 0.5f, -128, 127), ==, 0);    /* -0.5 -> 0 */
  g_assert_cmpint (qs_requantize_fp32_rne (1, 0.5f, -128, 127), ==, 0);     /* 0.5 -> 0 */
  g_assert_cmpint (qs_requantize_fp32_rne (3, 0.25f, -128, 127), ==, 1);    /* 0.75 -> 1 */
  /* the gemmlowp mode rounds the same ties differently: 2.5 -> 3, -2.5 -> -3 */
  g_assert_cmpint (qs_multiply_by_quantized_multiplier (5, 1 << 30, 0), ==, 3);
  g_assert_cmpint (qs_multiply_by_quantized_multiplier (-5, 1 << 30, 0), ==, -2);
  /* scales above one, clamping (saturation), the accumulator's own rounding */
  g_assert_cmpint (qs_requantize_fp32_rne (100, 3.0f, -128, 127), ==, 127);
  g_assert_cmpint (qs_requantize_fp32_rne (-100, 3.0f, -128, 127), ==, -128);
  g_assert_cmpint (qs_requantize_fp32_rne (G_MAXINT32, 1.0f, -5, 5), ==, 5);
  g_assert_cmpint (qs_requantize_fp32_rne (16777217, 1.0f / 16777216.0f, -128, 127), ==, 1);
  g_assert_cmpint (qs_requantize_fp32_rne (0, 1e30f * 1e30f, -3, 3), ==, -3);   /* NaN -> lo, as MAXPS */
  /* clamping first or after rounding gives the same code */
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (42);

    for (int rep = 0; rep < 100000; rep++)
      {
        gint32 acc = g_rand_int_range (rand, -100000, 100000);
        float scale = (float) g_rand_double_range (rand, 1e-4, 0.1);
        float lo = (float) g_rand_int_range (rand, -128, 0), hi = (float) g_rand_int_range (rand, 0, 128);
        float r = nearbyintf ((float) acc * scale);

        r = r < lo ? lo : (r > hi ? hi : r);
        g_assert_cmpint (qs_requantize_fp32_rne (acc, scale, lo, hi), ==, (gint32) r);
      }
  }
  /* the scale: float32 operations in XNNPACK's order */
  {
    float in = 0.0235294122f, w = 0.00314960629f, out = 0.0470588244f;
    float want = in * w;

    want = want / out;
    g_assert_true (qs_requant_scale_f32 (in, w, out) == want);
    g_assert_true (qs_requant_scale_f32 (0.5f, 0.25f, 0.5f) == 0.25f);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/fixedpoint/srdhm-exact", test_srdhm);
  g_test_add_func ("/qs/fixedpoint/rdbpot-exact", test_rdbpot);
  g_test_add_func ("/qs/fixedpoint/quantize-multiplier", test_quantize_multiplier);
  g_test_add_func ("/qs/fixedpoint/multiply-by-quantized-multiplier", test_multiply_by_quantized_multiplier);
  g_test_add_func ("/qs/fixedpoint/single-rounding-ties", test_single_rounding);
  g_test_add_func ("/qs/fixedpoint/cmsis-nn-requantize", test_cmsis_nn);
  g_test_add_func ("/qs/fixedpoint/fp32-rne-ties", test_fp32_rne);
  return g_test_run ();
}
