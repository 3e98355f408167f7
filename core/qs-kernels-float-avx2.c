/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* The float kernels' "avx2" variant: the bodies of qs-kernels-float-private.h built with
 * -mavx2 -mfma (multiply-add fused: not bit-exact to "ref", see qs-kernels-float.h). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("O3")
#endif

#include "qs-kernels-float-private.h"

static void
gemm_avx2 (const float *a, gsize lda, gsize rows, gsize k, const float *w, gsize n,
           const float *bias, float *c, gsize ldc)
{
  qs_gemm_f32_body (a, lda, rows, k, w, n, bias, c, ldc);
}

static void
depthwise_avx2 (const QsDepthwiseParams *p, const float *input, const float *filter,
                const float *bias, float *output)
{
  qs_depthwise_f32_body (p, input, filter, bias, output);
}

const QsFloatKernels _qs_float_kernels_avx2 = { "avx2", gemm_avx2, depthwise_avx2 };
