/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-kernels-int.h"
#include "qs-kernels-quant.h"
#include "qs-kernels-float.h"

G_BEGIN_DECLS

/* One selection table for every kernel family (as ggml's type_traits_cpu): the levels
 * below, in increasing order, each listing what every family has at that level.
 *
 *   level     CPU features            int GEMM / requant   quant rows     float GEMM, depthwise
 *   "ref"     any                     scalar reference     scalar         portable loops
 *   "avx2"    AVX2, FMA               AVX2                 AVX2           AVX2 + FMA
 *   "avx512"  AVX-512 F/BW/VL/VNNI    AVX-512 VNNI         AVX-512F       (avx2's: nothing
 *             (+ AVX2, FMA)                                               wider of its own)
 *
 * A family without a kernel of its own at a level uses its next lower one. The choice is
 * made once, on the first call of qs_kernels_get () (thread-safe):
 *
 * - QS_KERNELS unset, empty or "auto": every family takes the best kernel this CPU runs
 *   (each family on its own, so an AVX-512 CPU without VNNI still gets the AVX-512
 *   quantization rows).
 * - QS_KERNELS=ref|avx2|avx512: that level for every family. A level the build lacks
 *   (meson -Dsimd=false, not x86-64) or the CPU lacks, and any other word, is a fatal
 *   error (g_error) naming the word and the valid ones: never a silent fallback.
 *
 * Integer and quantization kernels are bit-exact to "ref" at every level. The float ones
 * are not: their AVX2 variant fuses multiply and add (FMA), so float engine results differ
 * from "ref" in the last bits (see qs-kernels-float.h). The trainer and the integer
 * engine's float islands call the float references directly (CPU-independent results). */

#define QS_KERNELS_ENV "QS_KERNELS"

typedef struct
{
  const char           *name;      /* "ref", "avx2", "avx512"; "auto" when chosen per family */
  const QsIntKernels   *int_kernels;
  const QsQuantKernels *quant_kernels;
  const QsFloatKernels *float_kernels;
} QsKernels;

/* The kernels in use (see above). Never NULL. */
const QsKernels    *qs_kernels_get              (void);
/* The kernels of one level, or NULL when the word is not a level, or the build or the CPU
 * lacks it; on NULL, why (nullable) says why (free with g_free). */
const QsKernels    *qs_kernels_get_level        (const char  *name,
                                                 char       **why);
/* The level words, lowest first, NULL-terminated: { "ref", "avx2", "avx512", NULL }. */
const char *const  *qs_kernels_level_names      (void);

G_END_DECLS
