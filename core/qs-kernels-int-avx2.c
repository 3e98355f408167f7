/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <immintrin.h>

#include "qs-kernels-int-private.h"
#include "qs-quant.h"

/* AVX2: activations and weights widened to int16 and multiplied with vpmaddwd (pairs of
 * exact int16 products summed into int32: no saturation, unlike vpmaddubsw, whose int16
 * pair sums overflow for 255 * 127 * 2). Bit-exact to the scalar reference. */

static inline __m256i
sat_left_shift (__m256i x,
                __m256i left)
{
  __m256i shifted = _mm256_sllv_epi32 (x, left);
  __m256i ovf = _mm256_xor_si256 (_mm256_cmpeq_epi32 (_mm256_srav_epi32 (shifted, left), x),
                                  _mm256_set1_epi32 (-1));
  __m256i neg = _mm256_cmpgt_epi32 (_mm256_setzero_si256 (), x);
  __m256i sat = _mm256_blendv_epi8 (_mm256_set1_epi32 (G_MAXINT32), _mm256_set1_epi32 (G_MININT32), neg);

  return _mm256_blendv_epi8 (shifted, sat, ovf);
}

/* (a * b + 2^30) >> 31 truncated to int32 (the low 32 bits of each 64-bit result are kept,
 * so a logical shift is enough): CMSIS-NN's arm_nn_doubling_high_mult_no_sat, and gemmlowp's
 * SaturatingRoundingDoublingHighMul except for a == b == INT32_MIN (see srdhm). */
static inline __m256i
srdhm_no_sat (__m256i a,
              __m256i b)
{
  const __m256i nudge = _mm256_set1_epi64x ((gint64) 1 << 30);
  __m256i pe = _mm256_add_epi64 (_mm256_mul_epi32 (a, b), nudge);
  __m256i po = _mm256_add_epi64 (_mm256_mul_epi32 (_mm256_srli_epi64 (a, 32), _mm256_srli_epi64 (b, 32)),
                                 nudge);

  return _mm256_blend_epi32 (_mm256_srli_epi64 (pe, 31), _mm256_slli_epi64 (po, 1), 0xAA);
}

/* qs_saturating_rounding_doubling_high_mul, see the AVX-512 variant. */
static inline __m256i
srdhm (__m256i a,
       __m256i b)
{
  const __m256i min = _mm256_set1_epi32 (G_MININT32);
  __m256i both_min = _mm256_and_si256 (_mm256_cmpeq_epi32 (a, min), _mm256_cmpeq_epi32 (b, min));

  return _mm256_blendv_epi8 (srdhm_no_sat (a, b), _mm256_set1_epi32 (G_MAXINT32), both_min);
}

static inline __m256i
rdbpot (__m256i x,
        __m256i exponent)
{
  const __m256i one = _mm256_set1_epi32 (1);
  __m256i mask = _mm256_sub_epi32 (_mm256_sllv_epi32 (one, exponent), one);
  __m256i rem = _mm256_and_si256 (x, mask);
  __m256i thr = _mm256_add_epi32 (_mm256_srli_epi32 (mask, 1), _mm256_srli_epi32 (x, 31));
  __m256i r = _mm256_srav_epi32 (x, exponent);

  /* cmpgt gives -1 where rem > thr: subtracting it adds one. */
  return _mm256_sub_epi32 (r, _mm256_cmpgt_epi32 (rem, thr));
}

/* (p + 2^(ts - 1)) >> ts (arithmetic) on four int64 lanes, ts in [1, 62], then saturated to
 * int32 (kept in each lane's low half). AVX2 has no 64-bit arithmetic shift: shift
 * p ^ sign logically and flip back. */
static inline __m256i
round_shift_sat64 (__m256i p,
                   __m256i ts)
{
  const __m256i one = _mm256_set1_epi64x (1);
  const __m256i max = _mm256_set1_epi64x (G_MAXINT32), min = _mm256_set1_epi64x (G_MININT32);
  __m256i sign, r;

  p = _mm256_add_epi64 (p, _mm256_sllv_epi64 (one, _mm256_sub_epi64 (ts, one)));
  sign = _mm256_cmpgt_epi64 (_mm256_setzero_si256 (), p);
  r = _mm256_xor_si256 (_mm256_srlv_epi64 (_mm256_xor_si256 (p, sign), ts), sign);
  r = _mm256_blendv_epi8 (r, max, _mm256_cmpgt_epi64 (r, max));
  return _mm256_blendv_epi8 (r, min, _mm256_cmpgt_epi64 (min, r));
}

/* qs_multiply_by_quantized_multiplier_single_rounding; ts = 31 - shift per lane. */
static inline __m256i
single_rounding (__m256i x,
                 __m256i mult,
                 __m256i ts)
{
  const __m256i low = _mm256_set1_epi64x (G_MAXUINT32);
  __m256i re = round_shift_sat64 (_mm256_mul_epi32 (x, mult), _mm256_and_si256 (ts, low));
  __m256i ro = round_shift_sat64 (_mm256_mul_epi32 (_mm256_srli_epi64 (x, 32), _mm256_srli_epi64 (mult, 32)),
                                  _mm256_srli_epi64 (ts, 32));

  return _mm256_blend_epi32 (re, _mm256_slli_epi64 (ro, 32), 0xAA);
}

typedef struct
{
  QsRequantMode mode;
  __m256i       mult, left, right, ts, lo, hi, zp;
  __m256        scale, flo, fhi;
} RqVec;

static inline void
rq_vec_load (RqVec           *v,
             const QsRequant *rq,
             gsize            c0)
{
  __m256i zero = _mm256_setzero_si256 ();

  v->mode = rq->mode;
  /* every field set: the unused ones of a mode are zero (no uninitialised copies) */
  v->mult = v->left = v->right = v->ts = _mm256_setzero_si256 ();
  v->scale = v->flo = v->fhi = _mm256_setzero_ps ();
  v->zp = _mm256_set1_epi32 (rq->out_zp);
  v->lo = _mm256_set1_epi32 (rq->out_min - rq->out_zp);
  v->hi = _mm256_set1_epi32 (rq->out_max - rq->out_zp);
  if (rq->mode == QS_REQUANT_FP32_RNE)
    {
      v->scale = _mm256_loadu_ps (rq->scale + c0);
      v->flo = _mm256_set1_ps ((float) (rq->out_min - rq->out_zp));
      v->fhi = _mm256_set1_ps ((float) (rq->out_max - rq->out_zp));
      return;
    }
  {
    __m256i shift = _mm256_loadu_si256 ((const __m256i *) (rq->shift + c0));

    v->mult = _mm256_loadu_si256 ((const __m256i *) (rq->multiplier + c0));
    v->left = _mm256_max_epi32 (shift, zero);
    v->right = _mm256_max_epi32 (_mm256_sub_epi32 (zero, shift), zero);
    v->ts = _mm256_sub_epi32 (_mm256_set1_epi32 (31), shift);
  }
}

/* Requantizes 8 lanes in v's mode; returns them as 8 bytes in the low half. */
static inline guint64
rq_vec_apply (const RqVec *v,
              __m256i      acc)
{
  __m256i r;
  __m128i lo, hi, packed;

  switch (v->mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      r = single_rounding (acc, v->mult, v->ts);
      break;
    case QS_REQUANT_CMSIS_NN:
      /* vpsllvd wraps as the Cortex-M's 32-bit multiply does */
      r = rdbpot (srdhm_no_sat (_mm256_sllv_epi32 (acc, v->left), v->mult), v->right);
      break;
    case QS_REQUANT_FP32_RNE:
      {
        /* cvtdq2ps and cvtps2dq round to nearest even under the default MXCSR; max / min
         * as qs_requantize_fp32_rne writes them */
        __m256 f = _mm256_mul_ps (_mm256_cvtepi32_ps (acc), v->scale);

        f = _mm256_min_ps (_mm256_max_ps (f, v->flo), v->fhi);
        r = _mm256_cvtps_epi32 (f);
        break;
      }
    case QS_REQUANT_GEMMLOWP:
    default:
      r = rdbpot (srdhm (sat_left_shift (acc, v->left), v->mult), v->right);
      break;
    }
  r = _mm256_add_epi32 (_mm256_min_epi32 (_mm256_max_epi32 (r, v->lo), v->hi), v->zp);
  lo = _mm256_castsi256_si128 (r);
  hi = _mm256_extracti128_si256 (r, 1);
  packed = _mm_packus_epi16 (_mm_packs_epi32 (lo, hi), _mm_setzero_si128 ());
  return (guint64) _mm_cvtsi128_si64 (packed);
}

static void
requant_avx2 (const gint32    *acc,
              gsize            n,
              const QsRequant *rq,
              guint8          *out)
{
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    {
      RqVec v;
      guint64 bytes;

      rq_vec_load (&v, rq, i);
      bytes = rq_vec_apply (&v, _mm256_loadu_si256 ((const __m256i *) (acc + i)));
      memcpy (out + i, &bytes, 8);
    }
  for (; i < n; i++)
    out[i] = qs_requant_channel (acc[i], i, rq);
}

/* 16 channels x mr rows; acc[r][q] holds channels 4q..4q+3 as pairs of partial sums. */
static const gsize no_segments[1] = { 0 };

static void store_tile (__m256i acc[2][4], const gint32 *bias, const QsRequant *rq, gsize c0,
                        gsize nvalid, guint8 *c, gsize ldc, int mr);

static inline __attribute__ ((always_inline)) void
micro (const guint8    *a,
       gsize            lda,
       const gsize     *seg_off,
       gsize            n_seg,
       gsize            seg_k4,
       const gint8     *wblk,
       const gint32    *bias,
       const QsRequant *rq,
       gsize            c0,
       gsize            nvalid,
       guint8          *c,
       gsize            ldc,
       const int        mr)
{
  __m256i acc[2][4];

#pragma GCC unroll 2
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
      acc[r][q] = _mm256_setzero_si256 ();
  for (gsize k4 = 0, s = 0, j = 0; s < n_seg; k4++, j = j + 1 == seg_k4 ? (s++, 0) : j + 1)
    {
      __m256i wv[4];
      const guint8 *as = a + seg_off[s] + j * 4;

#pragma GCC unroll 4
      for (int q = 0; q < 4; q++)
        wv[q] = _mm256_cvtepi8_epi16 (_mm_load_si128 ((const __m128i *) (wblk + k4 * 64 + q * 16)));
#pragma GCC unroll 2
      for (int r = 0; r < mr; r++)
        {
          guint32 a4;
          __m256i av;

          memcpy (&a4, as + r * lda, 4);
          av = _mm256_cvtepu8_epi16 (_mm_set1_epi32 ((gint32) a4));
#pragma GCC unroll 4
          for (int q = 0; q < 4; q++)
            acc[r][q] = _mm256_add_epi32 (acc[r][q], _mm256_madd_epi16 (av, wv[q]));
        }
    }
  {
    /* out of line on a copy: inlined, the store's constants pushed accumulators to the stack */
    __m256i tile[2][4];

#pragma GCC unroll 2
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++)
        tile[r][q] = acc[r][q];
    store_tile (tile, bias, rq, c0, nvalid, c, ldc, mr);
  }
}

/* Requantizes and stores mr rows of 16 channels from micro's accumulators. */
static __attribute__ ((noinline)) void
store_tile (__m256i          acc[2][4],
            const gint32    *bias,
            const QsRequant *rq,
            gsize            c0,
            gsize            nvalid,
            guint8          *c,
            gsize            ldc,
            int              mr)
{
  gint32 sums[16];

  for (int r = 0; r < mr; r++)
    {
      /* hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7]; permute4x64 0xD8 restores channel order. */
      __m256i s0 = _mm256_permute4x64_epi64 (_mm256_hadd_epi32 (acc[r][0], acc[r][1]), 0xD8);
      __m256i s1 = _mm256_permute4x64_epi64 (_mm256_hadd_epi32 (acc[r][2], acc[r][3]), 0xD8);
      guint8 out[16];

      _mm256_storeu_si256 ((__m256i *) sums, s0);
      _mm256_storeu_si256 ((__m256i *) (sums + 8), s1);
      for (gsize i = 0; i < nvalid; i++)
        sums[i] += bias[i];
      if (nvalid == 16)
        {
          RqVec v;
          guint64 lo, hi;

          rq_vec_load (&v, rq, c0);
          lo = rq_vec_apply (&v, _mm256_loadu_si256 ((const __m256i *) sums));
          rq_vec_load (&v, rq, c0 + 8);
          hi = rq_vec_apply (&v, _mm256_loadu_si256 ((const __m256i *) (sums + 8)));
          memcpy (out, &lo, 8);
          memcpy (out + 8, &hi, 8);
        }
      else
        for (gsize i = 0; i < nvalid; i++)
          out[i] = qs_requant_channel (sums[i], c0 + i, rq);
      memcpy (c + r * ldc, out, nvalid);
    }
}

static void
gemm_avx2 (const guint8          *a,
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
      gsize nvalid = MIN (16, w->n - c0);
      const gint8 *wblk = w->data + nb * k4n * 64;
      gsize row = 0;

      for (; row + 2 <= m; row += 2)
        micro (a + row * lda, lda, seg_off, n_seg, seg_k4, wblk, rq->bias + c0, rq, c0, nvalid, c + row * ldc + c0, ldc, 2);
      for (; row < m; row++)
        micro (a + row * lda, lda, seg_off, n_seg, seg_k4, wblk, rq->bias + c0, rq, c0, nvalid, c + row * ldc + c0, ldc, 1);
    }
}

/* --- element-wise kernels (qs_rescale_u8, qs_add_u8): 8 lanes, the tail by the reference --- */

/* qs_requant_mbqm with one multiplier and shift for every lane (fp32-rne: gemmlowp). */
typedef struct
{
  QsRequantMode mode;
  __m256i       mult, left, right, ts;
} MbqmVec;

static inline void
mbqm_vec_init (MbqmVec       *q,
               QsRequantMode  mode,
               gint32         multiplier,
               gint32         shift)
{
  q->mode = mode == QS_REQUANT_FP32_RNE ? QS_REQUANT_GEMMLOWP : mode;
  q->mult = _mm256_set1_epi32 (multiplier);
  q->left = _mm256_set1_epi32 (shift > 0 ? shift : 0);
  q->right = _mm256_set1_epi32 (shift > 0 ? 0 : -shift);
  q->ts = _mm256_set1_epi32 (31 - shift);
}

static inline __m256i
mbqm_vec (const MbqmVec *q,
          __m256i        x)
{
  switch (q->mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      return single_rounding (x, q->mult, q->ts);
    case QS_REQUANT_CMSIS_NN:
      return rdbpot (srdhm_no_sat (_mm256_sllv_epi32 (x, q->left), q->mult), q->right);
    case QS_REQUANT_GEMMLOWP:
    case QS_REQUANT_FP32_RNE:
    default:
      return rdbpot (srdhm (sat_left_shift (x, q->left), q->mult), q->right);
    }
}

/* 8 int32 lanes, already in [0, 255], to 8 bytes */
static inline guint64
pack_bytes (__m256i r)
{
  __m128i packed = _mm_packus_epi16 (_mm_packs_epi32 (_mm256_castsi256_si128 (r),
                                                      _mm256_extracti128_si256 (r, 1)),
                                     _mm_setzero_si128 ());

  return (guint64) _mm_cvtsi128_si64 (packed);
}

static inline __m256i
load_bytes (const guint8 *p)
{
  gint64 raw;

  memcpy (&raw, p, 8);
  return _mm256_cvtepu8_epi32 (_mm_cvtsi64_si128 (raw));
}

static void
rescale_avx2 (QsRequantMode mode,
              const guint8 *in, gsize n, gint32 in_zp, gint32 multiplier,
              gint32 shift, gint32 out_zp, gint32 out_min, gint32 out_max,
              guint8 *out, gsize out_stride, gsize in_stride, gsize rows)
{
  MbqmVec q;
  __m256i zp_in = _mm256_set1_epi32 (in_zp), zp_out = _mm256_set1_epi32 (out_zp);
  __m256i lo = _mm256_set1_epi32 (out_min - out_zp), hi = _mm256_set1_epi32 (out_max - out_zp);
  gsize n8 = n / 8 * 8;

  mbqm_vec_init (&q, mode, multiplier, shift);
  for (gsize r = 0; r < rows; r++)
    {
      for (gsize i = 0; i < n8; i += 8)
        {
          __m256i y = mbqm_vec (&q, _mm256_sub_epi32 (load_bytes (in + r * in_stride + i), zp_in));
          guint64 bytes;

          /* clamped before the zero-point is added: out_zp + y cannot overflow */
          y = _mm256_min_epi32 (_mm256_max_epi32 (y, lo), hi);
          bytes = pack_bytes (_mm256_add_epi32 (y, zp_out));
          memcpy (out + r * out_stride + i, &bytes, 8);
        }
      if (n8 < n)
        qs_rescale_u8 (mode, in + r * in_stride + n8, n - n8, in_zp, multiplier, shift, out_zp,
                       out_min, out_max, out + r * out_stride + n8, 0, 0, 1);
    }
}

static void
add_avx2 (const guint8 *a, const guint8 *b, gsize n,
          const QsAddParams *p, guint8 *out)
{
  MbqmVec q1, q2, qo;
  __m256i zp1 = _mm256_set1_epi32 (p->zp1), zp2 = _mm256_set1_epi32 (p->zp2);
  __m256i zp_out = _mm256_set1_epi32 (p->out_zp);
  __m256i lo = _mm256_set1_epi32 (p->out_min - p->out_zp);
  __m256i hi = _mm256_set1_epi32 (p->out_max - p->out_zp);
  gsize n8 = n / 8 * 8;

  mbqm_vec_init (&q1, p->mode, p->m1, p->s1);
  mbqm_vec_init (&q2, p->mode, p->m2, p->s2);
  mbqm_vec_init (&qo, p->mode, p->m_out, p->s_out);
  for (gsize i = 0; i < n8; i += 8)
    {
      /* (code - zp) * 2^20: |.| <= 255 * 2^20, exact in int32 */
      __m256i x1 = _mm256_slli_epi32 (_mm256_sub_epi32 (load_bytes (a + i), zp1), QS_ADD_LEFT_SHIFT);
      __m256i x2 = _mm256_slli_epi32 (_mm256_sub_epi32 (load_bytes (b + i), zp2), QS_ADD_LEFT_SHIFT);
      __m256i y = mbqm_vec (&qo, _mm256_add_epi32 (mbqm_vec (&q1, x1), mbqm_vec (&q2, x2)));
      guint64 bytes;

      y = _mm256_min_epi32 (_mm256_max_epi32 (y, lo), hi);
      bytes = pack_bytes (_mm256_add_epi32 (y, zp_out));
      memcpy (out + i, &bytes, 8);
    }
  if (n8 < n)
    qs_add_u8 (a + n8, b + n8, n - n8, p, out + n8);
}

/* --- depthwise: the reference loop with its channel loop on 16 lanes --- */

/* acc[ch] += (px[ch] + offset) * wt[ch] for ch < c: (px + offset) in [-255, 255] times an
 * int8 is at most 255 * 128 = 32640 in magnitude, exact in vpmullw's int16; widened and
 * added in int32 as the reference does. */
static inline void
dw_accumulate_avx2 (gint32       *acc,
                    const guint8 *px,
                    const gint8  *wt,
                    gsize         c,
                    gint32        offset)
{
  __m256i voff = _mm256_set1_epi16 ((gint16) offset);
  gsize ch = 0;

  for (; ch + 16 <= c; ch += 16)
    {
      __m256i x = _mm256_add_epi16 (_mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) (px + ch))), voff);
      __m256i f = _mm256_cvtepi8_epi16 (_mm_loadu_si128 ((const __m128i *) (wt + ch)));
      __m256i prod = _mm256_mullo_epi16 (x, f);
      __m256i lo = _mm256_cvtepi16_epi32 (_mm256_castsi256_si128 (prod));
      __m256i hi = _mm256_cvtepi16_epi32 (_mm256_extracti128_si256 (prod, 1));

      _mm256_storeu_si256 ((__m256i *) (acc + ch),
                           _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) (acc + ch)), lo));
      _mm256_storeu_si256 ((__m256i *) (acc + ch + 8),
                           _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) (acc + ch + 8)), hi));
    }
  for (; ch < c; ch++)
    acc[ch] += ((gint32) px[ch] + offset) * wt[ch];
}

/* qs_depthwise_u8s8_ref's loop (taps inside the image, row-major) with dw_accumulate_avx2
 * and requant_avx2 per output pixel; depth multipliers other than 1 and input offsets
 * outside [-255, 0] run the reference. */
static void
depthwise_avx2 (const QsDepthwiseParams *p,
                const guint8            *input,
                const gint8             *filter,
                const QsRequant         *rq,
                guint8                  *output)
{
  gsize h = p->input_height, w = p->input_width, c = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width;
  gsize kh = p->filter_height, kw = p->filter_width;
  gsize sh = p->stride_height, sw = p->stride_width;
  gsize dh = p->dilation_height, dw = p->dilation_width;
  gint32 offset = p->input_offset;
  g_autofree gint32 *acc = NULL;

  if (p->depth_multiplier != 1 || offset > 0 || offset < -255)
    {
      qs_depthwise_u8s8_ref (p, input, filter, rq, output);
      return;
    }
  acc = g_new (gint32, c + 16);
  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        memcpy (acc, rq->bias, c * sizeof (gint32));
        for (gsize ky = 0; ky < kh; ky++)
          {
            gssize iy = (gssize) (oy * sh + ky * dh) - (gssize) p->pad_top;

            if (iy < 0 || iy >= (gssize) h)
              continue;
            for (gsize kx = 0; kx < kw; kx++)
              {
                gssize ix = (gssize) (ox * sw + kx * dw) - (gssize) p->pad_left;

                if (ix < 0 || ix >= (gssize) w)
                  continue;
                dw_accumulate_avx2 (acc, input + ((gsize) iy * w + (gsize) ix) * c,
                                    filter + (ky * kw + kx) * c, c, offset);
              }
          }
        requant_avx2 (acc, c, rq, output + (oy * ow + ox) * c);
      }
}

/* --- the Quantize op: qs_quantize_u8_ref's steps on 8 lanes (the tail: the reference) --- */

static void
quantize_avx2 (const float *x,
               gsize        n,
               float        scale,
               gint32       zp,
               gint32       qmin,
               gint32       qmax,
               int          rounding,
               guint8      *out)
{
  float lo = (float) (qmin - zp), hi = (float) (qmax - zp);
  __m256 vs = _mm256_set1_ps (scale), vlo = _mm256_set1_ps (lo), vhi = _mm256_set1_ps (hi);
  __m256 vlo1 = _mm256_set1_ps (lo - 1.0f), vhi1 = _mm256_set1_ps (hi + 1.0f);
  __m256 half = _mm256_set1_ps (0.5f), mhalf = _mm256_set1_ps (-0.5f), one = _mm256_set1_ps (1.0f);
  __m256i vzp = _mm256_set1_epi32 (zp);
  /* byte 0 of each int32 lane to the lane's low four bytes */
  const __m256i gather = _mm256_setr_epi8 (0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                           0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  gsize i = 0;

  for (; i + 8 <= n; i += 8)
    {
      __m256 xv = _mm256_loadu_ps (x + i), v, t;
      /* x - x is 0 exactly for the finite values, NaN for NaN and +-Inf */
      __m256 finite = _mm256_cmp_ps (_mm256_sub_ps (xv, xv), _mm256_setzero_ps (), _CMP_EQ_OQ);
      __m256i code, b;

      v = _mm256_div_ps (xv, vs);
      /* the finite lanes are not NaN: max / min are the reference's compares there */
      v = _mm256_min_ps (_mm256_max_ps (v, vlo1), vhi1);   /* |v| < 2^23 from here */
      switch (rounding)
        {
        case QS_ROUNDING_FLOOR:
          t = _mm256_round_ps (v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
          break;
        case QS_ROUNDING_NEAREST_AWAY:
          {
            __m256 d;

            t = _mm256_round_ps (v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            d = _mm256_sub_ps (v, t);   /* exact */
            t = _mm256_add_ps (t, _mm256_and_ps (_mm256_cmp_ps (d, half, _CMP_GE_OQ), one));
            t = _mm256_sub_ps (t, _mm256_and_ps (_mm256_cmp_ps (d, mhalf, _CMP_LE_OQ), one));
            break;
          }
        case QS_ROUNDING_NEAREST_EVEN:
        case QS_ROUNDING_STOCHASTIC:
        default:
          /* the reference's trunc-and-compare is round half to even */
          t = _mm256_round_ps (v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
          break;
        }
      t = _mm256_min_ps (_mm256_max_ps (t, vlo), vhi);
      code = _mm256_add_epi32 (_mm256_cvttps_epi32 (t), vzp);
      code = _mm256_blendv_epi8 (vzp, code, _mm256_castps_si256 (finite));
      b = _mm256_shuffle_epi8 (code, gather);
      _mm_storel_epi64 ((__m128i *) (out + i),
                        _mm_unpacklo_epi32 (_mm256_castsi256_si128 (b), _mm256_extracti128_si256 (b, 1)));
    }
  if (i < n)
    qs_quantize_u8_ref (x + i, n - i, scale, zp, qmin, qmax, rounding, out + i);
}

const QsIntKernels _qs_int_kernels_avx2 = {
  "avx2", gemm_avx2, requant_avx2, add_avx2, rescale_avx2, depthwise_avx2, quantize_avx2,
};
