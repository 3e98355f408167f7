/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "qs-quant.h"

G_BEGIN_DECLS

/* The hot loop of a quantization pass: quantize, dequantize and measure a row of values
 * that share one scale and zero-point (qs_quantize_row_*) or that carry their own per-element
 * scale and zero-point (qs_quantize_row_vec_*: one Dense row under per-channel params).
 *
 * For every element: v = x / scale (IEEE single division), r = round (v), clipped when
 * r < qmin - zp or r > qmax - zp, r clamped to that range, code = r + zp,
 * dequant = r * scale, error e = dequant - x. Every step is exact IEEE single arithmetic,
 * so SIMD variants produce bit-identical codes and dequantized values.
 *
 * Non-finite inputs (NaN, +-Inf) get code = zp and dequant = x (passed through); they are
 * counted in n_nan / n_inf and left out of every sum and of the code histogram.
 *
 * code_hist: NULL or QS_QUANT_HIST_BANKS banks of (qmax - qmin + 1) counters (bank b at
 * b * n_levels); element i increments bank (i % 8) at code - qmin; the caller sums the banks.
 * One bank per SIMD lane keeps runs of equal codes from serialising on one counter.
 * Sums are added to *stats (not reset), so one QsQuantRowStats can collect many rows. */
#define QS_QUANT_HIST_BANKS 8

typedef struct
{
  double  sum_e2;            /* sum e^2 */
  double  sum_x2;            /* sum x^2 */
  double  sum_e;             /* sum e */
  double  sum_xe;            /* sum x * e */
  float   max_abs_e;
  gsize   n_finite;
  gsize   n_nan;
  gsize   n_inf;
  gsize   n_clipped;
} QsQuantRowStats;

typedef void (*QsQuantizeRowFunc)    (const float     *x,
                                      gsize            n,
                                      float            scale,
                                      gint32           zero_point,
                                      gint32           qmin,
                                      gint32           qmax,
                                      gint32          *codes,      /* nullable */
                                      float           *dequant,    /* nullable */
                                      guint32         *code_hist,  /* nullable */
                                      QsQuantRowStats *stats);
typedef void (*QsQuantizeRowVecFunc) (const float     *x,
                                      gsize            n,
                                      const float     *scale,      /* n */
                                      const gint32    *zero_point, /* n */
                                      gint32           qmin,
                                      gint32           qmax,
                                      gint32          *codes,
                                      float           *dequant,
                                      guint32         *code_hist,
                                      QsQuantRowStats *stats);

/* Finite min/max of x[0..n) folded into *min / *max (callers start them at +-FLT_MAX),
 * NaN and +-Inf counted into *n_nan / *n_inf. */
typedef void (*QsMinmaxFunc)         (const float     *x,
                                      gsize            n,
                                      float           *min,
                                      float           *max,
                                      gsize           *n_nan,
                                      gsize           *n_inf);

/* Element-wise: min[i] = min (min[i], x[i]), max likewise, for finite x[i] (one Dense row
 * into per-channel ranges); NaN / Inf counted. */
typedef void (*QsMinmaxVecFunc)      (const float     *x,
                                      gsize            n,
                                      float           *min,
                                      float           *max,
                                      gsize           *n_nan,
                                      gsize           *n_inf);

/* Histogram counting: element i with lo <= x <= hi goes to bin
 * min ((guint) ((x - lo) * inv_width), n_bins - 1) (double arithmetic) of bank i % 8
 * (banks[b * n_bins + bin]); finite values below lo / above hi increment outside[0] / [1];
 * NaN and +-Inf are not counted. */
typedef void (*QsHistogramFunc)      (const float     *x,
                                      gsize            n,
                                      double           lo,
                                      double           hi,
                                      double           inv_width,
                                      guint            n_bins,
                                      guint32         *banks,
                                      guint32         *outside);

/* One implementation of the round-to-nearest-even kernels. */
typedef struct
{
  const char           *name;           /* the level: "ref", "avx2", "avx512" */
  QsQuantizeRowFunc     quantize_row;
  QsQuantizeRowVecFunc  quantize_row_vec;
  QsMinmaxFunc          minmax;
  QsMinmaxVecFunc       minmax_vec;
  QsHistogramFunc       histogram;
} QsQuantKernels;

/* The implementation in use: qs_kernels_get ()->quant_kernels (see qs-kernels.h for
 * QS_KERNELS). */
const QsQuantKernels *qs_quant_kernels          (void);
/* This family's own implementation at a level ("ref", "avx2", "avx512"), or NULL if it is
 * not built or the CPU lacks it. */
const QsQuantKernels *qs_quant_kernels_get      (const char *name);
/* Every available implementation, "ref" first, NULL-terminated. */
const QsQuantKernels *const *qs_quant_kernels_list (void);

/* Scalar reference kernels (round to nearest even). */
void  qs_minmax_ref            (const float *x, gsize n, float *min, float *max,
                                gsize *n_nan, gsize *n_inf);
void  qs_minmax_vec_ref        (const float *x, gsize n, float *min, float *max,
                                gsize *n_nan, gsize *n_inf);
void  qs_histogram_count_ref   (const float *x, gsize n, double lo, double hi,
                                double inv_width, guint n_bins, guint32 *banks,
                                guint32 *outside);
void  qs_quantize_row_ref      (const float *x, gsize n, float scale, gint32 zero_point,
                                gint32 qmin, gint32 qmax, gint32 *codes, float *dequant,
                                guint32 *code_hist, QsQuantRowStats *stats);
void  qs_quantize_row_vec_ref  (const float *x, gsize n, const float *scale,
                                const gint32 *zero_point, gint32 qmin, gint32 qmax,
                                gint32 *codes, float *dequant, guint32 *code_hist,
                                QsQuantRowStats *stats);

/* Scalar kernels for every rounding mode. base_index is the flat tensor index of x[0]:
 * stochastic rounding draws its uniform number from (seed, index) alone, so results do not
 * depend on how the tensor was split into rows, threads or SIMD lanes. */
void  qs_quantize_row_round_ref     (const float *x, gsize n, float scale, gint32 zero_point,
                                     gint32 qmin, gint32 qmax, QsRounding rounding,
                                     guint64 seed, gsize base_index, gint32 *codes,
                                     float *dequant, guint32 *code_hist,
                                     QsQuantRowStats *stats);
void  qs_quantize_row_vec_round_ref (const float *x, gsize n, const float *scale,
                                     const gint32 *zero_point, gint32 qmin, gint32 qmax,
                                     QsRounding rounding, guint64 seed, gsize base_index,
                                     gint32 *codes, float *dequant, guint32 *code_hist,
                                     QsQuantRowStats *stats);

/* The integer nearest to v (= x / scale) under a rounding mode; index is the element's flat
 * index (stochastic rounding only). Shared by the kernels and qs_quant_value(). */
float qs_quant_round                (float v,
                                     QsRounding rounding,
                                     guint64 seed,
                                     guint64 index);

/* The uniform number in [0, 1) (24 bits) stochastic rounding uses for element index. */
float qs_stochastic_uniform         (guint64 seed,
                                     guint64 index);

#ifdef QS_HAVE_SIMD_X86
/* In qs-kernels-quant-avx2.c / -avx512.c (built with their own -m flags). */
void  _qs_quantize_row_avx2         (const float *x, gsize n, float scale, gint32 zero_point,
                                     gint32 qmin, gint32 qmax, gint32 *codes, float *dequant,
                                     guint32 *code_hist, QsQuantRowStats *stats);
void  _qs_quantize_row_vec_avx2     (const float *x, gsize n, const float *scale,
                                     const gint32 *zero_point, gint32 qmin, gint32 qmax,
                                     gint32 *codes, float *dequant, guint32 *code_hist,
                                     QsQuantRowStats *stats);
void  _qs_minmax_avx2               (const float *x, gsize n, float *min, float *max,
                                     gsize *n_nan, gsize *n_inf);
void  _qs_minmax_vec_avx2           (const float *x, gsize n, float *min, float *max,
                                     gsize *n_nan, gsize *n_inf);
void  _qs_histogram_count_avx2      (const float *x, gsize n, double lo, double hi,
                                     double inv_width, guint n_bins, guint32 *banks,
                                     guint32 *outside);
void  _qs_quantize_row_avx512       (const float *x, gsize n, float scale, gint32 zero_point,
                                     gint32 qmin, gint32 qmax, gint32 *codes, float *dequant,
                                     guint32 *code_hist, QsQuantRowStats *stats);
void  _qs_quantize_row_vec_avx512   (const float *x, gsize n, const float *scale,
                                     const gint32 *zero_point, gint32 qmin, gint32 qmax,
                                     gint32 *codes, float *dequant, guint32 *code_hist,
                                     QsQuantRowStats *stats);
#endif

G_END_DECLS
