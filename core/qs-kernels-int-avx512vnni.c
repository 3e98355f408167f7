/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <time.h>
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
#include "qs-tensor.h"
#include "qs-quant.h"

/* AVX-512 VNNI: vpdpbusd multiplies 4 uint8 activations by 4 int8 weights and adds the
 * four products to an int32 lane without saturation, so the accumulators equal the scalar
 * reference's exactly. 16 output channels per zmm, 4 zmm x 6 rows per micro-kernel. */

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
  __m512i   mult_odd, rmask, rthr;   /* mult >> 32 (64-bit lanes), 2^right - 1, rmask >> 1 */
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
  v->mult_odd = v->rmask = v->rthr = _mm512_setzero_si512 ();
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
  v->mult_odd = _mm512_srli_epi64 (v->mult, 32);
  v->rmask = _mm512_sub_epi32 (_mm512_sllv_epi32 (_mm512_set1_epi32 (1), v->right), _mm512_set1_epi32 (1));
  v->rthr = _mm512_srli_epi32 (v->rmask, 1);
}

/* srdhm_no_sat with the multiplier's odd lanes already shifted down. The per-channel
 * multipliers are in [0, 2^31) (QsRequant), never INT32_MIN: gemmlowp's saturating case
 * (a == b == INT32_MIN) cannot occur, so srdhm is srdhm_no_sat here. */
static inline __attribute__ ((always_inline)) __m512i
rq_srdhm (const RqVec *v,
          __m512i      a)
{
  const __m512i nudge = _mm512_set1_epi64 ((gint64) 1 << 30);
  __m512i pe = _mm512_add_epi64 (_mm512_mul_epi32 (a, v->mult), nudge);
  __m512i po = _mm512_add_epi64 (_mm512_mul_epi32 (_mm512_srli_epi64 (a, 32), v->mult_odd), nudge);

  return _mm512_mask_blend_epi32 (0xAAAA, _mm512_srli_epi64 (pe, 31), _mm512_slli_epi64 (po, 1));
}

/* rdbpot with the channel's mask and threshold precomputed. */
static inline __attribute__ ((always_inline)) __m512i
rq_rdbpot (const RqVec *v,
           __m512i      x)
{
  __m512i rem = _mm512_and_si512 (x, v->rmask);
  __m512i thr = _mm512_add_epi32 (v->rthr, _mm512_srli_epi32 (x, 31));
  __m512i r = _mm512_srav_epi32 (x, v->right);

  return _mm512_mask_add_epi32 (r, _mm512_cmpgt_epi32_mask (rem, thr), r, _mm512_set1_epi32 (1));
}

/* requant (acc) before the output zero-point and the clamp (fp32-rne: already clamped to
 * [out_min, out_max] - out_zp), in mode (v's; a constant where a caller specialises its
 * loop per mode). */
static inline __attribute__ ((always_inline)) __m512i
rq_vec_raw_mode (const RqVec   *v,
                 __m512i        acc,
                 QsRequantMode  mode)
{
  switch (mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      return single_rounding (acc, v->mult, v->ts);
    case QS_REQUANT_CMSIS_NN:
      /* vpsllvd wraps as the Cortex-M's 32-bit multiply does */
      return rq_rdbpot (v, rq_srdhm (v, _mm512_sllv_epi32 (acc, v->left)));
    case QS_REQUANT_FP32_RNE:
      {
        /* cvtdq2ps / cvtps2dq round to nearest even (default MXCSR); max / min as
         * qs_requantize_fp32_rne writes them (vmaxps returns the second operand for NaN) */
        __m512 f = _mm512_mul_ps (_mm512_cvtepi32_ps (acc), v->scale);

        f = _mm512_min_ps (_mm512_max_ps (f, v->flo), v->fhi);
        return _mm512_cvtps_epi32 (f);
      }
    case QS_REQUANT_GEMMLOWP:
    default:
      return rq_rdbpot (v, rq_srdhm (v, v->any_left ? sat_left_shift (acc, v->left) : acc));
    }
}

static inline __attribute__ ((always_inline)) __m512i
rq_vec_raw (const RqVec *v,
            __m512i      acc)
{
  return rq_vec_raw_mode (v, acc, v->mode);
}

/* rq_vec_apply32 in a mode known at compile time (v->mode ignored). */
static inline __attribute__ ((always_inline)) __m512i
rq_vec_apply32_mode (const RqVec   *v,
                     __m512i        acc,
                     QsRequantMode  mode)
{
  __m512i r = rq_vec_raw_mode (v, acc, mode);

  /* fp32-rne clamps in float, before the conversion */
  if (mode != QS_REQUANT_FP32_RNE)
    r = _mm512_min_epi32 (_mm512_max_epi32 (r, v->lo), v->hi);
  return _mm512_add_epi32 (r, v->zp);
}

/* rq_vec_apply before the narrowing: out_zp + clamp (requant (acc)), 16 int32 lanes in
 * [out_min, out_max]. */
static inline __attribute__ ((always_inline)) __m512i
rq_vec_apply32 (const RqVec *v,
                __m512i      acc)
{
  __m512i r = rq_vec_raw (v, acc);

  r = _mm512_min_epi32 (_mm512_max_epi32 (r, v->lo), v->hi);
  return _mm512_add_epi32 (r, v->zp);
}

static inline __attribute__ ((always_inline)) __m128i
rq_vec_apply (const RqVec *v,
              __m512i      acc)
{
  return _mm512_cvtepi32_epi8 (rq_vec_apply32 (v, acc));
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

/* The micro-kernel: MR rows x NC zmm of 16 output channels (up to 6 x 4 = 24 accumulators,
 * 4 weight registers and a broadcast: 29 of the 32 zmm). Per group of 4 reduction values
 * it loads NC weight vectors and MR broadcast activations for MR * NC vpdpbusd. The NC
 * weight blocks are the packed layout's consecutive 16-channel blocks, wstride bytes apart
 * (four sequential streams: no repacking). Requantization is fused into the store. */
#define MR_MAX 6
#define NC_MAX 4

/* Requantizes an mr x nc tile of accumulators and stores it (mr rows of nc * 16 codes). */
static __attribute__ ((noinline)) void
store_tile (__m512i          acc[MR_MAX][NC_MAX],
            const RqVec     *v,
            guint8          *c,
            gsize            ldc,
            const __mmask16 *lanes,
            int              mr,
            int              nc)
{
#define STORE_TILE_MODE(MODE) \
  for (int j = 0; j < nc; j++) \
    for (int r = 0; r < mr; r++) \
      _mm_mask_storeu_epi8 (c + r * ldc + j * 16, lanes[j], \
                            _mm512_cvtepi32_epi8 (rq_vec_apply32_mode (&v[j], acc[r][j], MODE)));

  /* one loop per mode: the mode switch of rq_vec_raw folds away */
  switch (v[0].mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING: STORE_TILE_MODE (QS_REQUANT_SINGLE_ROUNDING); break;
    case QS_REQUANT_CMSIS_NN:        STORE_TILE_MODE (QS_REQUANT_CMSIS_NN); break;
    case QS_REQUANT_FP32_RNE:        STORE_TILE_MODE (QS_REQUANT_FP32_RNE); break;
    case QS_REQUANT_GEMMLOWP:
    default:                         STORE_TILE_MODE (QS_REQUANT_GEMMLOWP); break;
    }
#undef STORE_TILE_MODE
}

static inline __attribute__ ((always_inline)) void
micro (const guint8  *a,
       gsize          lda,
       const gsize   *seg_off,
       gsize          n_seg,
       gsize          seg_k4,
       const gint8   *wblk,
       gsize          wstride,
       const __m512i *bias,
       const RqVec   *v,
       guint8        *c,
       gsize          ldc,
       const __mmask16 *lanes,
       const int      mr,
       const int      nc)
{
  __m512i acc[MR_MAX][NC_MAX];

#pragma GCC unroll 6
  for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
    for (int j = 0; j < nc; j++)
      acc[r][j] = bias[j];
  for (gsize s = 0; s < n_seg; s++)
    {
      const guint8 *as = a + seg_off[s];
      const gint8 *ws = wblk + s * seg_k4 * 64;

      for (gsize k4 = 0; k4 < seg_k4; k4++)
        {
          __m512i wv[NC_MAX];

#pragma GCC unroll 4
          for (int j = 0; j < nc; j++)
            wv[j] = _mm512_load_si512 ((const void *) (ws + j * wstride + k4 * 64));
#pragma GCC unroll 6
          for (int r = 0; r < mr; r++)
            {
              gint32 a4;
              __m512i av;

              memcpy (&a4, as + r * lda + k4 * 4, 4);
              av = _mm512_set1_epi32 (a4);
#pragma GCC unroll 4
              for (int j = 0; j < nc; j++)
                acc[r][j] = _mm512_dpbusd_epi32 (acc[r][j], av, wv[j]);
            }
        }
    }
  /* the requantization runs out of line on a copy: inlined, its constants competed with the
   * 24 accumulators for registers and GCC spilled the accumulators inside the k loop */
  {
    __m512i out[MR_MAX][NC_MAX];

#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
      for (int j = 0; j < nc; j++)
        out[r][j] = acc[r][j];
    store_tile (out, v, c, ldc, lanes, mr, nc);
  }
}

#define MICRO(MR, NC) \
  micro (a, lda, seg_off, n_seg, seg_k4, wblk, wstride, bias, v, c, ldc, lanes, MR, NC)
#define MICRO_ROWS(NC) \
  switch (mr) \
    { \
    case 1: MICRO (1, NC); break; \
    case 2: MICRO (2, NC); break; \
    case 3: MICRO (3, NC); break; \
    case 4: MICRO (4, NC); break; \
    case 5: MICRO (5, NC); break; \
    default: MICRO (6, NC); break; \
    }

static void
micro_any (const guint8    *a,
           gsize            lda,
           const gsize     *seg_off,
           gsize            n_seg,
           gsize            seg_k4,
           const gint8     *wblk,
           gsize            wstride,
           const __m512i   *bias,
           const RqVec     *v,
           guint8          *c,
           gsize            ldc,
           const __mmask16 *lanes,
           int              mr,
           int              nc)
{
  switch (nc)
    {
    case 1: MICRO_ROWS (1); break;
    case 2: MICRO_ROWS (2); break;
    case 3: MICRO_ROWS (3); break;
    default: MICRO_ROWS (4); break;
    }
}

/* Rows of A per pass over a panel of NC_MAX weight blocks: a whole call's rows when they
 * are few (im2col blocks, one output row of an implicit convolution), so each panel is
 * read from L2 once per MR_MAX rows while the rows' activations stay in L1. */
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
  gsize k4n = w->kp / 4, seg_k4 = k4n / n_seg, wstride = k4n * 64, nblocks = w->np / 16;

  if (seg_off == NULL)
    seg_off = no_segments;
  for (gsize nb = 0; nb < nblocks; nb += NC_MAX)
    {
      int nc = (int) MIN (NC_MAX, nblocks - nb);
      __m512i bias[NC_MAX];
      __mmask16 lanes[NC_MAX];
      RqVec v[NC_MAX];

      for (int j = 0; j < nc; j++)
        {
          gsize c0 = (nb + (gsize) j) * 16;

          lanes[j] = w->n - c0 >= 16 ? 0xFFFF : (__mmask16) ((1u << (w->n - c0)) - 1);
          bias[j] = _mm512_maskz_loadu_epi32 (lanes[j], rq->bias + c0);
          rq_vec_load (&v[j], rq, c0, lanes[j]);
        }
      for (gsize row = 0; row < m; row += MR_MAX)
        micro_any (a + row * lda, lda, seg_off, n_seg, seg_k4, w->data + nb * wstride, wstride,
                   bias, v, c + row * ldc + nb * 16, ldc, lanes, (int) MIN (MR_MAX, m - row), nc);
    }
}

/* --- element-wise kernels (qs_rescale_u8, qs_add_u8) --- */

/* qs_requant_mbqm with one multiplier and shift for every lane (fp32-rne: gemmlowp). */
typedef struct
{
  QsRequantMode mode;
  __m512i       mult, left, right, ts;
  gboolean      any_left;
} MbqmVec;

static inline void
mbqm_vec_init (MbqmVec       *q,
               QsRequantMode  mode,
               gint32         multiplier,
               gint32         shift)
{
  q->mode = mode == QS_REQUANT_FP32_RNE ? QS_REQUANT_GEMMLOWP : mode;
  q->mult = _mm512_set1_epi32 (multiplier);
  q->left = _mm512_set1_epi32 (shift > 0 ? shift : 0);
  q->right = _mm512_set1_epi32 (shift > 0 ? 0 : -shift);
  q->ts = _mm512_set1_epi32 (31 - shift);
  q->any_left = shift > 0;
}

static inline __attribute__ ((always_inline)) __m512i
mbqm_vec (const MbqmVec *q,
          __m512i        x)
{
  switch (q->mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      return single_rounding (x, q->mult, q->ts);
    case QS_REQUANT_CMSIS_NN:
      return rdbpot (srdhm_no_sat (_mm512_sllv_epi32 (x, q->left), q->mult), q->right);
    case QS_REQUANT_GEMMLOWP:
    case QS_REQUANT_FP32_RNE:
    default:
      return rdbpot (srdhm (q->any_left ? sat_left_shift (x, q->left) : x, q->mult), q->right);
    }
}

static inline __mmask16
tail_mask (gsize left)
{
  return left >= 16 ? 0xFFFF : (__mmask16) ((1u << left) - 1);
}

static void
rescale_avx512 (QsRequantMode mode,
                const guint8 *in, gsize n, gint32 in_zp, gint32 multiplier,
                gint32 shift, gint32 out_zp, gint32 out_min, gint32 out_max,
                guint8 *out, gsize out_stride, gsize in_stride, gsize rows)
{
  MbqmVec q;
  __m512i zp_in = _mm512_set1_epi32 (in_zp), zp_out = _mm512_set1_epi32 (out_zp);
  __m512i lo = _mm512_set1_epi32 (out_min - out_zp), hi = _mm512_set1_epi32 (out_max - out_zp);

  mbqm_vec_init (&q, mode, multiplier, shift);
  for (gsize r = 0; r < rows; r++)
    for (gsize i = 0; i < n; i += 16)
      {
        __mmask16 m = tail_mask (n - i);
        __m512i x = _mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (m, in + r * in_stride + i));
        __m512i y = mbqm_vec (&q, _mm512_sub_epi32 (x, zp_in));

        /* clamped before the zero-point is added: out_zp + y cannot overflow */
        y = _mm512_min_epi32 (_mm512_max_epi32 (y, lo), hi);
        _mm_mask_storeu_epi8 (out + r * out_stride + i, m,
                              _mm512_cvtepi32_epi8 (_mm512_add_epi32 (y, zp_out)));
      }
}

/* One Add loop per mode (mode a constant): mbqm_vec's mode switch folds away and the loop
 * keeps its constants in registers. */
static inline __attribute__ ((always_inline)) void
add_loop (const guint8 *a, const guint8 *b, gsize n,
          const QsAddParams *p, guint8 *out, const QsRequantMode mode)
{
  MbqmVec q1, q2, qo;
  __m512i zp1 = _mm512_set1_epi32 (p->zp1), zp2 = _mm512_set1_epi32 (p->zp2);
  __m512i zp_out = _mm512_set1_epi32 (p->out_zp);
  __m512i lo = _mm512_set1_epi32 (p->out_min - p->out_zp);
  __m512i hi = _mm512_set1_epi32 (p->out_max - p->out_zp);

  mbqm_vec_init (&q1, mode, p->m1, p->s1);
  mbqm_vec_init (&q2, mode, p->m2, p->s2);
  mbqm_vec_init (&qo, mode, p->m_out, p->s_out);
  q1.mode = q2.mode = qo.mode = mode == QS_REQUANT_FP32_RNE ? QS_REQUANT_GEMMLOWP : mode;
  for (gsize i = 0; i < n; i += 16)
    {
      __mmask16 m = tail_mask (n - i);
      __m512i x1 = _mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (m, a + i));
      __m512i x2 = _mm512_cvtepu8_epi32 (_mm_maskz_loadu_epi8 (m, b + i));
      __m512i sum, y;

      /* (code - zp) * 2^20: |.| <= 255 * 2^20, exact in int32 */
      x1 = _mm512_slli_epi32 (_mm512_sub_epi32 (x1, zp1), QS_ADD_LEFT_SHIFT);
      x2 = _mm512_slli_epi32 (_mm512_sub_epi32 (x2, zp2), QS_ADD_LEFT_SHIFT);
      sum = _mm512_add_epi32 (mbqm_vec (&q1, x1), mbqm_vec (&q2, x2));
      y = mbqm_vec (&qo, sum);
      y = _mm512_min_epi32 (_mm512_max_epi32 (y, lo), hi);
      _mm_mask_storeu_epi8 (out + i, m, _mm512_cvtepi32_epi8 (_mm512_add_epi32 (y, zp_out)));
    }
}

static void
add_avx512 (const guint8 *a, const guint8 *b, gsize n,
            const QsAddParams *p, guint8 *out)
{
  switch (p->mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      add_loop (a, b, n, p, out, QS_REQUANT_SINGLE_ROUNDING);
      break;
    case QS_REQUANT_CMSIS_NN:
      add_loop (a, b, n, p, out, QS_REQUANT_CMSIS_NN);
      break;
    case QS_REQUANT_GEMMLOWP:
    case QS_REQUANT_FP32_RNE:   /* the gemmlowp arithmetic (qs_add_u8) */
    default:
      add_loop (a, b, n, p, out, QS_REQUANT_GEMMLOWP);
      break;
    }
}

/* --- depthwise (depth multiplier 1) with vpdpbusd: 64 channels, four taps per step --- */

/* The channel of lane l (0-15) of accumulator j (0-3) of a 64-channel block: the order in
 * which the 8- and 16-bit unpacks (within each 128-bit lane) leave the interleaved taps,
 * and which the saturating packs after the requantization undo (dw_store). */
static inline gsize
dw_channel (gsize j,
            gsize l)
{
  return 16 * (l / 4) + 4 * j + l % 4;
}

/* Four taps' 64 input bytes each to four vectors of 16 channels x 4 taps (vpdpbusd
 * groups): q[j] lane l holds the taps of channel dw_channel (j, l). */
static inline __attribute__ ((always_inline)) void
dw_interleave (__m512i  x0,
               __m512i  x1,
               __m512i  x2,
               __m512i  x3,
               __m512i *q)
{
  __m512i ab_lo = _mm512_unpacklo_epi8 (x0, x1), ab_hi = _mm512_unpackhi_epi8 (x0, x1);
  __m512i cd_lo = _mm512_unpacklo_epi8 (x2, x3), cd_hi = _mm512_unpackhi_epi8 (x2, x3);

  q[0] = _mm512_unpacklo_epi16 (ab_lo, cd_lo);
  q[1] = _mm512_unpackhi_epi16 (ab_lo, cd_lo);
  q[2] = _mm512_unpacklo_epi16 (ab_hi, cd_hi);
  q[3] = _mm512_unpackhi_epi16 (ab_hi, cd_hi);
}

/* The packed depthwise: the filter of each 64-channel block b in groups of four kernel rows
 * per kernel column, [b][kx][gy][4] (rows 4 gy .. 4 gy + 3 of column kx, rows past kh zero),
 * interleaved as dw_interleave leaves the input; bias + offset * (sum of the channel's
 * filter) and the requantization constants in the accumulators' slot order. */
typedef struct
{
  QsDepthwisePacked parent;
  gsize     c, nb, kh, kw, ngy;
  gint32    input_offset;
  gboolean  half;       /* the last block has at most 32 channels (dw_row_half) */
  __m512i  *wpk;
  __m512i  *bias;       /* [nb][4] */
  RqVec    *v;          /* [nb][4] */
  guint8   *pad;        /* nb * 64 bytes of -input_offset: the padding pixel */
  __m512i   outc[3];    /* the output zero-point (16-bit lanes), out_min, out_max (8-bit) */
} DwPacked;

/* Requantizes a block's four accumulators (dw_channel order) and stores its 64 codes in
 * channel order. The packs put the lanes back in channel order; saturating to int16,
 * adding the zero-point saturating and saturating to uint8 are monotonic and exact inside
 * [0, 255], so the byte clamp after them gives the reference's clamp (out_zp + r). */
static inline __attribute__ ((always_inline)) void
dw_store_block (const RqVec   *v,
                const __m512i *outc,
                __m512i        acc0,
                __m512i        acc1,
                __m512i        acc2,
                __m512i        acc3,
                __mmask64      mask,
                guint8        *dst,
                const gboolean whole,
                QsRequantMode  mode)
{
  __m512i r0 = rq_vec_raw_mode (&v[0], acc0, mode), r1 = rq_vec_raw_mode (&v[1], acc1, mode);
  __m512i r2 = rq_vec_raw_mode (&v[2], acc2, mode), r3 = rq_vec_raw_mode (&v[3], acc3, mode), out;

  out = _mm512_packus_epi16 (_mm512_adds_epi16 (_mm512_packs_epi32 (r0, r1), outc[0]),
                             _mm512_adds_epi16 (_mm512_packs_epi32 (r2, r3), outc[0]));
  out = _mm512_min_epu8 (_mm512_max_epu8 (out, outc[1]), outc[2]);
  if (whole)
    _mm512_storeu_si512 ((void *) dst, out);
  else
    _mm512_mask_storeu_epi8 (dst, mask, out);
}

/* One output row of block b (64 channels, or fewer under mask): first every input column
 * the row reads, its kernel rows interleaved once into col (ncol x ngy x 4 vectors; a
 * column or row outside the image reads the padding pixel), then each output pixel adds
 * its kw x ngy column groups with vpdpbusd. A column serves every output pixel that reads
 * it (kw of them at stride 1) instead of being interleaved again for each. kw and ngy are
 * constants where the caller specialises (3x3: the 12 filter vectors stay in registers). */
static inline __attribute__ ((always_inline)) void
dw_row_block (const DwPacked      *pk,
              const guint8 *const *rows,
              gsize                b,
              gssize               x0,
              gsize                w,
              gsize                ow,
              gsize                sw,
              gsize                dw,
              gsize                ncol,
              __m512i             *col,
              guint8              *dst,
              __mmask64            mask,
              const gboolean       whole,
              const gsize          kw,
              const gsize          ngy,
              const QsRequantMode  mode)
{
  gsize c = pk->c;
  const __m512i *wb = pk->wpk + b * kw * ngy * 4, *bb = pk->bias + b * 4;
  const RqVec *v = pk->v + b * 4;
  const guint8 *pad = pk->pad + b * 64;
  __m512i wr[12];
  const gboolean in_regs = kw * ngy * 4 <= 12;

  for (gsize k = 0; in_regs && k < kw * ngy * 4; k++)
    wr[k] = wb[k];
  for (gsize ci = 0; ci < ncol; ci++)
    {
      gssize ix = x0 + (gssize) ci;
      gboolean in_x = ix >= 0 && ix < (gssize) w;

      for (gsize gy = 0; gy < ngy; gy++)
        {
          __m512i x[4];

#pragma GCC unroll 4
          for (int i = 0; i < 4; i++)
            {
              const guint8 *r = rows[4 * gy + i];
              const guint8 *src = in_x && r != NULL ? r + (gsize) ix * c + b * 64 : pad;

              x[i] = whole ? _mm512_loadu_si512 ((const void *) src) : _mm512_maskz_loadu_epi8 (mask, src);
            }
          dw_interleave (x[0], x[1], x[2], x[3], col + (ci * ngy + gy) * 4);
        }
    }
  for (gsize ox = 0; ox < ow; ox++)
    {
      __m512i acc0 = bb[0], acc1 = bb[1], acc2 = bb[2], acc3 = bb[3];

      for (gsize kx = 0; kx < kw; kx++)
        for (gsize gy = 0; gy < ngy; gy++)
          {
            const __m512i *q = col + ((ox * sw + kx * dw) * ngy + gy) * 4;
            gsize k = (kx * ngy + gy) * 4;

            acc0 = _mm512_dpbusd_epi32 (acc0, q[0], in_regs ? wr[k + 0] : wb[k + 0]);
            acc1 = _mm512_dpbusd_epi32 (acc1, q[1], in_regs ? wr[k + 1] : wb[k + 1]);
            acc2 = _mm512_dpbusd_epi32 (acc2, q[2], in_regs ? wr[k + 2] : wb[k + 2]);
            acc3 = _mm512_dpbusd_epi32 (acc3, q[3], in_regs ? wr[k + 3] : wb[k + 3]);
          }
      dw_store_block (v, pk->outc, acc0, acc1, acc2, acc3, mask, dst + ox * c, whole, mode);
    }
}

/* dw_row_block for the last block when it has at most 32 channels: the same steps on
 * 256-bit vectors (four ymm accumulators, lane l of accumulator j is channel
 * dw_channel (j, l), l < 8; the filter is the low half of the 512-bit interleave, which the
 * 256-bit unpacks reproduce), requantized two accumulators per zmm (bias and v in
 * dw_slot_channel's half-block order). */
static inline __attribute__ ((always_inline)) void
dw_row_half (const DwPacked      *pk,
             const guint8 *const *rows,
             gsize                b,
             gssize               x0,
             gsize                w,
             gsize                ow,
             gsize                sw,
             gsize                dw,
             gsize                ncol,
             __m256i             *col,
             guint8              *dst,
             __mmask32            mask,
             const gsize          kw,
             const gsize          ngy,
             const QsRequantMode  mode)
{
  gsize c = pk->c;
  const __m512i *wb = pk->wpk + b * kw * ngy * 4, *bb = pk->bias + b * 4;
  const RqVec *v = pk->v + b * 4;
  const __m512i *outc = pk->outc;
  const guint8 *pad = pk->pad + b * 64;
  __m256i wr[12];
  const gboolean in_regs = kw * ngy * 4 <= 12;

  for (gsize k = 0; k < kw * ngy * 4 && k < 12; k++)
    wr[k] = _mm512_castsi512_si256 (wb[k]);
  for (gsize ci = 0; ci < ncol; ci++)
    {
      gssize ix = x0 + (gssize) ci;
      gboolean in_x = ix >= 0 && ix < (gssize) w;

      for (gsize gy = 0; gy < ngy; gy++)
        {
          __m256i x[4], ab_lo, ab_hi, cd_lo, cd_hi, *q = col + (ci * ngy + gy) * 4;

#pragma GCC unroll 4
          for (int i = 0; i < 4; i++)
            {
              const guint8 *r = rows[4 * gy + i];

              x[i] = _mm256_maskz_loadu_epi8 (mask, in_x && r != NULL ? r + (gsize) ix * c + b * 64 : pad);
            }
          ab_lo = _mm256_unpacklo_epi8 (x[0], x[1]);
          ab_hi = _mm256_unpackhi_epi8 (x[0], x[1]);
          cd_lo = _mm256_unpacklo_epi8 (x[2], x[3]);
          cd_hi = _mm256_unpackhi_epi8 (x[2], x[3]);
          q[0] = _mm256_unpacklo_epi16 (ab_lo, cd_lo);
          q[1] = _mm256_unpackhi_epi16 (ab_lo, cd_lo);
          q[2] = _mm256_unpacklo_epi16 (ab_hi, cd_hi);
          q[3] = _mm256_unpackhi_epi16 (ab_hi, cd_hi);
        }
    }
  for (gsize ox = 0; ox < ow; ox++)
    {
      __m256i acc0 = _mm512_castsi512_si256 (bb[0]), acc1 = _mm512_extracti64x4_epi64 (bb[0], 1);
      __m256i acc2 = _mm512_castsi512_si256 (bb[1]), acc3 = _mm512_extracti64x4_epi64 (bb[1], 1);
      __m512i r01, r23;
      __m256i out;

      for (gsize kx = 0; kx < kw; kx++)
        for (gsize gy = 0; gy < ngy; gy++)
          {
            const __m256i *q = col + ((ox * sw + kx * dw) * ngy + gy) * 4;
            gsize k = (kx * ngy + gy) * 4;

            acc0 = _mm256_dpbusd_epi32 (acc0, q[0], in_regs ? wr[k + 0] : _mm512_castsi512_si256 (wb[k + 0]));
            acc1 = _mm256_dpbusd_epi32 (acc1, q[1], in_regs ? wr[k + 1] : _mm512_castsi512_si256 (wb[k + 1]));
            acc2 = _mm256_dpbusd_epi32 (acc2, q[2], in_regs ? wr[k + 2] : _mm512_castsi512_si256 (wb[k + 2]));
            acc3 = _mm256_dpbusd_epi32 (acc3, q[3], in_regs ? wr[k + 3] : _mm512_castsi512_si256 (wb[k + 3]));
          }
      r01 = rq_vec_raw_mode (&v[0], _mm512_inserti64x4 (_mm512_castsi256_si512 (acc0), acc1, 1), mode);
      r23 = rq_vec_raw_mode (&v[1], _mm512_inserti64x4 (_mm512_castsi256_si512 (acc2), acc3, 1), mode);
      out = _mm256_packus_epi16 (_mm256_adds_epi16 (_mm256_packs_epi32 (_mm512_castsi512_si256 (r01),
                                                                        _mm512_extracti64x4_epi64 (r01, 1)),
                                                    _mm512_castsi512_si256 (outc[0])),
                                 _mm256_adds_epi16 (_mm256_packs_epi32 (_mm512_castsi512_si256 (r23),
                                                                        _mm512_extracti64x4_epi64 (r23, 1)),
                                                    _mm512_castsi512_si256 (outc[0])));
      out = _mm256_min_epu8 (_mm256_max_epu8 (out, _mm512_castsi512_si256 (outc[1])),
                             _mm512_castsi512_si256 (outc[2]));
      _mm256_mask_storeu_epi8 (dst + ox * c, mask, out);
    }
}

/* The channel (within its block) of slot s (0-63) of a block's four accumulator vectors:
 * dw_channel's order, or the half block's (dw_row_half: zmm k holds ymm accumulators
 * 2k and 2k + 1). */
static inline gsize
dw_slot_channel (gsize    s,
                 gboolean half)
{
  if (half)
    return s < 32 ? dw_channel (2 * (s / 16) + (s % 16) / 8, s % 8) : 64;
  return dw_channel (s / 16, s % 16);
}

static inline __attribute__ ((always_inline)) void
dw_rows (const DwPacked          *pk,
         const QsDepthwiseParams *p,
         const guint8            *input,
         guint8                  *output,
         const guint8           **rows,
         __m512i                 *col,
         const QsRequantMode      mode)
{
  gsize h = p->input_height, w = p->input_width, c = pk->c;
  gsize oh = p->output_height, ow = p->output_width;
  gsize kh = pk->kh, kw = pk->kw, ngy = pk->ngy, nb = pk->nb;
  gsize sh = p->stride_height, sw = p->stride_width;
  gsize dh = p->dilation_height, dw = p->dilation_width;
  gsize ncol = (ow - 1) * sw + (kw - 1) * dw + 1;
  gssize x0 = -(gssize) p->pad_left;

  for (gsize oy = 0; oy < oh; oy++)
    {
      gssize iy0 = (gssize) (oy * sh) - (gssize) p->pad_top;
      guint8 *drow = output + oy * ow * c;

      for (gsize r = 0; r < 4 * ngy; r++)
        {
          gssize iy = iy0 + (gssize) (r * dh);

          rows[r] = r < kh && iy >= 0 && iy < (gssize) h ? input + (gsize) iy * w * c : NULL;
        }
      for (gsize b = 0; b < nb; b++)
        {
          gsize cb = MIN (c - b * 64, 64);

          if (pk->half && b == nb - 1)
            {
              __mmask32 m = (__mmask32) (((guint64) 1 << cb) - 1);

              if (kw == 3 && ngy == 1)
                dw_row_half (pk, rows, b, x0, w, ow, sw, dw, ncol, (__m256i *) col, drow + b * 64, m, 3, 1, mode);
              else
                dw_row_half (pk, rows, b, x0, w, ow, sw, dw, ncol, (__m256i *) col, drow + b * 64, m, kw, ngy, mode);
            }
          else if (cb == 64)
            {
              if (kw == 3 && ngy == 1)
                dw_row_block (pk, rows, b, x0, w, ow, sw, dw, ncol, col, drow + b * 64, ~(__mmask64) 0, TRUE, 3, 1, mode);
              else
                dw_row_block (pk, rows, b, x0, w, ow, sw, dw, ncol, col, drow + b * 64, ~(__mmask64) 0, TRUE, kw, ngy, mode);
            }
          else
            dw_row_block (pk, rows, b, x0, w, ow, sw, dw, ncol, col, drow + b * 64,
                          ((__mmask64) 1 << cb) - 1, FALSE, kw, ngy, mode);
        }
    }
}

/* acc = bias + sum over the valid taps of (input + offset) * filter. Integer additions in
 * any order give the reference's sums (no overflow: at most kh * kw products of
 * |.| <= 255 * 128 past the bias). The kernel starts from bias + offset * (sum of the
 * channel's filter) and adds input * filter with vpdpbusd (uint8 input, int8 filter,
 * exact); a tap outside the image reads a padding pixel of -offset (the input zero-point),
 * whose (input + offset) * filter is 0 as the reference's skipped tap, and the zero filter
 * rows past kh add 0 whatever they read. The loops are specialised per requantization
 * mode (no mode switch per pixel). */
static void
depthwise_packed_avx512 (const QsDepthwisePacked *base,
                         const QsDepthwiseParams *p,
                         const guint8            *input,
                         guint8                  *output)
{
  const DwPacked *pk = (const DwPacked *) base;
  gsize ow = p->output_width, ngy = pk->ngy;
  __m512i *col;
  const guint8 *rows_stack[16];
  g_autofree const guint8 **rows_heap = 4 * ngy > G_N_ELEMENTS (rows_stack) ? g_new (const guint8 *, 4 * ngy) : NULL;
  const guint8 **rows = rows_heap != NULL ? rows_heap : rows_stack;

  g_return_if_fail (p->input_depth == pk->c && p->filter_height == pk->kh && p->filter_width == pk->kw
                    && p->input_offset == pk->input_offset);
  if (p->output_height == 0 || ow == 0)
    return;
  col = qs_aligned_alloc (((ow - 1) * p->stride_width + (pk->kw - 1) * p->dilation_width + 1)
                          * ngy * 4 * sizeof (__m512i));
  switch (pk->v[0].mode)
    {
    case QS_REQUANT_SINGLE_ROUNDING:
      dw_rows (pk, p, input, output, rows, col, QS_REQUANT_SINGLE_ROUNDING);
      break;
    case QS_REQUANT_CMSIS_NN:
      dw_rows (pk, p, input, output, rows, col, QS_REQUANT_CMSIS_NN);
      break;
    case QS_REQUANT_FP32_RNE:
      dw_rows (pk, p, input, output, rows, col, QS_REQUANT_FP32_RNE);
      break;
    case QS_REQUANT_GEMMLOWP:
    default:
      dw_rows (pk, p, input, output, rows, col, QS_REQUANT_GEMMLOWP);
      break;
    }
  qs_aligned_free (col);
}

static void
dw_packed_free (QsDepthwisePacked *base)
{
  DwPacked *pk = (DwPacked *) base;

  qs_aligned_free (pk->wpk);
  qs_aligned_free (pk->bias);
  qs_aligned_free (pk->v);
  qs_aligned_free (pk->pad);
  qs_aligned_free (pk);
}

static QsDepthwisePacked *
depthwise_pack_avx512 (const QsDepthwiseParams *p,
                       const gint8             *filter,
                       const QsRequant         *rq)
{
  gsize c = p->input_depth, kh = p->filter_height, kw = p->filter_width;
  gsize nb = (c + 63) / 64, cp = nb * 64, taps = kh * kw, ngy = (kh + 3) / 4;
  g_autofree gint32 *fsum = NULL;
  gint32 *perm_i;
  float *perm_f;
  QsRequant prq;
  DwPacked *pk;

  if (p->depth_multiplier != 1 || p->input_offset > 0 || p->input_offset < -255 || c == 0
      || kh == 0 || kw == 0)
    return NULL;
  pk = qs_aligned_alloc0 (sizeof (DwPacked));   /* 64-byte aligned (the __m512i fields) */
  pk->parent.run = depthwise_packed_avx512;
  pk->parent.free = dw_packed_free;
  pk->c = c;
  pk->nb = nb;
  pk->kh = kh;
  pk->kw = kw;
  pk->ngy = ngy;
  pk->input_offset = p->input_offset;
  pk->half = c - (nb - 1) * 64 <= 32;
  pk->wpk = qs_aligned_alloc0 (nb * kw * ngy * 4 * sizeof (__m512i));
  pk->bias = qs_aligned_alloc0 (nb * 4 * sizeof (__m512i));
  pk->v = qs_aligned_alloc0 (nb * 4 * sizeof (RqVec));
  pk->pad = qs_aligned_alloc0 (cp);
  memset (pk->pad, -p->input_offset, cp);
  pk->outc[0] = _mm512_set1_epi16 ((gint16) rq->out_zp);
  pk->outc[1] = _mm512_set1_epi8 ((char) rq->out_min);
  pk->outc[2] = _mm512_set1_epi8 ((char) rq->out_max);

  for (gsize b = 0; b < nb; b++)
    {
      __mmask64 mask = c - b * 64 >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << (c - b * 64)) - 1;

      for (gsize kx = 0; kx < kw; kx++)
        for (gsize gy = 0; gy < ngy; gy++)
          {
            __m512i x[4];

            for (gsize i = 0; i < 4; i++)
              x[i] = 4 * gy + i < kh
                     ? _mm512_maskz_loadu_epi8 (mask, filter + ((4 * gy + i) * kw + kx) * c + b * 64)
                     : _mm512_setzero_si512 ();
            dw_interleave (x[0], x[1], x[2], x[3], pk->wpk + ((b * kw + kx) * ngy + gy) * 4);
          }
    }
  fsum = g_new0 (gint32, c);
  for (gsize t = 0; t < taps; t++)
    for (gsize ch = 0; ch < c; ch++)
      fsum[ch] += filter[t * c + ch];
  /* the per-channel values in slot order; the slots past c are zero (not stored) */
  perm_i = qs_aligned_alloc0 (2 * cp * sizeof (gint32));
  perm_f = qs_aligned_alloc0 (cp * sizeof (float));
  for (gsize i = 0; i < cp; i++)
    {
      gsize ch = (i / 64) * 64 + dw_slot_channel (i % 64, pk->half && i / 64 == nb - 1);

      if (ch >= c)
        continue;
      ((gint32 *) pk->bias)[i] = (gint32) ((guint32) rq->bias[ch]
                                           + (guint32) fsum[ch] * (guint32) p->input_offset);
      if (rq->multiplier != NULL)
        perm_i[i] = rq->multiplier[ch];
      if (rq->shift != NULL)
        perm_i[cp + i] = rq->shift[ch];
      if (rq->scale != NULL)
        perm_f[i] = rq->scale[ch];
    }
  prq = *rq;
  prq.multiplier = perm_i;
  prq.shift = perm_i + cp;
  prq.scale = perm_f;
  for (gsize i = 0; i < nb * 4; i++)
    rq_vec_load (&pk->v[i], &prq, i * 16, 0xFFFF);
  qs_aligned_free (perm_i);
  qs_aligned_free (perm_f);
  return &pk->parent;
}

/* qs_depthwise_u8s8 without a pack kept: packs, runs, frees (the reference for the shapes
 * the packed kernel does not take). */
static void
depthwise_avx512 (const QsDepthwiseParams *p,
                  const guint8            *input,
                  const gint8             *filter,
                  const QsRequant         *rq,
                  guint8                  *output)
{
  QsDepthwisePacked *pk = depthwise_pack_avx512 (p, filter, rq);

  if (pk == NULL)
    {
      qs_depthwise_u8s8_ref (p, input, filter, rq, output);
      return;
    }
  depthwise_packed_avx512 (pk, p, input, output);
  dw_packed_free (pk);
}

/* --- the Quantize op: qs_quantize_u8_ref's steps on 16 lanes --- */

static void
quantize_avx512 (const float *x,
                 gsize        n,
                 float        scale,
                 gint32       zp,
                 gint32       qmin,
                 gint32       qmax,
                 int          rounding,
                 guint8      *out)
{
  float lo = (float) (qmin - zp), hi = (float) (qmax - zp);
  __m512 vs = _mm512_set1_ps (scale), vlo = _mm512_set1_ps (lo), vhi = _mm512_set1_ps (hi);
  __m512 vlo1 = _mm512_set1_ps (lo - 1.0f), vhi1 = _mm512_set1_ps (hi + 1.0f);
  __m512 half = _mm512_set1_ps (0.5f), one = _mm512_set1_ps (1.0f);
  __m512i vzp = _mm512_set1_epi32 (zp);

  for (gsize i = 0; i < n; i += 16)
    {
      __mmask16 m = tail_mask (n - i);
      __m512 xv = _mm512_maskz_loadu_ps (m, x + i), v, t;
      /* x - x is 0 exactly for the finite values, NaN for NaN and +-Inf */
      __mmask16 finite = _mm512_cmp_ps_mask (_mm512_sub_ps (xv, xv), _mm512_setzero_ps (), _CMP_EQ_OQ);
      __m512i code;

      v = _mm512_div_ps (xv, vs);
      v = _mm512_min_ps (_mm512_max_ps (v, vlo1), vhi1);   /* |v| < 2^23 from here */
      switch (rounding)
        {
        case QS_ROUNDING_FLOOR:
          t = _mm512_roundscale_ps (v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
          break;
        case QS_ROUNDING_NEAREST_AWAY:
          {
            __m512 d;

            t = _mm512_roundscale_ps (v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            d = _mm512_sub_ps (v, t);
            t = _mm512_mask_add_ps (t, _mm512_cmp_ps_mask (d, half, _CMP_GE_OQ), t, one);
            t = _mm512_mask_sub_ps (t, _mm512_cmp_ps_mask (d, _mm512_sub_ps (_mm512_setzero_ps (), half),
                                                           _CMP_LE_OQ), t, one);
            break;
          }
        case QS_ROUNDING_NEAREST_EVEN:
        case QS_ROUNDING_STOCHASTIC:
        default:
          /* the reference's trunc-and-compare is round half to even */
          t = _mm512_roundscale_ps (v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
          break;
        }
      t = _mm512_min_ps (_mm512_max_ps (t, vlo), vhi);
      code = _mm512_mask_add_epi32 (vzp, finite, _mm512_cvttps_epi32 (t), vzp);
      _mm_mask_storeu_epi8 (out + i, m, _mm512_cvtepi32_epi8 (code));
    }
}

/* Peak: 16 independent vpdpbusd chains (more than latency x throughput on current cores),
 * in assembly so that no compiler spills or reorders them; the best of three ~7 ms runs
 * in the thread's CPU time. */
static double
thread_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
peak_gmacs_avx512vnni (void)
{
  const gsize iters = 200000;   /* 16 vpdpbusd each */
  double best = G_MAXDOUBLE;

  for (int run = 0; run < 3; run++)
    {
      double t0 = thread_seconds ();

      for (gsize i = 0; i < iters; i++)
        __asm__ volatile (
          "vpdpbusd %%zmm0, %%zmm1, %%zmm16\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm17\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm18\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm19\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm20\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm21\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm22\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm23\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm24\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm25\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm26\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm27\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm28\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm29\n\t"
          "vpdpbusd %%zmm0, %%zmm1, %%zmm30\n\tvpdpbusd %%zmm0, %%zmm1, %%zmm31"
          ::: "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
              "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
      best = MIN (best, thread_seconds () - t0);
    }
  return best > 0 ? (double) iters * 16 * 64 / best / 1e9 : 0.0;
}

const QsIntKernels _qs_int_kernels_avx512vnni = {
  "avx512", gemm_avx512vnni, requant_avx512, add_avx512, rescale_avx512, depthwise_avx512,
  quantize_avx512, depthwise_pack_avx512, peak_gmacs_avx512vnni,
};
