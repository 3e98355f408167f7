/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quantscope-core.h"

static float
bits_to_float (guint32 u)
{
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

static void
test_fp16_patterns (void)
{
  g_assert_cmphex (qs_float_to_fp16_bits (1.0f), ==, 0x3c00);
  g_assert_cmphex (qs_float_to_fp16_bits (-2.0f), ==, 0xc000);
  g_assert_cmphex (qs_float_to_fp16_bits (0.0f), ==, 0x0000);
  g_assert_cmphex (qs_float_to_fp16_bits (-0.0f), ==, 0x8000);
  g_assert_cmphex (qs_float_to_fp16_bits (0.1f), ==, 0x2e66);
  g_assert_cmphex (qs_float_to_fp16_bits (1.0f / 3.0f), ==, 0x3555);
  g_assert_cmphex (qs_float_to_fp16_bits (65504.0f), ==, 0x7bff);
  /* Overflow saturates: 65520 would round to Inf in IEEE. */
  g_assert_cmphex (qs_float_to_fp16_bits (65519.0f), ==, 0x7bff);
  g_assert_cmphex (qs_float_to_fp16_bits (65520.0f), ==, 0x7bff);
  g_assert_cmphex (qs_float_to_fp16_bits (-1e9f), ==, 0xfbff);
  g_assert_cmphex (qs_float_to_fp16_bits (INFINITY), ==, 0x7c00);
  g_assert_cmphex (qs_float_to_fp16_bits (-INFINITY), ==, 0xfc00);
  g_assert_cmphex (qs_float_to_fp16_bits (NAN) & 0x7fff, ==, 0x7e00);
  /* Subnormals: 2^-24 is the smallest, 2^-25 ties to even (0), 3 * 2^-25 ties to 2. */
  g_assert_cmphex (qs_float_to_fp16_bits (ldexpf (1.0f, -24)), ==, 0x0001);
  g_assert_cmphex (qs_float_to_fp16_bits (ldexpf (1.0f, -25)), ==, 0x0000);
  g_assert_cmphex (qs_float_to_fp16_bits (ldexpf (3.0f, -25)), ==, 0x0002);
  g_assert_cmphex (qs_float_to_fp16_bits (ldexpf (1.0f, -14)), ==, 0x0400);
  g_assert_cmphex (qs_float_to_fp16_bits (ldexpf (1023.0f, -24)), ==, 0x03ff);
  /* 1 + 2^-11 is a tie between 1 and 1 + 2^-10: even mantissa wins. */
  g_assert_cmphex (qs_float_to_fp16_bits (1.0f + ldexpf (1.0f, -11)), ==, 0x3c00);
  g_assert_cmphex (qs_float_to_fp16_bits (1.0f + 3 * ldexpf (1.0f, -11)), ==, 0x3c02);

  g_assert_cmpfloat (qs_fp16_bits_to_float (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (qs_fp16_bits_to_float (0x3bff), ==, 0.99951171875f);
  g_assert_cmpfloat (qs_fp16_bits_to_float (0x7bff), ==, 65504.0f);
  g_assert_true (isinf (qs_fp16_bits_to_float (0x7c00)));
  g_assert_true (isnan (qs_fp16_bits_to_float (0x7e00)));
  g_assert_true (isnan (qs_fp16_bits_to_float (0x7c01)));
}

/* Every fp16 value round-trips; every midpoint between neighbours rounds to the even one,
 * and a hair either side of it rounds to the nearer one. */
static void
test_fp16_exhaustive (void)
{
  for (guint32 h = 0; h < 0x7c00; h++)
    {
      float v = qs_fp16_bits_to_float ((guint16) h);
      float next, mid;

      g_assert_cmphex (qs_float_to_fp16_bits (v), ==, h);
      g_assert_cmphex (qs_float_to_fp16_bits (-v), ==, h | 0x8000);
      if (h == 0x7bff)
        break;
      next = qs_fp16_bits_to_float ((guint16) (h + 1));
      mid = (float) (((double) v + next) / 2.0);   /* exact: fp16 has few mantissa bits */
      g_assert_cmphex (qs_float_to_fp16_bits (mid), ==, (h & 1) ? h + 1 : h);
      g_assert_cmphex (qs_float_to_fp16_bits (nextafterf (mid, 0.0f)), ==, h);
      g_assert_cmphex (qs_float_to_fp16_bits (nextafterf (mid, INFINITY)), ==, h + 1);
    }
}

static void
test_bf16 (void)
{
  g_assert_cmphex (qs_float_to_bf16_bits (1.0f), ==, 0x3f80);
  g_assert_cmphex (qs_float_to_bf16_bits (3.14159265f), ==, 0x4049);
  g_assert_cmphex (qs_float_to_bf16_bits (-0.0f), ==, 0x8000);
  g_assert_cmphex (qs_float_to_bf16_bits (FLT_MAX), ==, 0x7f7f);    /* saturates */
  g_assert_cmphex (qs_float_to_bf16_bits (-FLT_MAX), ==, 0xff7f);
  g_assert_cmphex (qs_float_to_bf16_bits (INFINITY), ==, 0x7f80);
  g_assert_true ((qs_float_to_bf16_bits (NAN) & 0x7fc0) == 0x7fc0);
  /* subnormal: 2^-133 is the smallest bf16 subnormal */
  g_assert_cmphex (qs_float_to_bf16_bits (ldexpf (1.0f, -133)), ==, 0x0001);
  /* ties to even on the dropped 16 bits */
  g_assert_cmphex (qs_float_to_bf16_bits (bits_to_float (0x3f808000)), ==, 0x3f80);
  g_assert_cmphex (qs_float_to_bf16_bits (bits_to_float (0x3f818000)), ==, 0x3f82);
  g_assert_cmphex (qs_float_to_bf16_bits (bits_to_float (0x3f808001)), ==, 0x3f81);
  for (guint32 h = 0; h < 0x7f80; h++)
    g_assert_cmphex (qs_float_to_bf16_bits (qs_bf16_bits_to_float ((guint16) h)), ==, h);
}

/* Brute force: the nearest of all 256 codes, ties to the even code. */
static guint8
nearest_fp8 (QsFormat format,
             float    x)
{
  double best = G_MAXDOUBLE;
  guint8 best_code = 0;
  gboolean neg = signbit (x);

  for (guint c = 0; c < 128; c++)
    {
      float v = qs_format_decode (format, c);
      double d;

      if (!isfinite (v))
        continue;
      d = fabs (fabs ((double) x) - v);
      if (d < best || (d == best && (c & 1) == 0))
        {
          best = d;
          best_code = (guint8) c;
        }
    }
  return best_code | (neg ? 0x80 : 0);
}

static void
test_fp8_patterns (void)
{
  /* E4M3 (OCP FN): bias 7, max 448, no Inf. */
  g_assert_cmphex (qs_float_to_e4m3_bits (1.0f), ==, 0x38);
  g_assert_cmphex (qs_float_to_e4m3_bits (-1.0f), ==, 0xb8);
  g_assert_cmphex (qs_float_to_e4m3_bits (448.0f), ==, 0x7e);
  g_assert_cmphex (qs_float_to_e4m3_bits (464.0f), ==, 0x7e);
  g_assert_cmphex (qs_float_to_e4m3_bits (1e6f), ==, 0x7e);
  g_assert_cmphex (qs_float_to_e4m3_bits (INFINITY), ==, 0x7e);
  g_assert_cmphex (qs_float_to_e4m3_bits (-INFINITY), ==, 0xfe);
  g_assert_cmphex (qs_float_to_e4m3_bits (NAN) & 0x7f, ==, 0x7f);
  g_assert_cmphex (qs_float_to_e4m3_bits (ldexpf (1.0f, -6)), ==, 0x08);   /* min normal */
  g_assert_cmphex (qs_float_to_e4m3_bits (ldexpf (1.0f, -9)), ==, 0x01);   /* min subnormal */
  g_assert_cmphex (qs_float_to_e4m3_bits (ldexpf (7.0f, -9)), ==, 0x07);
  g_assert_cmphex (qs_float_to_e4m3_bits (ldexpf (1.0f, -10)), ==, 0x00);  /* tie -> even */
  g_assert_cmphex (qs_float_to_e4m3_bits (ldexpf (3.0f, -10)), ==, 0x02);  /* tie -> even */
  g_assert_cmpfloat (qs_e4m3_bits_to_float (0x7e), ==, 448.0f);
  g_assert_cmpfloat (qs_e4m3_bits_to_float (0x01), ==, ldexpf (1.0f, -9));
  g_assert_true (isnan (qs_e4m3_bits_to_float (0x7f)));
  g_assert_true (isnan (qs_e4m3_bits_to_float (0xff)));

  /* E5M2: bias 15, max 57344, Inf and NaN. */
  g_assert_cmphex (qs_float_to_e5m2_bits (1.0f), ==, 0x3c);
  g_assert_cmphex (qs_float_to_e5m2_bits (57344.0f), ==, 0x7b);
  g_assert_cmphex (qs_float_to_e5m2_bits (1e6f), ==, 0x7b);
  g_assert_cmphex (qs_float_to_e5m2_bits (INFINITY), ==, 0x7c);
  g_assert_cmphex (qs_float_to_e5m2_bits (NAN) & 0x7f, ==, 0x7e);
  g_assert_cmphex (qs_float_to_e5m2_bits (ldexpf (1.0f, -16)), ==, 0x01);
  g_assert_cmphex (qs_float_to_e5m2_bits (ldexpf (1.0f, -14)), ==, 0x04);
  g_assert_true (isinf (qs_e5m2_bits_to_float (0x7c)));
  g_assert_true (isnan (qs_e5m2_bits_to_float (0x7d)));

  for (guint c = 0; c < 256; c++)
    {
      if ((c & 0x7f) != 0x7f)
        g_assert_cmphex (qs_float_to_e4m3_bits (qs_e4m3_bits_to_float (c)), ==, c);
      if ((c & 0x7f) < 0x7c)
        g_assert_cmphex (qs_float_to_e5m2_bits (qs_e5m2_bits_to_float (c)), ==, c);
    }
}

static void
test_fp8_brute_force (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);

  for (int i = 0; i < 20000; i++)
    {
      /* log-uniform magnitudes across the whole range, subnormals included */
      float x = (float) (ldexp (1.0, g_rand_int_range (rand, -20, 17)) * g_rand_double_range (rand, 1.0, 2.0));
      if (g_rand_boolean (rand))
        x = -x;
      if (fabsf (x) <= 448.0f)
        g_assert_cmphex (qs_float_to_e4m3_bits (x), ==, nearest_fp8 (QS_FORMAT_FP8_E4M3, x));
      g_assert_cmphex (qs_float_to_e5m2_bits (x), ==, nearest_fp8 (QS_FORMAT_FP8_E5M2, x));
    }
  /* every midpoint between neighbouring codes */
  for (guint c = 0; c < 0x7e; c++)
    {
      double a = qs_e4m3_bits_to_float (c), b = qs_e4m3_bits_to_float (c + 1);
      g_assert_cmphex (qs_float_to_e4m3_bits ((float) ((a + b) / 2)), ==, (c & 1) ? c + 1 : c);
    }
  for (guint c = 0; c < 0x7b; c++)
    {
      double a = qs_e5m2_bits_to_float (c), b = qs_e5m2_bits_to_float (c + 1);
      g_assert_cmphex (qs_float_to_e5m2_bits ((float) ((a + b) / 2)), ==, (c & 1) ? c + 1 : c);
    }
}

static void
test_format_round (void)
{
  g_assert_cmpfloat (qs_format_round (QS_FORMAT_FP32, 0.1f), ==, 0.1f);
  g_assert_cmpfloat (qs_format_round (QS_FORMAT_FP16, 0.1f), ==, qs_fp16_bits_to_float (0x2e66));
  g_assert_cmpfloat (qs_format_round (QS_FORMAT_FP8_E4M3, 1000.0f), ==, 448.0f);
  g_assert_cmpfloat (qs_format_round (QS_FORMAT_FP8_E5M2, -1e9f), ==, -57344.0f);
  g_assert_true (isnan (qs_format_round (QS_FORMAT_BF16, NAN)));
  g_assert_cmpfloat (qs_format_max_finite (QS_FORMAT_FP16), ==, 65504.0f);
  g_assert_cmpuint (qs_format_storage_bits (QS_FORMAT_FP8_E5M2), ==, 8);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/formats/fp16-patterns", test_fp16_patterns);
  g_test_add_func ("/qs/formats/fp16-exhaustive", test_fp16_exhaustive);
  g_test_add_func ("/qs/formats/bf16", test_bf16);
  g_test_add_func ("/qs/formats/fp8-patterns", test_fp8_patterns);
  g_test_add_func ("/qs/formats/fp8-brute-force", test_fp8_brute_force);
  g_test_add_func ("/qs/formats/round", test_format_round);
  return g_test_run ();
}
