/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "qs-formats.h"

static inline guint32
float_bits (float x)
{
  guint32 u;

  memcpy (&u, &x, sizeof u);
  return u;
}

static inline float
bits_float (guint32 u)
{
  float x;

  memcpy (&x, &u, sizeof x);
  return x;
}

guint16
qs_float_to_fp16_bits (float x)
{
  guint32 u = float_bits (x);
  guint32 sign = (u >> 16) & 0x8000;
  guint32 a = u & 0x7fffffff;
  guint32 h, rem;

  if (a > 0x7f800000)                   /* NaN: quiet, sign kept */
    return sign | 0x7e00;
  if (a == 0x7f800000)                  /* Inf */
    return sign | 0x7c00;
  if (a >= 0x477ff000)                  /* >= 65520 would round to Inf: saturate */
    return sign | 0x7bff;
  if (a < 0x38800000)                   /* below 2^-14: subnormal (or zero), quantum 2^-24 */
    {
      /* |x| * 2^24 < 1024 is exact in float; rintf rounds half to even. A result of
       * 1024 carries into the exponent field and is the smallest normal, 0x0400. */
      return sign | (guint32) rintf (bits_float (a) * 16777216.0f);
    }
  h = ((a >> 23) - 127 + 15) << 10 | ((a >> 13) & 0x3ff);
  rem = a & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    h++;                                /* a mantissa carry bumps the exponent: still right */
  return sign | h;
}

float
qs_fp16_bits_to_float (guint16 bits)
{
  guint32 sign = (guint32) (bits & 0x8000) << 16;
  guint32 e = (bits >> 10) & 0x1f;
  guint32 m = bits & 0x3ff;

  if (e == 0)
    {
      float v = (float) m * (1.0f / 16777216.0f);  /* m * 2^-24, exact */
      return sign ? -v : v;
    }
  if (e == 31)
    return bits_float (sign | 0x7f800000 | (m << 13) | (m ? 0x400000 : 0));
  return bits_float (sign | ((e - 15 + 127) << 23) | (m << 13));
}

guint16
qs_float_to_bf16_bits (float x)
{
  guint32 u = float_bits (x);
  guint32 a = u & 0x7fffffff;
  guint32 r;

  if (a > 0x7f800000)
    return (guint16) ((u >> 16) | 0x40);           /* quiet NaN, sign kept */
  if (a == 0x7f800000)
    return (guint16) (u >> 16);
  r = (u + 0x7fff + ((u >> 16) & 1)) >> 16;        /* round half to even on the cut bits */
  if ((r & 0x7fff) == 0x7f80)                      /* rounded up to Inf: saturate */
    r = (r & 0x8000) | 0x7f7f;
  return (guint16) r;
}

float
qs_bf16_bits_to_float (guint16 bits)
{
  return bits_float ((guint32) bits << 16);
}

/* Small IEEE-like formats with m_bits mantissa bits and the given bias, from the float's
 * magnitude bits a (finite): round to nearest even on the dropped mantissa bits, subnormals
 * through an exact power-of-two scaling and rintf, saturation to max_code (the magnitude
 * pattern of the largest finite value). */
static guint32
minifloat_encode_abs (guint32 a,
                      int     m_bits,
                      int     bias,
                      guint32 max_code)
{
  int e = (int) (a >> 23) - 127;
  int emin = 1 - bias;
  guint32 code, rem, half;
  int shift;

  if (e < emin)
    {
      /* |x| * 2^(m_bits - emin) < 2^m_bits is exact; rintf ties to even. A result of
       * 2^m_bits carries into the exponent field: the smallest normal. */
      return (guint32) rintf (bits_float (a) * ldexpf (1.0f, m_bits - emin));
    }
  shift = 23 - m_bits;
  half = 1u << (shift - 1);
  code = (guint32) (e + bias) << m_bits | ((a & 0x7fffff) >> shift);
  rem = a & ((1u << shift) - 1);
  if (rem > half || (rem == half && (code & 1)))
    code++;
  return code > max_code ? max_code : code;
}

static float
minifloat_decode_abs (guint32 code,
                      int     m_bits,
                      int     bias)
{
  guint32 e = code >> m_bits;
  guint32 m = code & ((1u << m_bits) - 1);

  if (e == 0)
    return (float) m * ldexpf (1.0f, 1 - bias - m_bits);   /* exact */
  return bits_float ((e - bias + 127) << 23 | m << (23 - m_bits));
}

guint8
qs_float_to_e4m3_bits (float x)
{
  guint32 sign = signbit (x) ? 0x80 : 0;

  if (isnan (x))
    return sign | 0x7f;
  if (isinf (x))
    return sign | 0x7e;                 /* no Inf in E4M3FN: saturate to 448 */
  return sign | minifloat_encode_abs (float_bits (x) & 0x7fffffff, 3, 7, 0x7e);
}

float
qs_e4m3_bits_to_float (guint8 bits)
{
  float v;

  if ((bits & 0x7f) == 0x7f)
    return (bits & 0x80) ? -NAN : NAN;
  v = minifloat_decode_abs (bits & 0x7f, 3, 7);
  return (bits & 0x80) ? -v : v;
}

guint8
qs_float_to_e5m2_bits (float x)
{
  guint32 sign = signbit (x) ? 0x80 : 0;

  if (isnan (x))
    return sign | 0x7e;
  if (isinf (x))
    return sign | 0x7c;
  return sign | minifloat_encode_abs (float_bits (x) & 0x7fffffff, 2, 15, 0x7b);
}

float
qs_e5m2_bits_to_float (guint8 bits)
{
  guint32 a = bits & 0x7f;
  float v;

  if (a > 0x7c)
    return (bits & 0x80) ? -NAN : NAN;
  if (a == 0x7c)
    return (bits & 0x80) ? -INFINITY : INFINITY;
  v = minifloat_decode_abs (a, 2, 15);
  return (bits & 0x80) ? -v : v;
}

guint32
qs_format_encode (QsFormat format,
                  float    x)
{
  switch (format)
    {
    case QS_FORMAT_FP32:
      return float_bits (x);
    case QS_FORMAT_FP16:
      return qs_float_to_fp16_bits (x);
    case QS_FORMAT_BF16:
      return qs_float_to_bf16_bits (x);
    case QS_FORMAT_FP8_E4M3:
      return qs_float_to_e4m3_bits (x);
    case QS_FORMAT_FP8_E5M2:
      return qs_float_to_e5m2_bits (x);
    case QS_FORMAT_INT:
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
    default:
      return 0;
    }
}

float
qs_format_decode (QsFormat format,
                  guint32  bits)
{
  switch (format)
    {
    case QS_FORMAT_FP32:
      return bits_float (bits);
    case QS_FORMAT_FP16:
      return qs_fp16_bits_to_float ((guint16) bits);
    case QS_FORMAT_BF16:
      return qs_bf16_bits_to_float ((guint16) bits);
    case QS_FORMAT_FP8_E4M3:
      return qs_e4m3_bits_to_float ((guint8) bits);
    case QS_FORMAT_FP8_E5M2:
      return qs_e5m2_bits_to_float ((guint8) bits);
    case QS_FORMAT_INT:
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
    default:
      return 0.0f;
    }
}

float
qs_format_round (QsFormat format,
                 float    x)
{
  switch (format)
    {
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return qs_format_decode (format, qs_format_encode (format, x));
    case QS_FORMAT_FP32:
    case QS_FORMAT_INT:
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
    default:
      return x;
    }
}

float
qs_format_max_finite (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_FP32:
      return FLT_MAX;
    case QS_FORMAT_FP16:
      return 65504.0f;
    case QS_FORMAT_BF16:
      return qs_bf16_bits_to_float (0x7f7f);
    case QS_FORMAT_FP8_E4M3:
      return 448.0f;
    case QS_FORMAT_FP8_E5M2:
      return 57344.0f;
    case QS_FORMAT_INT:
    case QS_FORMAT_BINARY:
    case QS_FORMAT_TERNARY:
    default:
      return 0.0f;
    }
}

guint
qs_format_storage_bits (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_FP32:
      return 32;
    case QS_FORMAT_FP16:
    case QS_FORMAT_BF16:
      return 16;
    case QS_FORMAT_FP8_E4M3:
    case QS_FORMAT_FP8_E5M2:
      return 8;
    case QS_FORMAT_BINARY:
      return 1;
    case QS_FORMAT_TERNARY:
      return 2;
    case QS_FORMAT_INT:
    default:
      return 0;
    }
}

const char *
qs_format_short_name (QsFormat format)
{
  switch (format)
    {
    case QS_FORMAT_FP32:
      return "fp32";
    case QS_FORMAT_FP16:
      return "fp16";
    case QS_FORMAT_BF16:
      return "bf16";
    case QS_FORMAT_FP8_E4M3:
      return "e4m3";
    case QS_FORMAT_FP8_E5M2:
      return "e5m2";
    case QS_FORMAT_BINARY:
      return "bin";
    case QS_FORMAT_TERNARY:
      return "tern";
    case QS_FORMAT_INT:
    default:
      return "int";
    }
}
