/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-kernels-params.h"
#include "qs-model.h"

G_BEGIN_DECLS

/* Float32 kernels of the float engine, of the integer engine's float islands and of the
 * trainer's forward passes. NHWC, one image per call unless stated; Keras weight layouts
 * (Conv2D [kh][kw][in][out], DepthwiseConv2D [kh][kw][in * mult], Dense [in][out]);
 * geometry in QsConvParams (qs-kernels-params.h; input_offset unused). bias may be NULL
 * (zeros).
 *
 * Summation order is part of each kernel's contract, because tests compare engines and the
 * trainer value by value:
 * - GEMM (and the convolution through it): c = bias + sum over k in increasing k, every
 *   k (zeros included). The "ref" variant multiplies then adds; the "avx2" variant fuses
 *   them (FMA): results differ in the last bits, and are the float engine's.
 * - Sparse convolution: bias, then per tap in row-major order (taps outside the image
 *   skipped) per input channel in increasing order, inputs equal to zero skipped; multiply
 *   then add. The trainer's forward and the integer engine's float islands use it, so the
 *   two agree bit for bit on every CPU.
 * - Depthwise: bias, then taps in row-major order (outside taps skipped), y[c * mult + m]
 *   += x[c] * w[c * mult + m]. The reference (qs_depthwise_f32_ref) multiplies then adds
 *   and is what the trainer and the integer engine use; the "avx2" variant (float engine)
 *   fuses.
 * - Pooling: max: y = y > x ? y : x from -inf over the valid taps in row-major order;
 *   average: the sum over the valid taps in row-major order (padding does not count, as
 *   TensorFlow), then the mean as QsPoolMean says. Global pooling is pooling with a
 *   window of the whole image. */

typedef void (*QsGemmF32Func)      (const float             *a,
                                    gsize                    lda,
                                    gsize                    rows,
                                    gsize                    k,
                                    const float             *w,
                                    gsize                    n,
                                    const float             *bias,
                                    float                   *c,
                                    gsize                    ldc);

typedef void (*QsDepthwiseF32Func) (const QsDepthwiseParams *p,
                                    const float             *input,
                                    const float             *filter,
                                    const float             *bias,
                                    float                   *output);

/* The float family of the selection table (qs-kernels.h). */
typedef struct
{
  const char         *name;        /* "ref", "avx2" */
  QsGemmF32Func       gemm;        /* c[r][n] = bias[n] + sum_k a[r][k] * w[k][n], w [k][n] */
  QsDepthwiseF32Func  depthwise;
} QsFloatKernels;

/* The variant in use: qs_kernels_get ()->float_kernels. */
const QsFloatKernels *qs_float_kernels_get         (void);
/* This family's own variant at a level, or NULL when not built or the CPU lacks it. */
const QsFloatKernels *qs_float_kernels_get_by_name (const char *name);

void  qs_gemm_f32_ref          (const float *a, gsize lda, gsize rows, gsize k,
                                const float *w, gsize n, const float *bias,
                                float *c, gsize ldc);
void  qs_depthwise_f32_ref     (const QsDepthwiseParams *p, const float *input,
                                const float *filter, const float *bias, float *output);

/* Convolution as patches (filter_height * filter_width * input_depth values, zeros where
 * the window leaves the image) times the filter viewed as a [k][output_depth] matrix, four
 * output pixels per k->gemm call. patches: scratch of 4 * k floats. */
void  qs_conv_f32              (const QsFloatKernels *k,
                                const QsConvParams   *p,
                                const float          *input,
                                const float          *filter,
                                const float          *bias,
                                float                *output,
                                float                *patches);

/* Direct convolution skipping zero inputs (see the order above); Dense is the 1 x 1 case. */
void  qs_conv_f32_sparse       (const QsConvParams *p,
                                const float        *input,
                                const float        *filter,
                                const float        *bias,
                                float              *output);

/* How average pooling turns its sum into the mean. The three callers had three roundings
 * and their results are kept bit for bit (calibration ranges, trained weights and the
 * trainer-vs-engine tests follow from them); they differ in the last bits only. */
typedef enum
{
  QS_POOL_MEAN_DIVIDE,      /* float sum / count: the float engine (TensorFlow's AvgPool) */
  QS_POOL_MEAN_RECIPROCAL,  /* float sum * (1.0f / count): the trainer, whose backward pass
                             * spreads g * (1.0f / count) */
  QS_POOL_MEAN_DOUBLE,      /* double sum / count, rounded once: the integer engine's float
                             * islands (and so the calibration's float reference) */
} QsPoolMean;

void  qs_max_pool_f32          (const QsConvParams *p,
                                const float        *input,
                                float              *output);
void  qs_avg_pool_f32          (const QsConvParams *p,
                                QsPoolMean          mean,
                                const float        *input,
                                float              *output);

typedef struct
{
  QsActivation activation;
  float        relu_max_value;      /* ReLU: < 0 for none */
  float        relu_negative_slope; /* ReLU */
  float        relu_threshold;      /* ReLU */
  float        alpha;               /* ELU, LeakyReLU */
} QsActivationParams;

/* In place on n values; softmax normalises each run of depth values (the last axis).
 * ReLU without slope and threshold is x > 0 ? MIN (x, max) : +0 (NaN gives 0); otherwise
 * Keras' ReLU (max, then threshold and slope). ELU uses expm1f. */
void  qs_activation_f32        (const QsActivationParams *p,
                                float                    *x,
                                gsize                     n,
                                gsize                     depth);

G_END_DECLS
