/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The SIMD variants of qs_conv_f32_sparse () (the float reference convolution): bit for bit
 * the portable loop, chosen by qs_conv_f32_sparse () itself when the CPU has them (unless
 * QS_KERNELS=ref or QS_SPARSE_CONV=loop, which keep the loop: timings, comparisons). Not
 * a kernel level of qs-kernels.h: their results are the reference's on every CPU. */

#include "qs-kernels-params.h"

G_BEGIN_DECLS

#ifdef QS_HAVE_SIMD_X86
void qs_conv_f32_sparse_avx512 (const QsConvParams *p,
                                const float        *input,
                                const float        *filter,
                                const float        *bias,
                                float              *output);
#endif

G_END_DECLS
