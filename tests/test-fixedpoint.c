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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/fixedpoint/srdhm-exact", test_srdhm);
  g_test_add_func ("/qs/fixedpoint/rdbpot-exact", test_rdbpot);
  g_test_add_func ("/qs/fixedpoint/quantize-multiplier", test_quantize_multiplier);
  g_test_add_func ("/qs/fixedpoint/multiply-by-quantized-multiplier", test_multiply_by_quantized_multiplier);
  return g_test_run ();
}
