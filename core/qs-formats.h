/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-quant.h"

G_BEGIN_DECLS

/* Emulation of the low-precision float formats, bit-exact to hardware conversions:
 *
 *   format      bits  exp/man  bias  max finite   min normal  min subnormal  Inf  NaN
 *   fp16         16    5/10     15    65504        2^-14       2^-24          yes  0x7e00
 *   bf16         16    8/7     127    ~3.39e38     2^-126      2^-133         yes  0x7fc0
 *   fp8 E4M3      8    4/3       7    448          2^-6        2^-9           no   0x7f
 *   fp8 E5M2      8    5/2      15    57344        2^-14       2^-16          yes  0x7e
 *
 * Every conversion from float rounds to nearest, ties to even, keeps subnormals and
 * saturates: a finite value beyond the largest finite number becomes +-max finite, never
 * Inf. NaN stays NaN (quiet, sign kept). Inf stays Inf in the formats that have it; E4M3
 * (OCP "FN", finite only) saturates Inf to +-448 like the SATFINITE hardware mode. */

guint16  qs_float_to_fp16_bits   (float     x);
float    qs_fp16_bits_to_float   (guint16   bits);
guint16  qs_float_to_bf16_bits   (float     x);
float    qs_bf16_bits_to_float   (guint16   bits);
guint8   qs_float_to_e4m3_bits   (float     x);
float    qs_e4m3_bits_to_float   (guint8    bits);
guint8   qs_float_to_e5m2_bits   (float     x);
float    qs_e5m2_bits_to_float   (guint8    bits);

/* Generic forms for the float formats (QS_FORMAT_FP32, FP16, BF16, FP8_*); FP32 is the
 * identity on the IEEE bit pattern. For the integer formats they return 0 / x. */
guint32  qs_format_encode        (QsFormat  format,
                                  float     x);
float    qs_format_decode        (QsFormat  format,
                                  guint32   bits);
/* x converted to the format and back: the simulated ("fake-quantized") value. */
float    qs_format_round         (QsFormat  format,
                                  float     x);
/* Largest finite value of a float format (FLT_MAX for fp32), 0 for the others. */
float    qs_format_max_finite    (QsFormat  format);
/* Storage bits of one value: 32, 16, 16, 8, 8 for the float formats; 1 binary, 2 ternary,
 * 0 for QS_FORMAT_INT (its width is in the spec). */
guint    qs_format_storage_bits  (QsFormat  format);
/* Short name: "fp32", "fp16", "bf16", "e4m3", "e5m2", "int", "bin", "tern". */
const char *qs_format_short_name (QsFormat  format);

G_END_DECLS
