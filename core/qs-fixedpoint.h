/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Fixed-point helpers with gemmlowp / TFLite semantics (names from gemmlowp, snake case).
 * Every integer kernel (scalar and SIMD) requantizes through exactly these functions, so the
 * results are bit-exact to TFLite's reference int8 ops with the classic double rounding, or,
 * in the other requantization modes (QsRequantMode), to TFLite's single rounding, CMSIS-NN,
 * or XNNPACK / ONNX Runtime's float32 rescale. */

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

/* --- the other requantization modes (QsRequantMode, qs-config.h) --- */

/* TFLite MultiplyByQuantizedMultiplier built with TFLITE_SINGLE_ROUNDING
 * (tensorflow/lite/kernels/internal/common.cc): total_shift = 31 - shift, one 64-bit
 * product, one rounding: (x * multiplier + 2^(total_shift - 1)) >> total_shift, i.e. round
 * half toward +infinity. multiplier in [0, 2^31), shift in [-31, 30] (total_shift in
 * [1, 62]); the 64-bit sum never overflows (|x * m| < 2^62). TFLite only DCHECKs that the
 * result fits int32; here it saturates (reachable only with shift > 0). */
static inline gint32
qs_multiply_by_quantized_multiplier_single_rounding (gint32 x,
                                                     gint32 multiplier,
                                                     gint   shift)
{
  gint total_shift = 31 - shift;
  gint64 round, result;

  g_assert (shift >= -31 && shift <= 30);
  round = (gint64) 1 << (total_shift - 1);
  result = ((gint64) x * (gint64) multiplier + round) >> total_shift;
  if (result > G_MAXINT32)
    return G_MAXINT32;
  if (result < G_MININT32)
    return G_MININT32;
  return (gint32) result;
}

/* CMSIS-NN arm_nn_doubling_high_mult_no_sat (Include/arm_nnsupportfunctions.h):
 * (a * b + 2^30) >> 31 with an arithmetic shift, truncated to int32. For every product this
 * equals gemmlowp's nudged, truncating division (qs_saturating_rounding_doubling_high_mul):
 * for a negative product p, trunc ((p + 1 - 2^30) / 2^31) = ceil (...) = floor ((p + 2^30)
 * / 2^31); both round ties toward +infinity (tests/test-fixedpoint.c checks the ties). The
 * one difference: a == b == INT32_MIN wraps to INT32_MIN instead of saturating (the
 * multiplier is never INT32_MIN, so unreachable in the engine). */
static inline gint32
qs_cmsis_nn_doubling_high_mult_no_sat (gint32 a,
                                       gint32 b)
{
  gint64 v = (gint64) a * (gint64) b + ((gint64) 1 << 30);

  /* >> on a negative int64 is arithmetic with gcc and clang */
  return (gint32) (guint32) (guint64) (v >> 31);
}

/* CMSIS-NN arm_nn_requantize, default (not CMSIS_NN_USE_SINGLE_ROUNDING) build:
 * arm_nn_divide_by_power_of_two (arm_nn_doubling_high_mult_no_sat (val * (1 << LEFT_SHIFT
 * (shift)), multiplier), RIGHT_SHIFT (shift)). arm_nn_divide_by_power_of_two is gemmlowp's
 * RoundingDivideByPOT (its "result < 0" test equals "dividend < 0"). What differs from
 * qs_multiply_by_quantized_multiplier: the left shift is a plain int32 multiply, which
 * wraps (two's complement, as the Cortex-M cores compute it) where this library's gemmlowp
 * mode saturates. multiplier in [0, 2^31), shift in [-31, 30]. */
static inline gint32
qs_cmsis_nn_requantize (gint32 x,
                        gint32 multiplier,
                        gint   shift)
{
  gint left = shift > 0 ? shift : 0;
  gint right = shift > 0 ? 0 : -shift;

  return qs_rounding_divide_by_pot (
    qs_cmsis_nn_doubling_high_mult_no_sat ((gint32) ((guint32) x << left), multiplier), right);
}

/* The float32 requantization scale of the fp32-rne mode, exactly as XNNPACK computes it
 * when it creates a qs8 / qu8 convolution or fully-connected operator
 * (src/operators/convolution-nhwc.c, fully-connected-nc.c:
 * requantization_scale[c] = input_scale * kernel_scale[c] / output_scale, all float32, left
 * to right) and as ONNX Runtime's QLinearConv derives its per-channel output scale. The
 * exporters store input_scale, the weight scales and output_scale as float32; a runtime
 * recomputes this very value from them, so a model computed here in QS_REQUANT_FP32_RNE
 * matches it bit for bit. Not sanitised: the caller treats a result that is not positive
 * and finite as "output the zero-point". */
static inline float
qs_requant_scale_f32 (float input_scale,
                      float weight_scale,
                      float output_scale)
{
  /* float32 rounding after each operation (FLT_EVAL_METHOD 0 on x86-64 and aarch64) */
  float product = input_scale * weight_scale;

  return product / output_scale;
}

/* fp32-rne requantization of one accumulator (bias already added), as XNNPACK's
 * *_minmax_fp32_* GEMM / DWCONV micro-kernels (e.g. qs8-gemm ... fp32-scalar-lrintf:
 * vfpacc = (float) vacc * vscale; max (vfpacc, output_min_less_zero_point); min (vfpacc,
 * output_max_less_zero_point); lrintf; + output_zero_point) and ONNX Runtime's
 * MlasRequantizeOutput (onnxruntime/core/mlas/lib/requantize.cpp: acc + bias in int32,
 * _mm_cvtepi32_ps, * scale, _mm_max_ps / _mm_min_ps against (min - zp, max - zp),
 * _mm_cvtps_epi32 under the default MXCSR, i.e. round half to even, + zp) do it.
 * (float) acc itself rounds to nearest even beyond 2^24, as cvtdq2ps does. The clamp is
 * written as MAXPS / MINPS compute it (a NaN, from an infinite scale times 0, becomes lo).
 * Clamping before or after rounding gives the same code: lo and hi are integers, and
 * rounding is monotone and leaves integers unchanged. Returns the code minus the
 * zero-point, in [lo, hi]. */
static inline gint32
qs_requantize_fp32_rne (gint32 acc,
                        float  scale,
                        float  lo,
                        float  hi)
{
  float v = (float) acc * scale;

  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return (gint32) nearbyintf (v);
}

G_END_DECLS
