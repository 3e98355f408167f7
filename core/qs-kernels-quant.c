/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "qs-kernels-quant.h"
#include "qs-kernels-private.h"

/* SplitMix64 finaliser of (seed, index): a counter-based generator, so the draw for an
 * element depends on nothing but the seed and the element's flat index. */
static inline guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

float
qs_stochastic_uniform (guint64 seed,
                       guint64 index)
{
  guint64 h = mix64 (mix64 (seed + G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)) ^
                     (index * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)));

  return (float) (h >> 40) * (1.0f / 16777216.0f);
}

/* The integer r = code - zero_point for v = x / scale, before clamping. */
static inline float
round_value (float      v,
             QsRounding rounding,
             guint64    seed,
             guint64    index)
{
  switch (rounding)
    {
    case QS_ROUNDING_NEAREST_AWAY:
      return roundf (v);
    case QS_ROUNDING_FLOOR:
      return floorf (v);
    case QS_ROUNDING_STOCHASTIC:
      /* floor (v + u), u uniform in [0, 1): E[r] = v. In double so u is not lost for
       * large |v|; the result is an integer of at most 2^24 and exact in float. */
      return (float) floor ((double) v + qs_stochastic_uniform (seed, index));
    case QS_ROUNDING_NEAREST_EVEN:
    default:
      return rintf (v);   /* the default FP environment rounds half to even */
    }
}

float
qs_quant_round (float      v,
                QsRounding rounding,
                guint64    seed,
                guint64    index)
{
  return round_value (v, rounding, seed, index);
}

void
qs_minmax_ref (const float *x,
               gsize        n,
               float       *min,
               float       *max,
               gsize       *n_nan,
               gsize       *n_inf)
{
  float mn = *min, mx = *max;
  gsize nan_count = 0, inf_count = 0;

  for (gsize i = 0; i < n; i++)
    {
      float v = x[i];

      if (G_UNLIKELY (!isfinite (v)))
        {
          if (isnan (v))
            nan_count++;
          else
            inf_count++;
          continue;
        }
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
    }
  *min = mn;
  *max = mx;
  *n_nan += nan_count;
  *n_inf += inf_count;
}

void
qs_minmax_vec_ref (const float *x,
                   gsize        n,
                   float       *min,
                   float       *max,
                   gsize       *n_nan,
                   gsize       *n_inf)
{
  for (gsize i = 0; i < n; i++)
    {
      float v = x[i];

      if (G_UNLIKELY (!isfinite (v)))
        {
          if (isnan (v))
            (*n_nan)++;
          else
            (*n_inf)++;
          continue;
        }
      min[i] = v < min[i] ? v : min[i];
      max[i] = v > max[i] ? v : max[i];
    }
}

void
qs_histogram_count_ref (const float *x,
                        gsize        n,
                        double       lo,
                        double       hi,
                        double       inv_width,
                        guint        n_bins,
                        guint32     *banks,
                        guint32     *outside)
{
  for (gsize i = 0; i < n; i++)
    {
      double v = x[i];
      double idx;
      guint k;

      if (!(v >= lo))
        {
          outside[0] += (v > -INFINITY);     /* NaN and -Inf are not counted */
          continue;
        }
      if (v > hi)
        {
          outside[1] += (v < INFINITY);
          continue;
        }
      idx = (v - lo) * inv_width;
      k = idx >= n_bins ? n_bins - 1 : (guint) idx;
      banks[(i & 7) * (gsize) n_bins + k]++;
    }
}

typedef struct
{
  double sum_e2, sum_x2, sum_e, sum_xe;
  float  max_abs_e;
  gsize  n_finite, n_nan, n_inf, n_clipped;
} Acc;

static inline void
acc_flush (const Acc       *acc,
           QsQuantRowStats *stats)
{
  stats->sum_e2 += acc->sum_e2;
  stats->sum_x2 += acc->sum_x2;
  stats->sum_e += acc->sum_e;
  stats->sum_xe += acc->sum_xe;
  stats->max_abs_e = MAX (stats->max_abs_e, acc->max_abs_e);
  stats->n_finite += acc->n_finite;
  stats->n_nan += acc->n_nan;
  stats->n_inf += acc->n_inf;
  stats->n_clipped += acc->n_clipped;
}

static inline void
quantize_one (float       x,
              float       scale,
              gint32      zp,
              gint32      qmin,
              gint32      qmax,
              QsRounding  rounding,
              guint64     seed,
              guint64     index,
              gint32     *codes,
              float      *dequant,
              guint32    *hist,
              gsize       i,
              gsize       n_levels,
              Acc        *acc)
{
  float lo = (float) (qmin - zp), hi = (float) (qmax - zp);
  float r, d, e;

  if (!isfinite (x))
    {
      if (isnan (x))
        acc->n_nan++;
      else
        acc->n_inf++;
      if (codes)
        codes[i] = zp;
      if (dequant)
        dequant[i] = x;
      return;
    }
  r = round_value (x / scale, rounding, seed, index);
  if (r < lo || r > hi)
    {
      acc->n_clipped++;
      r = r < lo ? lo : hi;
    }
  d = r * scale;
  e = d - x;
  if (codes)
    codes[i] = (gint32) r + zp;
  if (dequant)
    dequant[i] = d;
  if (hist)
    hist[(i & 7) * n_levels + (gsize) ((gint32) r + zp - qmin)]++;
  acc->sum_e2 += (double) e * e;
  acc->sum_x2 += (double) x * x;
  acc->sum_e += e;
  acc->sum_xe += (double) x * e;
  acc->max_abs_e = MAX (acc->max_abs_e, fabsf (e));
  acc->n_finite++;
}

void
qs_quantize_row_round_ref (const float     *x,
                           gsize            n,
                           float            scale,
                           gint32           zero_point,
                           gint32           qmin,
                           gint32           qmax,
                           QsRounding       rounding,
                           guint64          seed,
                           gsize            base_index,
                           gint32          *codes,
                           float           *dequant,
                           guint32         *code_hist,
                           QsQuantRowStats *stats)
{
  Acc acc = { 0 };
  gsize n_levels = (gsize) (qmax - qmin) + 1;

  for (gsize i = 0; i < n; i++)
    quantize_one (x[i], scale, zero_point, qmin, qmax, rounding, seed, base_index + i,
                  codes, dequant, code_hist, i, n_levels, &acc);
  acc_flush (&acc, stats);
}

void
qs_quantize_row_vec_round_ref (const float     *x,
                               gsize            n,
                               const float     *scale,
                               const gint32    *zero_point,
                               gint32           qmin,
                               gint32           qmax,
                               QsRounding       rounding,
                               guint64          seed,
                               gsize            base_index,
                               gint32          *codes,
                               float           *dequant,
                               guint32         *code_hist,
                               QsQuantRowStats *stats)
{
  Acc acc = { 0 };
  gsize n_levels = (gsize) (qmax - qmin) + 1;

  for (gsize i = 0; i < n; i++)
    quantize_one (x[i], scale[i], zero_point[i], qmin, qmax, rounding, seed, base_index + i,
                  codes, dequant, code_hist, i, n_levels, &acc);
  acc_flush (&acc, stats);
}

void
qs_quantize_row_ref (const float     *x,
                     gsize            n,
                     float            scale,
                     gint32           zero_point,
                     gint32           qmin,
                     gint32           qmax,
                     gint32          *codes,
                     float           *dequant,
                     guint32         *code_hist,
                     QsQuantRowStats *stats)
{
  Acc acc = { 0 };
  gsize n_levels = (gsize) (qmax - qmin) + 1;

  for (gsize i = 0; i < n; i++)
    quantize_one (x[i], scale, zero_point, qmin, qmax, QS_ROUNDING_NEAREST_EVEN, 0, 0,
                  codes, dequant, code_hist, i, n_levels, &acc);
  acc_flush (&acc, stats);
}

void
qs_quantize_row_vec_ref (const float     *x,
                         gsize            n,
                         const float     *scale,
                         const gint32    *zero_point,
                         gint32           qmin,
                         gint32           qmax,
                         gint32          *codes,
                         float           *dequant,
                         guint32         *code_hist,
                         QsQuantRowStats *stats)
{
  Acc acc = { 0 };
  gsize n_levels = (gsize) (qmax - qmin) + 1;

  for (gsize i = 0; i < n; i++)
    quantize_one (x[i], scale[i], zero_point[i], qmin, qmax, QS_ROUNDING_NEAREST_EVEN, 0, 0,
                  codes, dequant, code_hist, i, n_levels, &acc);
  acc_flush (&acc, stats);
}

/* ---------------------------------------------------------------- dispatch */

const QsQuantKernels _qs_quant_kernels_ref = {
  "ref", qs_quantize_row_ref, qs_quantize_row_vec_ref, qs_minmax_ref, qs_minmax_vec_ref,
  qs_histogram_count_ref,
};

#ifdef QS_HAVE_SIMD_X86
const QsQuantKernels _qs_quant_kernels_avx2 = {
  "avx2", _qs_quantize_row_avx2, _qs_quantize_row_vec_avx2, _qs_minmax_avx2,
  _qs_minmax_vec_avx2, _qs_histogram_count_avx2,
};

/* The range scans and histogram counting are memory-bound: AVX2's serve here too. */
const QsQuantKernels _qs_quant_kernels_avx512 = {
  "avx512", _qs_quantize_row_avx512, _qs_quantize_row_vec_avx512, _qs_minmax_avx2,
  _qs_minmax_vec_avx2, _qs_histogram_count_avx2,
};
#endif

/* Selection: the table is in qs-kernels.c. */

const QsQuantKernels *
qs_quant_kernels_get (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  return _qs_kernels_family_get (QS_KERNEL_FAMILY_QUANT, name);
}

const QsQuantKernels *const *
qs_quant_kernels_list (void)
{
  static const QsQuantKernels *list[4];
  static gsize init = 0;

  if (g_once_init_enter (&init))
    {
      const char *const *names = qs_kernels_level_names ();
      guint n = 0;

      for (guint i = 0; names[i] != NULL; i++)
        {
          const QsQuantKernels *k = qs_quant_kernels_get (names[i]);
          if (k != NULL)
            list[n++] = k;
        }
      list[n] = NULL;
      g_once_init_leave (&init, 1);
    }
  return list;
}

const QsQuantKernels *
qs_quant_kernels (void)
{
  return qs_kernels_get ()->quant_kernels;
}
