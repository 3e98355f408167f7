/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-kernels.h"
#include "qs-kernels-int-private.h"

G_BEGIN_DECLS

/* What each family registers in the selection table of qs-kernels.c. */
extern const QsIntKernels   _qs_int_kernels_ref;
extern const QsQuantKernels _qs_quant_kernels_ref;
extern const QsFloatKernels _qs_float_kernels_ref;
#ifdef QS_HAVE_SIMD_X86
/* _qs_int_kernels_avx2, _qs_int_kernels_avx512vnni: qs-kernels-int-private.h */
extern const QsQuantKernels _qs_quant_kernels_avx2;
extern const QsQuantKernels _qs_quant_kernels_avx512;
extern const QsFloatKernels _qs_float_kernels_avx2;
#endif

typedef enum
{
  QS_KERNEL_FAMILY_INT,
  QS_KERNEL_FAMILY_QUANT,
  QS_KERNEL_FAMILY_FLOAT,
  QS_KERNEL_N_FAMILIES
} QsKernelFamily;

/* One family's own kernel at a level (no inheritance from lower levels), or NULL when it
 * has none there or the CPU lacks what it needs. */
gconstpointer _qs_kernels_family_get (QsKernelFamily  family,
                                      const char     *level);

G_END_DECLS
