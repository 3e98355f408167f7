/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <immintrin.h>

/* GCC 12 reports its own _mm512_undefined_epi32 (`__m512i __Y = __Y;`, the pass-through of
 * the unmasked _mm512_mul_epi32) as maybe-uninitialised once the mode switch inlines several
 * paths into one function (and the masked conversions likewise): a false positive in the
 * intrinsics header. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "qs-kernels-int-private.h"

/* AVX-512 VNNI: vpdpbusd multiplies 4 uint8 activations by 4 int8 weights and adds the
 * four products to an int32 lane without saturation, so the accumulators equal the scalar
 * reference's exactly. 16 output channels per zmm, up to 8 rows at a time. */

/* x * 2^left, saturating (qs_saturating_left_shift), 16 lanes. */
static inline __m512i
sat_left_shift (__m512i x,
                __m512i left)
{
  __m512i shifted = _mm512_sllv_epi32 (x, left);
  __mmask16 ovf = _mm512_cmpneq_epi32_mask (_mm512_srav_epi32 (shifted, left), x);
  __mmask16 neg = _mm512_cmplt_epi32_mask (x, _mm512_setzero_si512 ());
  __m512i sat = _mm512_mask_blend_epi32 (neg, _mm512_set1_epi32 (G_MAXINT32),
                                         _mm512_set1_epi32 (G_MININT32));

  return _mm512_mask_blend_epi32 (ovf, shifted, sat);
}

/* (a * b + 2^30) >> 31 truncated to int32: CMSIS-NN's arm_nn_doubling_high_mult_no_sat.
 * It equals gemmlowp's nudged, truncating division for every product (see
 * qs_cmsis_nn_doubling_high_mult_no_sat); only a == b == INT32_MIN differs (srdhm). */
static inline __m512i
srdhm_no_sat (__m512i a,
              __m512i b)
{
  const __m512i nudge = _mm512_set1_epi64 ((gint64) 1 << 30);
  __m512i pe = _mm512_add_epi64 (_mm512_mul_epi32 (a, b), nudge);
  __m512i po = _mm512_add_epi64 (_mm512_mul_epi32 (_mm512_srli_epi64 (a, 32), _mm512_srli_epi64 (b, 32)),
                                 nudge);

  return _mm512_mask_blend_epi32 (0xAAAA, _mm512_srli_epi64 (pe, 31), _mm512_slli_epi64 (po, 1));
}

/* qs_saturating_rounding_doubling_high_mul: only a == b == INT32_MIN saturates. */
static inline __m512i
srdhm (__m512i a,
       __m512i b)
{
  const __m512i min = _mm512_set1_epi32 (G_MININT32);
  __mmask16 both_min = _mm512_cmpeq_epi32_mask (a, min) & _mm512_cmpeq_epi32_mask (b, min);

  return _mm512_mask_blend_epi32 (both_min, srdhm_no_sat (a, b), _mm512_set1_epi32 (G_MAXINT32));
}

/* qs_rounding_divide_by_pot with a per-lane exponent in [0, 31]. */
static inline __m512i
rdbpot (__m512i x,
        __m512i exponent)
{
  const __m512i one = _mm512_set1_epi32 (1);
  __m512i mask = _mm512_sub_epi32 (_mm512_sllv_epi32 (one, exponent), one);
  __m512i rem = _mm512_and_si512 (x, mask);
  __m512i thr = _mm512_add_epi32 (_mm512_srli_epi32 (mask, 1), _mm512_srli_epi32 (x, 31));
  __m512i r = _mm512_srav_epi32 (x, exponent);

  return _mm512_mask_add_epi32 (r, _mm512_cmpgt_epi32_mask (rem, thr), r, one);
}

/* (p + 2^(ts - 1)) >> ts on eight int64 lanes (ts in [1, 62]), saturated to int32. */
static inline __m512i
round_shift_sat64 (__m512i p,
                   __m512i ts)
{
  const __m512i one = _mm512_set1_epi64 (1);
  __m512i r;

  p = _mm512_add_epi64 (p, _mm512_sllv_epi64 (one, _mm512_sub_epi64 (ts, one)));
  r = _mm512_srav_epi64 (p, ts);
  r = _mm512_min_epi64 (r, _mm512_set1_epi64 (G_MAXINT32));
  return _mm512_max_epi64 (r, _mm512_set1_epi64 (G_MININT32));
}

/* qs_multiply_by_quantized_multiplier_single_rounding; ts = 31 - shift per lane. */
static inline __m512i
single_rounding (__m512i x,
                 __m512i mult,
                 __m512i ts)
{
  const __m512i low = _mm512_set1_epi64 (G_MAXUINT32);
  __m512i re = round_shift_sat64 (_mm512_mul_epi32 (x, mult), _mm512_and_si512 (ts, low));
  __m512i ro = round_shift_sat64 (_mm512_mul_epi32 (_mm512_srli_epi64 (x, 32), _mm512_srli_epi64 (mult, 32)),
                                  _mm512_srli_epi64 (ts, 32));

  return _mm512_mask_blend_epi32 (0xAAAA, re, _mm512_slli_epi64 (ro, 32));
}

typedef struct
{
  QsRequantMode mode;
  __m512i   mult, left, right, ts, lo, hi, zp;
  __m512    scale, flo, fhi;
  __mmask16 any_left;   /* lanes with a positive shift: skip the left shift when none */
} RqVec;

static inline void
rq_vec_load (RqVec           *v,
             const QsRequant *rq,
             gsize            c0,
             __mmask16        lanes)
{
  __m512i shift, zero = _mm512_setzero_si512 ();

  v->mode = rq->mode;
  /* every field set: the unused ones of a mode are zero (no uninitialised copies) */
  v->mult = v->left = v->right = v->ts = _mm512_setzero_si512 ();
  v->any_left = 0;
  v->scale = v->flo = v->fhi = _mm512_setzero_ps ();
  v->zp = _mm512_set1_epi32 (rq->out_zp);
  v->lo = _mm512_set1_epi32 (rq->out_min - rq->out_zp);
  v->hi = _mm512_set1_epi32 (rq->out_max - rq->out_zp);
  if (rq->mode == QS_REQUANT_FP32_RNE)
    {
      v->scale = _mm512_maskz_loadu_ps (lanes, rq->scale + c0);
      v->flo = _mm512_set1_ps ((float) (rq->out_min - rq->out_zp));
      v->fhi = _mm512_set1_ps ((float) (rq->out_max - rq->out_zp));
      return;
    }
  shift = _mm512_maskz_loadu_epi32 (lanes, rq->shift + c0);
  v->mult = _mm512_maskz_loadu_epi32 (lanes, rq->multiplier + c0);
  v->left = _mm512_max_epi32 (shift, zero);
  v->any_left = _mm512_cmpgt_epi32_mask (shift, zero);
  v->right = _mm512_max_epi32 (_mm512_sub_epi32 (zero, shift), zero);
  v->ts = _mm512_sub_epi32 (_mm512_set1_epi32 (31), shift);
}

static inline __m128i
rq_vec_apply (const RqVec *v,
              __m512i      acc)
{
  __m512i r;

  switch (v->mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      r = single_rounding (acc, v->mult, v->ts);
      break;
    case QS_REQUANT_CMSIS_NN:
      /* vpsllvd wraps as the Cortex-M's 32-bit multiply does */
      r = rdbpot (srdhm_no_sat (_mm512_sllv_epi32 (acc, v->left), v->mult), v->right);
      break;
    case QS_REQUANT_FP32_RNE:
      {
        /* cvtdq2ps / cvtps2dq round to nearest even (default MXCSR); max / min as
         * qs_requantize_fp32_rne writes them (vmaxps returns the second operand for NaN) */
        __m512 f = _mm512_mul_ps (_mm512_cvtepi32_ps (acc), v->scale);

        f = _mm512_min_ps (_mm512_max_ps (f, v->flo), v->fhi);
        r = _mm512_cvtps_epi32 (f);
        break;
      }
    case QS_REQUANT_GEMMLOWP:
    default:
      r = rdbpot (srdhm (v->any_left ? sat_left_shift (acc, v->left) : acc, v->mult), v->right);
      break;
    }
  r = _mm512_min_epi32 (_mm512_max_epi32 (r, v->lo), v->hi);
  return _mm512_cvtepi32_epi8 (_mm512_add_epi32 (r, v->zp));
}

static void
requant_avx512 (const gint32    *acc,
                gsize            n,
                const QsRequant *rq,
                guint8          *out)
{
  for (gsize c0 = 0; c0 < n; c0 += 16)
    {
      __mmask16 lanes = n - c0 >= 16 ? 0xFFFF : (__mmask16) ((1u << (n - c0)) - 1);
      RqVec v;

      rq_vec_load (&v, rq, c0, lanes);
      _mm_mask_storeu_epi8 (out + c0, lanes, rq_vec_apply (&v, _mm512_maskz_loadu_epi32 (lanes, acc + c0)));
    }
}

static const gsize no_segments[1] = { 0 };

static inline __attribute__ ((always_inline)) void
micro (const guint8 *a,
       gsize         lda,
       const gsize  *seg_off,
       gsize         n_seg,
       gsize         seg_k4,
       const gint8  *wblk,
       __m512i       bias,
       const RqVec  *v,
       guint8       *c,
       gsize         ldc,
       __mmask16     lanes,
       const int     mr)
{
  __m512i acc[8];

#pragma GCC unroll 8
  for (int r = 0; r < mr; r++)
    acc[r] = bias;
  for (gsize s = 0; s < n_seg; s++)
    {
      const guint8 *as = a + seg_off[s];
      const gint8 *ws = wblk + s * seg_k4 * 64;

      for (gsize k4 = 0; k4 < seg_k4; k4++)
        {
          __m512i wv = _mm512_load_si512 ((const void *) (ws + k4 * 64));

#pragma GCC unroll 8
          for (int r = 0; r < mr; r++)
            {
              gint32 a4;

              memcpy (&a4, as + r * lda + k4 * 4, 4);
              acc[r] = _mm512_dpbusd_epi32 (acc[r], _mm512_set1_epi32 (a4), wv);
            }
        }
    }
#pragma GCC unroll 8
  for (int r = 0; r < mr; r++)
    _mm_mask_storeu_epi8 (c + r * ldc, lanes, rq_vec_apply (v, acc[r]));
}

/* One row (Dense): four independent accumulator chains hide vpdpbusd latency. */
static inline void
single_row (const guint8 *ar,
            const gsize  *seg_off,
            gsize         n_seg,
            gsize         seg_k4,
            const gint8  *wblk,
            __m512i       bias,
            const RqVec  *v,
            guint8       *c,
            __mmask16     lanes)
{
  __m512i s0 = bias, s1 = _mm512_setzero_si512 (), s2 = s1, s3 = s1;

  for (gsize s = 0; s < n_seg; s++)
    {
      const guint8 *as = ar + seg_off[s];
      const gint8 *ws = wblk + s * seg_k4 * 64;
      gsize k4 = 0;

      for (; k4 + 4 <= seg_k4; k4 += 4)
        {
          gint32 a4[4];

          memcpy (a4, as + k4 * 4, 16);
          s0 = _mm512_dpbusd_epi32 (s0, _mm512_set1_epi32 (a4[0]), _mm512_load_si512 ((const void *) (ws + k4 * 64)));
          s1 = _mm512_dpbusd_epi32 (s1, _mm512_set1_epi32 (a4[1]), _mm512_load_si512 ((const void *) (ws + k4 * 64 + 64)));
          s2 = _mm512_dpbusd_epi32 (s2, _mm512_set1_epi32 (a4[2]), _mm512_load_si512 ((const void *) (ws + k4 * 64 + 128)));
          s3 = _mm512_dpbusd_epi32 (s3, _mm512_set1_epi32 (a4[3]), _mm512_load_si512 ((const void *) (ws + k4 * 64 + 192)));
        }
      for (; k4 < seg_k4; k4++)
        {
          gint32 a4;

          memcpy (&a4, as + k4 * 4, 4);
          s0 = _mm512_dpbusd_epi32 (s0, _mm512_set1_epi32 (a4), _mm512_load_si512 ((const void *) (ws + k4 * 64)));
        }
    }
  s0 = _mm512_add_epi32 (_mm512_add_epi32 (s0, s1), _mm512_add_epi32 (s2, s3));
  _mm_mask_storeu_epi8 (c, lanes, rq_vec_apply (v, s0));
}

static void
gemm_avx512vnni (const guint8          *a,
                 gsize                  lda,
                 gsize                  m,
                 const gsize           *seg_off,
                 gsize                  n_seg,
                 const QsPackedWeights *w,
                 const QsRequant       *rq,
                 guint8                *c,
                 gsize                  ldc)
{
  gsize k4n = w->kp / 4, seg_k4 = k4n / n_seg;

  if (seg_off == NULL)
    seg_off = no_segments;
  for (gsize nb = 0; nb < w->np / 16; nb++)
    {
      gsize c0 = nb * 16;
      __mmask16 lanes = w->n - c0 >= 16 ? 0xFFFF : (__mmask16) ((1u << (w->n - c0)) - 1);
      const gint8 *wblk = w->data + nb * k4n * 64;
      __m512i bias = _mm512_maskz_loadu_epi32 (lanes, rq->bias + c0);
      RqVec v;
      gsize row = 0;

      rq_vec_load (&v, rq, c0, lanes);
      for (; row + 8 <= m; row += 8)
        micro (a + row * lda, lda, seg_off, n_seg, seg_k4, wblk, bias, &v, c + row * ldc + c0, ldc, lanes, 8);
      if (row + 4 <= m)
        {
          micro (a + row * lda, lda, seg_off, n_seg, seg_k4, wblk, bias, &v, c + row * ldc + c0, ldc, lanes, 4);
          row += 4;
        }
      for (; row < m; row++)
        single_row (a + row * lda, seg_off, n_seg, seg_k4, wblk, bias, &v, c + row * ldc + c0, lanes);
    }
}

const QsIntKernels _qs_int_kernels_avx512vnni = { "avx512", gemm_avx512vnni, requant_avx512 };
