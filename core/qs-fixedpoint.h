/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Fixed-point helpers with gemmlowp / TFLite semantics (names from gemmlowp, snake case).
 * Every integer kernel (scalar and SIMD) requantizes through exactly these functions, so the
 * results are bit-exact to TFLite's reference int8 ops with the classic double rounding. */

#include <math.h>
#include <glib.h>

G_BEGIN_DECLS

/* a * b / 2^31 rounded to nearest, ties toward +infinity (the nudge 1 - 2^30 for negative
 * products plus truncating division), as gemmlowp's SaturatingRoundingDoublingHighMul. Inputs: any int32. The only overflow is
 * a == b == INT32_MIN (the exact result 2^31 does not fit): it saturates to INT32_MAX.
 * The 64-bit product never overflows (|a * b| <= 2^62). */
static inline gint32
qs_saturating_rounding_doubling_high_mul (gint32 a,
                                          gint32 b)
{
  gint64 ab = (gint64) a * (gint64) b;
  gint64 nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));

  if (G_UNLIKELY (a == G_MININT32 && b == G_MININT32))
    return G_MAXINT32;
  /* C division truncates toward zero, as gemmlowp's does. */
  return (gint32) ((ab + nudge) / ((gint64) 1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero (gemmlowp RoundingDivideByPOT).
 * exponent in [0, 31]; any int32 x; never overflows (the result's magnitude shrinks). */
static inline gint32
qs_rounding_divide_by_pot (gint32 x,
                           gint   exponent)
{
  gint32 mask, remainder, threshold;

  g_assert (exponent >= 0 && exponent <= 31);
  mask = (gint32) (((guint32) 1 << exponent) - 1);
  remainder = x & mask;
  threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  /* >> on a negative int is an arithmetic shift with gcc and clang (implementation-defined). */
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^left_shift, saturating to [INT32_MIN, INT32_MAX] instead of overflowing
 * (left_shift in [0, 30]). TFLite leaves this overflow undefined; saturation gives the
 * same clamped int8 output whenever TFLite's result is meaningful. */
static inline gint32
qs_saturating_left_shift (gint32 x,
                          gint   left_shift)
{
  gint64 v = (gint64) x * ((gint64) 1 << left_shift);

  g_assert (left_shift >= 0 && left_shift <= 30);
  if (v > G_MAXINT32)
    return G_MAXINT32;
  if (v < G_MININT32)
    return G_MININT32;
  return (gint32) v;
}

/* TFLite MultiplyByQuantizedMultiplier (double rounding): x * multiplier * 2^shift / 2^31.
 * multiplier in [2^30, 2^31 - 1] (or 0), shift in [-31, 30]. Positive shifts are applied
 * before the high multiply (saturating, see qs_saturating_left_shift), negative ones after
 * it with rounding. */
static inline gint32
qs_multiply_by_quantized_multiplier (gint32 x,
                                     gint32 multiplier,
                                     gint   shift)
{
  gint left = shift > 0 ? shift : 0;
  gint right = shift > 0 ? 0 : -shift;

  return qs_rounding_divide_by_pot (
    qs_saturating_rounding_doubling_high_mul (qs_saturating_left_shift (x, left), multiplier),
    right);
}

/* TFLite QuantizeMultiplier: real = multiplier * 2^shift / 2^31 with multiplier in
 * [2^30, 2^31 - 1]. The mantissa is rounded half away from zero; when it rounds up to
 * 2^31 it is halved and the shift incremented. real <= 0 or tiny (shift < -31) gives
 * multiplier 0, shift 0 (the output is then the zero-point); huge (shift > 30) saturates to
 * the largest representable multiplier. real must be finite. */
static inline void
qs_quantize_multiplier (double  real,
                        gint32 *multiplier,
                        gint   *shift)
{
  double q;
  gint64 q_fixed;
  int exponent = 0;

  if (!(real > 0.0) || !isfinite (real))
    {
      *multiplier = 0;
      *shift = 0;
      return;
    }
  q = frexp (real, &exponent);  /* real = q * 2^exponent, q in [0.5, 1) */
  q_fixed = (gint64) round (q * (double) ((gint64) 1 << 31));
  g_assert (q_fixed <= ((gint64) 1 << 31));
  if (q_fixed == ((gint64) 1 << 31))
    {
      q_fixed /= 2;
      exponent++;
    }
  if (exponent < -31)
    {
      exponent = 0;
      q_fixed = 0;
    }
  if (exponent > 30)
    {
      exponent = 30;
      q_fixed = G_MAXINT32;
    }
  *multiplier = (gint32) q_fixed;
  *shift = exponent;
}

G_END_DECLS
