/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "qs-kernels-int.h"

G_BEGIN_DECLS

/* SIMD variants, each in its own file built with its own -m flags (runtime dispatch in
 * qs-kernels.c). Bit-exact to the scalar reference. */
#ifdef QS_HAVE_SIMD_X86
extern const QsIntKernels _qs_int_kernels_avx2;
extern const QsIntKernels _qs_int_kernels_avx512vnni;
#endif

G_END_DECLS
