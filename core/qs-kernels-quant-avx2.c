/* SPDX-License-Identifier: GPL-3.0-or-later */
/* AVX2 + FMA variants of the quantization kernels in qs-kernels-quant.c. Built as its own
 * static library with -mavx2 -mfma -ffp-contract=off and only called after
 * __builtin_cpu_supports() said yes. Codes and dequantized values are bit-identical to the
 * scalar reference (same IEEE operations in the same order; no contraction into FMA);
 * the float sums use per-lane float accumulators flushed into doubles every 1024 values,
 * so they differ from the reference's double sums only by rounding.
 *
 * With at most 256 levels the histogram indices are narrowed to bytes in a block buffer,
 * counted by a tight byte loop while the next block streams in. Stats-only passes over long
 * rows prefetch in software. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "qs-kernels-quant.h"
#include "qs-kernels-quant-private.h"

#define FLUSH_VECTORS 128   /* vector iterations between flushes of the float accumulators */
#define PREFETCH_BYTES 2048 /* software prefetch distance for streaming loops */

static inline double
hsum_to_double (__m256 v)
{
  __m256d a = _mm256_cvtps_pd (_mm256_castps256_ps128 (v));
  __m256d b = _mm256_cvtps_pd (_mm256_extractf128_ps (v, 1));
  __m128d s;

  a = _mm256_add_pd (a, b);
  s = _mm_add_pd (_mm256_castpd256_pd128 (a), _mm256_extractf128_pd (a, 1));
  s = _mm_add_sd (s, _mm_unpackhi_pd (s, s));
  return _mm_cvtsd_f64 (s);
}

static inline float
hmax (__m256 v)
{
  __m128 m = _mm_max_ps (_mm256_castps256_ps128 (v), _mm256_extractf128_ps (v, 1));

  m = _mm_max_ps (m, _mm_movehl_ps (m, m));
  m = _mm_max_ss (m, _mm_shuffle_ps (m, m, 1));
  return _mm_cvtss_f32 (m);
}

static inline void
quantize_avx2 (const float     *x,
               gsize            n,
               float            scale_s,
               gint32           zp_s,
               const float     *scale_v,
               const gint32    *zp_v,
               gint32           qmin,
               gint32           qmax,
               gint32          *codes,
               float           *dequant,
               guint32         *hist,
               QsQuantRowStats *stats,
               gboolean         per_element)
{
  const __m256 abs_mask = _mm256_castsi256_ps (_mm256_set1_epi32 (0x7fffffff));
  const __m256 inf = _mm256_set1_ps (INFINITY);
  const __m256 qmin_f = _mm256_set1_ps ((float) qmin);
  const __m256 qmax_f = _mm256_set1_ps ((float) qmax);
  const __m256i qmin_i = _mm256_set1_epi32 (qmin);
  const gsize n_levels = (gsize) (qmax - qmin) + 1;
  const gsize n8 = n & ~(gsize) 7;
  __m256 scale = _mm256_set1_ps (scale_s);
  __m256i zp = _mm256_set1_epi32 (zp_s);
  __m256 lo = _mm256_set1_ps ((float) (qmin - zp_s));
  __m256 hi = _mm256_set1_ps ((float) (qmax - zp_s));
  __m256 vmax = _mm256_setzero_ps ();
  const __m256i low_bytes = _mm256_setr_epi8 (0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                              0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i gather_lo = _mm256_setr_epi32 (0, 4, 0, 0, 0, 0, 0, 0);
  /* Streaming a long row from memory for statistics only, the hardware prefetcher alone
   * leaves the loop waiting; with output streams to write, prefetching slows it down. */
  const gboolean prefetch = codes == NULL && dequant == NULL && n >= 4096;
  const gboolean byte_hist = hist != NULL && n_levels <= 256;
  guint8 hbuf[2][8 * FLUSH_VECTORS] __attribute__ ((aligned (32)));
  guint cur = 0;
  gsize prev_len = 0;
  double s_e2 = 0.0, s_x2 = 0.0, s_e = 0.0, s_xe = 0.0;
  gsize n_clipped = 0, n_nonfinite = 0, n_nan = 0;
  gsize i = 0;

  while (i < n8)
    {
      gsize block_start = i, block_end = MIN (n8, i + 8 * FLUSH_VECTORS);
      __m256 a_e2 = _mm256_setzero_ps (), a_x2 = _mm256_setzero_ps ();
      __m256 a_e = _mm256_setzero_ps (), a_xe = _mm256_setzero_ps ();

      for (; i < block_end; i += 8)
        {
          __m256 xv = _mm256_loadu_ps (x + i);
          __m256 finite, xm, r, clip, d, e;
          __m256i code;
          int fmask;

          if (prefetch)
            _mm_prefetch ((const char *) (x + i) + PREFETCH_BYTES, _MM_HINT_T0);
          if (per_element)
            {
              __m256 zpf;

              scale = _mm256_loadu_ps (scale_v + i);
              zp = _mm256_loadu_si256 ((const __m256i *) (zp_v + i));
              zpf = _mm256_cvtepi32_ps (zp);
              lo = _mm256_sub_ps (qmin_f, zpf);
              hi = _mm256_sub_ps (qmax_f, zpf);
            }
          /* |x| < Inf is false for NaN and +-Inf: those lanes are computed as 0.0. */
          finite = _mm256_cmp_ps (_mm256_and_ps (xv, abs_mask), inf, _CMP_LT_OQ);
          fmask = _mm256_movemask_ps (finite);
          xm = _mm256_and_ps (xv, finite);
          r = _mm256_round_ps (_mm256_div_ps (xm, scale),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
          clip = _mm256_or_ps (_mm256_cmp_ps (r, lo, _CMP_LT_OQ),
                               _mm256_cmp_ps (r, hi, _CMP_GT_OQ));
          /* Operand order returns r when equal, keeping -0.0 as the reference does. */
          r = _mm256_min_ps (hi, _mm256_max_ps (lo, r));
          code = _mm256_add_epi32 (_mm256_cvtps_epi32 (r), zp);
          d = _mm256_mul_ps (r, scale);
          e = _mm256_sub_ps (d, xm);

          if (codes != NULL)
            _mm256_storeu_si256 ((__m256i *) (codes + i), code);
          if (dequant != NULL)
            _mm256_storeu_ps (dequant + i, fmask == 0xff ? d : _mm256_blendv_ps (xv, d, finite));

          a_e2 = _mm256_fmadd_ps (e, e, a_e2);
          a_x2 = _mm256_fmadd_ps (xm, xm, a_x2);
          a_e = _mm256_add_ps (a_e, e);
          a_xe = _mm256_fmadd_ps (xm, e, a_xe);
          vmax = _mm256_max_ps (vmax, _mm256_and_ps (e, abs_mask));
          n_clipped += (gsize) __builtin_popcount (_mm256_movemask_ps (clip));

          if (G_UNLIKELY (fmask != 0xff))
            {
              n_nonfinite += 8 - (gsize) __builtin_popcount (fmask);
              n_nan += (gsize) __builtin_popcount (_mm256_movemask_ps (_mm256_cmp_ps (xv, xv, _CMP_UNORD_Q)));
            }
          if (byte_hist)
            {
              __m256i idx = _mm256_sub_epi32 (code, qmin_i);
              __m256i packed = _mm256_permutevar8x32_epi32 (_mm256_shuffle_epi8 (idx, low_bytes),
                                                           gather_lo);
              gsize o = i - block_start;

              _mm_storel_epi64 ((__m128i *) (hbuf[cur] + o), _mm256_castsi256_si128 (packed));
              /* count the previous block's bytes while this block streams in */
              if (o < prev_len)
                _qs_count_hist_bytes (hbuf[cur ^ 1] + o, 8, hist, n_levels);
              if (G_UNLIKELY (fmask != 0xff))
                {
                  /* counted by the byte loop; taken out again here (unsigned wrap-around
                   * in between is harmless) */
                  gint32 lanes[8];

                  _mm256_storeu_si256 ((__m256i *) lanes, idx);
                  for (int k = 0; k < 8; k++)
                    if (!(fmask & (1 << k)))
                      hist[k * n_levels + lanes[k]]--;
                }
            }
          else if (hist != NULL)
            {
              __m256i idx = _mm256_sub_epi32 (code, qmin_i);

              if (G_LIKELY (fmask == 0xff))
                {
                  /* Indices leave through registers (no store / narrow reload), two per
                   * 64-bit lane; one bank per SIMD lane. */
                  __m128i lo4 = _mm256_castsi256_si128 (idx), hi4 = _mm256_extracti128_si256 (idx, 1);
                  guint64 i01 = (guint64) _mm_cvtsi128_si64 (lo4);
                  guint64 i23 = (guint64) _mm_extract_epi64 (lo4, 1);
                  guint64 i45 = (guint64) _mm_cvtsi128_si64 (hi4);
                  guint64 i67 = (guint64) _mm_extract_epi64 (hi4, 1);

                  hist[(guint32) i01]++;
                  hist[1 * n_levels + (i01 >> 32)]++;
                  hist[2 * n_levels + (guint32) i23]++;
                  hist[3 * n_levels + (i23 >> 32)]++;
                  hist[4 * n_levels + (guint32) i45]++;
                  hist[5 * n_levels + (i45 >> 32)]++;
                  hist[6 * n_levels + (guint32) i67]++;
                  hist[7 * n_levels + (i67 >> 32)]++;
                }
              else
                {
                  gint32 lanes[8];

                  _mm256_storeu_si256 ((__m256i *) lanes, idx);
                  for (int k = 0; k < 8; k++)
                    if (fmask & (1 << k))
                      hist[k * n_levels + lanes[k]]++;
                }
            }
        }
      if (byte_hist)
        {
          /* block_start is a multiple of 8, so byte j of each 8 is element bank j. What of
           * the previous block this (shorter, last) block did not reach, then swap. */
          if (prev_len > i - block_start)
            _qs_count_hist_bytes (hbuf[cur ^ 1] + (i - block_start), prev_len - (i - block_start),
                                  hist, n_levels);
          prev_len = i - block_start;
          cur ^= 1;
        }
      {
        double b_e2 = hsum_to_double (a_e2), b_x2 = hsum_to_double (a_x2);
        double b_e = hsum_to_double (a_e), b_xe = hsum_to_double (a_xe);

        if (G_UNLIKELY (!isfinite (b_e2 + b_x2 + b_e + b_xe)))
          {
            /* |x| beyond ~1e19 overflows a float square: redo this block's sums in
             * double with the reference (no outputs, no histogram). */
            QsQuantRowStats redo = { 0 };

            if (per_element)
              qs_quantize_row_vec_ref (x + block_start, i - block_start, scale_v + block_start,
                                       zp_v + block_start, qmin, qmax, NULL, NULL, NULL, &redo);
            else
              qs_quantize_row_ref (x + block_start, i - block_start, scale_s, zp_s, qmin, qmax,
                                   NULL, NULL, NULL, &redo);
            b_e2 = redo.sum_e2;
            b_x2 = redo.sum_x2;
            b_e = redo.sum_e;
            b_xe = redo.sum_xe;
          }
        s_e2 += b_e2;
        s_x2 += b_x2;
        s_e += b_e;
        s_xe += b_xe;
      }
    }

  if (byte_hist)
    _qs_count_hist_bytes (hbuf[cur ^ 1], prev_len, hist, n_levels);

  stats->sum_e2 += s_e2;
  stats->sum_x2 += s_x2;
  stats->sum_e += s_e;
  stats->sum_xe += s_xe;
  stats->max_abs_e = MAX (stats->max_abs_e, hmax (vmax));
  stats->n_finite += n8 - n_nonfinite;
  stats->n_nan += n_nan;
  stats->n_inf += n_nonfinite - n_nan;
  stats->n_clipped += n_clipped;

  if (n8 < n)
    {
      if (per_element)
        qs_quantize_row_vec_ref (x + n8, n - n8, scale_v + n8, zp_v + n8, qmin, qmax,
                                 codes ? codes + n8 : NULL, dequant ? dequant + n8 : NULL,
                                 hist, stats);
      else
        qs_quantize_row_ref (x + n8, n - n8, scale_s, zp_s, qmin, qmax,
                             codes ? codes + n8 : NULL, dequant ? dequant + n8 : NULL,
                             hist, stats);
    }
}

void
_qs_quantize_row_avx2 (const float     *x,
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
  quantize_avx2 (x, n, scale, zero_point, NULL, NULL, qmin, qmax, codes, dequant, code_hist,
                 stats, FALSE);
}

void
_qs_quantize_row_vec_avx2 (const float     *x,
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
  quantize_avx2 (x, n, 1.0f, 0, scale, zero_point, qmin, qmax, codes, dequant, code_hist,
                 stats, TRUE);
}

void
_qs_minmax_avx2 (const float *x,
                 gsize        n,
                 float       *min,
                 float       *max,
                 gsize       *n_nan,
                 gsize       *n_inf)
{
  const __m256 abs_mask = _mm256_castsi256_ps (_mm256_set1_epi32 (0x7fffffff));
  const __m256 inf = _mm256_set1_ps (INFINITY);
  const gsize n8 = n & ~(gsize) 7;
  __m256 mn = _mm256_set1_ps (*min), mx = _mm256_set1_ps (*max);
  gsize nonfinite = 0, nan_count = 0;
  gsize i;

  /* Two vectors (one cache line) per iteration into two accumulator pairs, with a software
   * prefetch: streaming from memory, the hardware prefetcher alone leaves the loop
   * waiting. */
  __m256 mn2 = mn, mx2 = mx;

  for (i = 0; i + 16 <= n8; i += 16)
    {
      __m256 xa = _mm256_loadu_ps (x + i), xb = _mm256_loadu_ps (x + i + 8);
      __m256 fa = _mm256_cmp_ps (_mm256_and_ps (xa, abs_mask), inf, _CMP_LT_OQ);
      __m256 fb = _mm256_cmp_ps (_mm256_and_ps (xb, abs_mask), inf, _CMP_LT_OQ);

      _mm_prefetch ((const char *) (x + i) + PREFETCH_BYTES, _MM_HINT_T0);
      if (G_LIKELY (_mm256_movemask_ps (_mm256_and_ps (fa, fb)) == 0xff))
        {
          mn = _mm256_min_ps (mn, xa);
          mx = _mm256_max_ps (mx, xa);
          mn2 = _mm256_min_ps (mn2, xb);
          mx2 = _mm256_max_ps (mx2, xb);
        }
      else
        {
          /* Non-finite lanes are replaced by the running min / max: no effect. */
          mn = _mm256_min_ps (mn, _mm256_blendv_ps (mn, xa, fa));
          mx = _mm256_max_ps (mx, _mm256_blendv_ps (mx, xa, fa));
          mn2 = _mm256_min_ps (mn2, _mm256_blendv_ps (mn2, xb, fb));
          mx2 = _mm256_max_ps (mx2, _mm256_blendv_ps (mx2, xb, fb));
          nonfinite += 16 - (gsize) __builtin_popcount (_mm256_movemask_ps (fa)) -
                       (gsize) __builtin_popcount (_mm256_movemask_ps (fb));
          nan_count += (gsize) __builtin_popcount (_mm256_movemask_ps (_mm256_cmp_ps (xa, xa, _CMP_UNORD_Q)));
          nan_count += (gsize) __builtin_popcount (_mm256_movemask_ps (_mm256_cmp_ps (xb, xb, _CMP_UNORD_Q)));
        }
    }
  for (; i < n8; i += 8)
    {
      __m256 xv = _mm256_loadu_ps (x + i);
      __m256 finite = _mm256_cmp_ps (_mm256_and_ps (xv, abs_mask), inf, _CMP_LT_OQ);
      int fmask = _mm256_movemask_ps (finite);

      mn = _mm256_min_ps (mn, _mm256_blendv_ps (mn, xv, finite));
      mx = _mm256_max_ps (mx, _mm256_blendv_ps (mx, xv, finite));
      nonfinite += 8 - (gsize) __builtin_popcount (fmask);
      nan_count += (gsize) __builtin_popcount (_mm256_movemask_ps (_mm256_cmp_ps (xv, xv, _CMP_UNORD_Q)));
    }
  {
    float lanes_mn[16], lanes_mx[16];

    _mm256_storeu_ps (lanes_mn, mn);
    _mm256_storeu_ps (lanes_mx, mx);
    _mm256_storeu_ps (lanes_mn + 8, mn2);
    _mm256_storeu_ps (lanes_mx + 8, mx2);
    for (int k = 0; k < 16; k++)
      {
        *min = MIN (*min, lanes_mn[k]);
        *max = MAX (*max, lanes_mx[k]);
      }
  }
  *n_nan += nan_count;
  *n_inf += nonfinite - nan_count;
  qs_minmax_ref (x + n8, n - n8, min, max, n_nan, n_inf);
}

void
_qs_minmax_vec_avx2 (const float *x,
                     gsize        n,
                     float       *min,
                     float       *max,
                     gsize       *n_nan,
                     gsize       *n_inf)
{
  const __m256 abs_mask = _mm256_castsi256_ps (_mm256_set1_epi32 (0x7fffffff));
  const __m256 inf = _mm256_set1_ps (INFINITY);
  const gsize n8 = n & ~(gsize) 7;
  gsize nonfinite = 0, nan_count = 0;

  for (gsize i = 0; i < n8; i += 8)
    {
      __m256 xv = _mm256_loadu_ps (x + i);
      __m256 mn = _mm256_loadu_ps (min + i), mx = _mm256_loadu_ps (max + i);
      __m256 finite = _mm256_cmp_ps (_mm256_and_ps (xv, abs_mask), inf, _CMP_LT_OQ);
      int fmask = _mm256_movemask_ps (finite);

      _mm_prefetch ((const char *) (x + i) + PREFETCH_BYTES, _MM_HINT_T0);
      if (G_UNLIKELY (fmask != 0xff))
        {
          xv = _mm256_blendv_ps (mn, xv, finite);   /* for min; max below */
          _mm256_storeu_ps (min + i, _mm256_min_ps (mn, xv));
          xv = _mm256_blendv_ps (mx, _mm256_loadu_ps (x + i), finite);
          _mm256_storeu_ps (max + i, _mm256_max_ps (mx, xv));
          nonfinite += 8 - (gsize) __builtin_popcount (fmask);
          xv = _mm256_loadu_ps (x + i);
          nan_count += (gsize) __builtin_popcount (_mm256_movemask_ps (_mm256_cmp_ps (xv, xv, _CMP_UNORD_Q)));
          continue;
        }
      /* Same selection as the reference: v < min ? v : min. */
      _mm256_storeu_ps (min + i, _mm256_blendv_ps (mn, xv, _mm256_cmp_ps (xv, mn, _CMP_LT_OQ)));
      _mm256_storeu_ps (max + i, _mm256_blendv_ps (mx, xv, _mm256_cmp_ps (xv, mx, _CMP_GT_OQ)));
    }
  *n_nan += nan_count;
  *n_inf += nonfinite - nan_count;
  qs_minmax_vec_ref (x + n8, n - n8, min + n8, max + n8, n_nan, n_inf);
}

void
_qs_histogram_count_avx2 (const float *x,
                    gsize        n,
                    double       lo,
                    double       hi,
                    double       inv_width,
                    guint        n_bins,
                    guint32     *banks,
                    guint32     *outside)
{
  const __m256d lo_v = _mm256_set1_pd (lo), hi_v = _mm256_set1_pd (hi);
  const __m256d inv_v = _mm256_set1_pd (inv_width);
  const __m256d last = _mm256_set1_pd ((double) n_bins - 1.0);
  const gsize n8 = n & ~(gsize) 7;
  const gsize nb = n_bins;

  for (gsize i = 0; i < n8; i += 8)
    {
      __m256 xv = _mm256_loadu_ps (x + i);
      __m256d a = _mm256_cvtps_pd (_mm256_castps256_ps128 (xv));
      __m256d b = _mm256_cvtps_pd (_mm256_extractf128_ps (xv, 1));
      __m256d in_a = _mm256_and_pd (_mm256_cmp_pd (a, lo_v, _CMP_GE_OQ), _mm256_cmp_pd (a, hi_v, _CMP_LE_OQ));
      __m256d in_b = _mm256_and_pd (_mm256_cmp_pd (b, lo_v, _CMP_GE_OQ), _mm256_cmp_pd (b, hi_v, _CMP_LE_OQ));
      int in_mask = _mm256_movemask_pd (in_a) | (_mm256_movemask_pd (in_b) << 4);
      /* (v - lo) * inv_width, clamped to the last bin, truncated: as the reference */
      __m128i ka = _mm256_cvttpd_epi32 (_mm256_min_pd (_mm256_mul_pd (_mm256_sub_pd (a, lo_v), inv_v), last));
      __m128i kb = _mm256_cvttpd_epi32 (_mm256_min_pd (_mm256_mul_pd (_mm256_sub_pd (b, lo_v), inv_v), last));

      _mm_prefetch ((const char *) (x + i) + PREFETCH_BYTES, _MM_HINT_T0);
      if (G_LIKELY (in_mask == 0xff))
        {
          guint64 k01 = (guint64) _mm_cvtsi128_si64 (ka), k23 = (guint64) _mm_extract_epi64 (ka, 1);
          guint64 k45 = (guint64) _mm_cvtsi128_si64 (kb), k67 = (guint64) _mm_extract_epi64 (kb, 1);

          banks[(guint32) k01]++;
          banks[1 * nb + (k01 >> 32)]++;
          banks[2 * nb + (guint32) k23]++;
          banks[3 * nb + (k23 >> 32)]++;
          banks[4 * nb + (guint32) k45]++;
          banks[5 * nb + (k45 >> 32)]++;
          banks[6 * nb + (guint32) k67]++;
          banks[7 * nb + (k67 >> 32)]++;
        }
      else
        {
          gint32 k[8];

          _mm_storeu_si128 ((__m128i *) k, ka);
          _mm_storeu_si128 ((__m128i *) (k + 4), kb);
          for (int j = 0; j < 8; j++)
            {
              double v = x[i + j];

              if (in_mask & (1 << j))
                banks[j * nb + (guint32) k[j]]++;
              else if (v < lo)
                outside[0] += (v > -INFINITY);
              else if (v > hi)
                outside[1] += (v < INFINITY);
            }
        }
    }
  qs_histogram_count_ref (x + n8, n - n8, lo, hi, inv_width, n_bins, banks, outside);
}
