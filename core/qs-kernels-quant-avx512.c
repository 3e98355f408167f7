/* SPDX-License-Identifier: GPL-3.0-or-later */
/* AVX-512F variants of the fused quantization kernels (16 lanes, mask registers for the
 * NaN/Inf lanes). Built with -mavx512f -mavx2 -mfma -ffp-contract=off as its own static
 * library and only called after __builtin_cpu_supports ("avx512f"). Same contract as the
 * AVX2 file: codes and dequantized values bit-identical to the scalar reference, float sums
 * accumulated per lane and flushed into doubles every 2048 values.
 *
 * With at most 256 levels (8-bit codes and narrower) the histogram indices are narrowed to
 * bytes and stored to a block buffer; a tight byte loop counts them while the next block
 * streams in (byte j of every 8 into bank j, the same banks as the reference). Stats-only
 * passes over long rows also prefetch in software. (Estimating x / scale as x * (1 / scale)
 * and dividing only near ties was tried: exact, but no faster than the division.) */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "qs-kernels-quant.h"
#include "qs-kernels-quant-private.h"

#define FLUSH_VECTORS 128
#define PREFETCH_BYTES 2048   /* software prefetch distance for streaming loops */

static inline double
hsum_to_double (__m512 v)
{
  __m512d a = _mm512_cvtps_pd (_mm512_castps512_ps256 (v));
  __m512d b = _mm512_cvtps_pd (_mm256_castpd_ps (_mm512_extractf64x4_pd (_mm512_castps_pd (v), 1)));

  return _mm512_reduce_add_pd (_mm512_add_pd (a, b));
}

static inline void
quantize_avx512 (const float     *x,
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
  const __m512 inf = _mm512_set1_ps (INFINITY);
  const __m512 qmin_f = _mm512_set1_ps ((float) qmin);
  const __m512 qmax_f = _mm512_set1_ps ((float) qmax);
  const __m512i qmin_i = _mm512_set1_epi32 (qmin);
  const gsize n_levels = (gsize) (qmax - qmin) + 1;
  const gsize n16 = n & ~(gsize) 15;
  __m512 scale = _mm512_set1_ps (scale_s);
  __m512i zp = _mm512_set1_epi32 (zp_s);
  __m512 lo = _mm512_set1_ps ((float) (qmin - zp_s));
  __m512 hi = _mm512_set1_ps ((float) (qmax - zp_s));
  __m512 vmax = _mm512_setzero_ps ();
  /* Streaming a long row from memory for statistics only, the hardware prefetcher alone
   * leaves the loop waiting; with output streams to write, prefetching slows it down. */
  const gboolean prefetch = codes == NULL && dequant == NULL && n >= 4096;
  const gboolean byte_hist = hist != NULL && n_levels <= 256;
  guint8 hbuf[2][16 * FLUSH_VECTORS] __attribute__ ((aligned (64)));
  guint cur = 0;
  gsize prev_len = 0;
  double s_e2 = 0.0, s_x2 = 0.0, s_e = 0.0, s_xe = 0.0;
  gsize n_clipped = 0, n_nonfinite = 0, n_nan = 0;
  gsize i = 0;

  while (i < n16)
    {
      gsize block_start = i, block_end = MIN (n16, i + 16 * FLUSH_VECTORS);
      __m512 a_e2 = _mm512_setzero_ps (), a_x2 = _mm512_setzero_ps ();
      __m512 a_e = _mm512_setzero_ps (), a_xe = _mm512_setzero_ps ();

      for (; i < block_end; i += 16)
        {
          __m512 xv = _mm512_loadu_ps (x + i);
          __m512 xm, r, d, e;
          __m512i code;
          __mmask16 finite, clip;

          if (prefetch)
            _mm_prefetch ((const char *) (x + i) + PREFETCH_BYTES, _MM_HINT_T0);
          if (per_element)
            {
              __m512 zpf;

              scale = _mm512_loadu_ps (scale_v + i);
              zp = _mm512_loadu_si512 (zp_v + i);
              zpf = _mm512_cvtepi32_ps (zp);
              lo = _mm512_sub_ps (qmin_f, zpf);
              hi = _mm512_sub_ps (qmax_f, zpf);
            }
          finite = _mm512_cmp_ps_mask (_mm512_abs_ps (xv), inf, _CMP_LT_OQ);
          xm = _mm512_maskz_mov_ps (finite, xv);
          r = _mm512_roundscale_ps (_mm512_div_ps (xm, scale),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
          clip = _mm512_cmp_ps_mask (r, lo, _CMP_LT_OQ) | _mm512_cmp_ps_mask (r, hi, _CMP_GT_OQ);
          r = _mm512_min_ps (hi, _mm512_max_ps (lo, r));   /* r when equal: keeps -0.0 */
          code = _mm512_add_epi32 (_mm512_cvtps_epi32 (r), zp);
          d = _mm512_mul_ps (r, scale);
          e = _mm512_sub_ps (d, xm);

          if (codes != NULL)
            _mm512_storeu_si512 (codes + i, code);
          if (dequant != NULL)
            _mm512_storeu_ps (dequant + i, _mm512_mask_blend_ps (finite, xv, d));

          a_e2 = _mm512_fmadd_ps (e, e, a_e2);
          a_x2 = _mm512_fmadd_ps (xm, xm, a_x2);
          a_e = _mm512_add_ps (a_e, e);
          a_xe = _mm512_fmadd_ps (xm, e, a_xe);
          vmax = _mm512_max_ps (vmax, _mm512_abs_ps (e));
          n_clipped += (gsize) __builtin_popcount (clip);

          if (G_UNLIKELY (finite != 0xffff))
            {
              n_nonfinite += 16 - (gsize) __builtin_popcount (finite);
              n_nan += (gsize) __builtin_popcount (_mm512_cmp_ps_mask (xv, xv, _CMP_UNORD_Q));
            }
          if (byte_hist)
            {
              __m512i idx = _mm512_sub_epi32 (code, qmin_i);

              gsize o = i - block_start;

              _mm_store_si128 ((__m128i *) (hbuf[cur] + o), _mm512_cvtepi32_epi8 (idx));
              /* count the previous block's bytes while this block streams in */
              if (o < prev_len)
                _qs_count_hist_bytes (hbuf[cur ^ 1] + o, 16, hist, n_levels);
              if (G_UNLIKELY (finite != 0xffff))
                {
                  /* the byte loop will count these lanes; take them out again (the
                   * counters are unsigned: a transient wrap-around is harmless) */
                  gint32 lanes[16];

                  _mm512_storeu_si512 (lanes, idx);
                  for (int k = 0; k < 16; k++)
                    if (!(finite & (1u << k)))
                      hist[(k & 7) * n_levels + lanes[k]]--;
                }
            }
          else if (hist != NULL)
            {
              __m512i idx = _mm512_sub_epi32 (code, qmin_i);

              /* lane k is element i + k: bank (i + k) % 8 = k % 8, as the reference */
              if (G_LIKELY (finite == 0xffff))
                {
                  /* indices leave through registers, two per 64-bit move */
#define HIST_QUARTER(J) \
  G_STMT_START { \
    __m128i q = _mm512_extracti32x4_epi32 (idx, J); \
    guint64 p01 = (guint64) _mm_cvtsi128_si64 (q); \
    guint64 p23 = (guint64) _mm_extract_epi64 (q, 1); \
    gsize b = (gsize) ((J) & 1) * 4; \
    hist[b * n_levels + (guint32) p01]++; \
    hist[(b + 1) * n_levels + (p01 >> 32)]++; \
    hist[(b + 2) * n_levels + (guint32) p23]++; \
    hist[(b + 3) * n_levels + (p23 >> 32)]++; \
  } G_STMT_END
                  HIST_QUARTER (0);
                  HIST_QUARTER (1);
                  HIST_QUARTER (2);
                  HIST_QUARTER (3);
#undef HIST_QUARTER
                }
              else
                {
                  gint32 lanes[16];

                  _mm512_storeu_si512 (lanes, idx);
                  for (int k = 0; k < 16; k++)
                    if (finite & (1u << k))
                      hist[(k & 7) * n_levels + lanes[k]]++;
                }
            }
        }
      if (byte_hist)
        {
          /* block_start is a multiple of 16, so byte j of each 8 is element bank j. What of
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
  stats->max_abs_e = MAX (stats->max_abs_e, _mm512_reduce_max_ps (vmax));
  stats->n_finite += n16 - n_nonfinite;
  stats->n_nan += n_nan;
  stats->n_inf += n_nonfinite - n_nan;
  stats->n_clipped += n_clipped;

  if (n16 < n)
    {
      /* n16 is a multiple of 8: the reference's i % 8 banks continue the rotation. */
      if (per_element)
        qs_quantize_row_vec_ref (x + n16, n - n16, scale_v + n16, zp_v + n16, qmin, qmax,
                                 codes ? codes + n16 : NULL, dequant ? dequant + n16 : NULL,
                                 hist, stats);
      else
        qs_quantize_row_ref (x + n16, n - n16, scale_s, zp_s, qmin, qmax,
                             codes ? codes + n16 : NULL, dequant ? dequant + n16 : NULL,
                             hist, stats);
    }
}

void
_qs_quantize_row_avx512 (const float     *x,
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
  quantize_avx512 (x, n, scale, zero_point, NULL, NULL, qmin, qmax, codes, dequant, code_hist,
                   stats, FALSE);
}

void
_qs_quantize_row_vec_avx512 (const float     *x,
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
  quantize_avx512 (x, n, 1.0f, 0, scale, zero_point, qmin, qmax, codes, dequant, code_hist,
                   stats, TRUE);
}
