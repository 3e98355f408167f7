/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The requantization mode enum on its own (no GObject, no json-glib), so the integer kernels
 * can take it; qs-config.h includes it and holds the mode's name, description and setting. */

#include <glib.h>

G_BEGIN_DECLS

/* How integer layers rescale their int32 accumulators to output codes, as the target runtime
 * does (see docs/ARCHITECTURE.md, "Requantization modes"):
 * - GEMMLOWP: TFLite's reference kernels: gemmlowp's SaturatingRoundingDoublingHighMul then
 *   a rounding right shift (two roundings). The default.
 * - SINGLE_ROUNDING: TFLite built with TFLITE_SINGLE_ROUNDING: one 64-bit product, one
 *   rounding right shift (round half up).
 * - FP32_RNE: the accumulator times a float32 scale (in_scale * w_scale / out_scale computed
 *   in float32, in that order), rounded half to even: XNNPACK (LiteRT's CPU path) and ONNX
 *   Runtime's QLinearConv / MatMulInteger rescale.
 * - CMSIS_NN: arm_nn_requantize: CMSIS-NN's doubly rounded multiply (as gemmlowp) with its
 *   own handling of left shifts (a wrapping int32 multiply), as the microcontroller export
 *   runs it.
 * The arithmetic of each is in qs-fixedpoint.h; the integer engine computes in the
 * config's mode. */
typedef enum
{
  QS_REQUANT_GEMMLOWP = 0,
  QS_REQUANT_SINGLE_ROUNDING,
  QS_REQUANT_FP32_RNE,
  QS_REQUANT_CMSIS_NN,
} QsRequantMode;

#define QS_REQUANT_N_MODES 4

G_END_DECLS
