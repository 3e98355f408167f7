/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "qs-kernels-int.h"
#include "qs-kernels-int-private.h"
#include "qs-kernels-private.h"
#include "qs-tensor.h"
#include "qs-quant.h"

/* --- packing --- */

void
qs_packed_weights_init (QsPackedWeights *packed,
                        const gint8     *w,
                        gsize            n,
                        gsize            k)
{
  g_assert (k > 0 && k <= QS_INT_MAX_K);

  packed->n = n;
  packed->k = k;
  packed->np = (n + 15) / 16 * 16;
  packed->kp = (k + 3) / 4 * 4;
  packed->data = qs_aligned_alloc0 (packed->np * packed->kp);
  for (gsize row = 0; row < n; row++)
    for (gsize col = 0; col < k; col++)
      {
        gsize block = row / 16, lane = row % 16;
        gsize idx = ((block * (packed->kp / 4) + col / 4) * 16 + lane) * 4 + col % 4;

        packed->data[idx] = w[row * k + col];
      }
}

void
qs_packed_weights_init_kn (QsPackedWeights *packed,
                           const gint32    *codes,
                           gsize            n,
                           gsize            k,
                           gsize            run,
                           gsize            seg,
                           gint64          *sum_w)
{
  gsize stored_k;

  g_assert (run == 0 || (k % run == 0 && seg >= run));
  stored_k = run == 0 ? k : k / run * seg;
  g_assert (stored_k > 0 && stored_k <= QS_INT_MAX_K);

  packed->n = n;
  packed->k = stored_k;
  packed->np = (n + 15) / 16 * 16;
  packed->kp = (stored_k + 3) / 4 * 4;
  packed->data = qs_aligned_alloc0 (packed->np * packed->kp);
  if (sum_w != NULL)
    memset (sum_w, 0, n * sizeof (gint64));
  /* column by column: each reads a contiguous row of codes and writes 16 lanes of 4 bytes
   * apart in each block's 64-byte group (the 4 columns of a group share a cache line) */
  for (gsize kk = 0; kk < k; kk++)
    {
      gsize col = run == 0 ? kk : kk / run * seg + kk % run;
      gint8 *dst = packed->data + (col / 4) * 64 + col % 4;
      const gint32 *src = codes + kk * n;
      gsize block_stride = packed->kp * 16;

      for (gsize o = 0; o < n; o++)
        {
          gint8 v = (gint8) CLAMP (src[o], -128, 127);

          dst[(o / 16) * block_stride + (o % 16) * 4] = v;
          if (sum_w != NULL)
            sum_w[o] += v;
        }
    }
}

void
qs_packed_weights_clear (QsPackedWeights *packed)
{
  g_clear_pointer (&packed->data, qs_aligned_free);
}

gint8
qs_packed_weights_get (const QsPackedWeights *packed,
                       gsize                  row,
                       gsize                  col)
{
  gsize block = row / 16, lane = row % 16;

  return packed->data[((block * (packed->kp / 4) + col / 4) * 16 + lane) * 4 + col % 4];
}

/* --- scalar reference --- */

void
qs_requant_ref (const gint32    *acc,
                gsize            n,
                const QsRequant *rq,
                guint8          *out)
{
  for (gsize i = 0; i < n; i++)
    out[i] = qs_requant_channel (acc[i], i, rq);
}

void
qs_gemm_u8s8_ref (const guint8          *a,
                  gsize                  lda,
                  gsize                  m,
                  const gsize           *seg_off,
                  gsize                  n_seg,
                  const QsPackedWeights *w,
                  const QsRequant       *rq,
                  guint8                *c,
                  gsize                  ldc)
{
  gsize seg_len = w->kp / n_seg;

  g_assert (n_seg >= 1 && w->kp % (4 * n_seg) == 0 && (seg_off != NULL || n_seg == 1));
  for (gsize row = 0; row < m; row++)
    for (gsize n = 0; n < w->n; n++)
      {
        const gint8 *blk = w->data + (n / 16) * (w->kp / 4) * 64 + (n % 16) * 4;
        gint32 acc = rq->bias[n];

        for (gsize k = 0; k < w->k; k++)
          {
            gsize s = k / seg_len;
            const guint8 *ar = a + row * lda + (seg_off ? seg_off[s] : 0) + (k - s * seg_len);

            acc += (gint32) *ar * blk[(k / 4) * 64 + k % 4];
          }
        c[row * ldc + n] = qs_requant_channel (acc, n, rq);
      }
}

const QsIntKernels _qs_int_kernels_ref = {
  "ref", qs_gemm_u8s8_ref, qs_requant_ref, NULL, NULL, NULL, NULL,   /* the references themselves */
};

/* --- selection (the table is in qs-kernels.c) --- */

const QsIntKernels *
qs_int_kernels_get_by_name (const char *name)
{
  return _qs_kernels_family_get (QS_KERNEL_FAMILY_INT, name);
}

const QsIntKernels *
qs_int_kernels_get (void)
{
  return qs_kernels_get ()->int_kernels;
}

/* --- depthwise, pooling, element-wise (scalar, auto-vectorised loops) --- */

static void
depthwise_loop (QsRequantFunc            requant,
                const QsDepthwiseParams *p,
                const guint8            *input,
                const gint8             *filter,
                const QsRequant         *rq,
                guint8                  *output,
                gint32                  *acc)
{
  /* locals: the accumulator stores could otherwise alias the parameters */
  gsize h = p->input_height, w = p->input_width, c = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width;
  gsize kh = p->filter_height, kw = p->filter_width;
  gsize stride_h = p->stride_height, stride_w = p->stride_width;
  gsize dil_h = p->dilation_height, dil_w = p->dilation_width;
  gsize pad_top = p->pad_top, pad_left = p->pad_left;
  gsize mult = p->depth_multiplier, oc = p->output_depth;
  gint32 offset = p->input_offset;

  g_assert (oc == c * mult);
  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        memcpy (acc, rq->bias, oc * sizeof (gint32));
        for (gsize ky = 0; ky < kh; ky++)
          {
            gssize iy = (gssize) (oy * stride_h + ky * dil_h) - (gssize) pad_top;

            if (iy < 0 || iy >= (gssize) h)
              continue;
            for (gsize kx = 0; kx < kw; kx++)
              {
                gssize ix = (gssize) (ox * stride_w + kx * dil_w) - (gssize) pad_left;
                const guint8 *px;
                const gint8 *wt;

                if (ix < 0 || ix >= (gssize) w)
                  continue;
                px = input + ((gsize) iy * w + (gsize) ix) * c;
                wt = filter + (ky * kw + kx) * oc;
                if (mult == 1)
                  for (gsize ch = 0; ch < c; ch++)
                    acc[ch] += ((gint32) px[ch] + offset) * wt[ch];
                else
                  for (gsize ch = 0; ch < c; ch++)
                    for (gsize m = 0; m < mult; m++)
                      acc[ch * mult + m] += ((gint32) px[ch] + offset) * wt[ch * mult + m];
              }
          }
        requant (acc, oc, rq, output + (oy * ow + ox) * oc);
      }
}

void
qs_depthwise_u8s8_ref (const QsDepthwiseParams *p,
                       const guint8            *input,
                       const gint8             *filter,
                       const QsRequant         *rq,
                       guint8                  *output)
{
  g_autofree gint32 *acc = g_new (gint32, p->output_depth);

  depthwise_loop (qs_requant_ref, p, input, filter, rq, output, acc);
}

void
qs_depthwise_u8s8 (const QsIntKernels      *k,
                   const QsDepthwiseParams *p,
                   const guint8            *input,
                   const gint8             *filter,
                   const QsRequant         *rq,
                   guint8                  *output,
                   gint32                  *acc)
{
  if (k->depthwise != NULL)
    k->depthwise (p, input, filter, rq, output);
  else
    depthwise_loop (k->requant, p, input, filter, rq, output, acc);
}

QsDepthwisePacked *
qs_depthwise_u8s8_pack (const QsIntKernels      *k,
                        const QsDepthwiseParams *p,
                        const gint8             *filter,
                        const QsRequant         *rq)
{
  return k->depthwise_pack != NULL ? k->depthwise_pack (p, filter, rq) : NULL;
}

void
qs_depthwise_u8s8_packed (const QsDepthwisePacked *pk,
                          const QsDepthwiseParams *p,
                          const guint8            *input,
                          guint8                  *output)
{
  pk->run (pk, p, input, output);
}

void
qs_depthwise_packed_free (QsDepthwisePacked *pk)
{
  if (pk != NULL)
    pk->free (pk);
}

void
qs_pool_u8 (gboolean            is_max,
            const QsConvParams *p,
            const guint8       *in,
            guint8             *out)
{
  gsize h = p->input_height, w = p->input_width, c = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width;
  gint32 stack_acc[256];
  g_autofree gint32 *heap_acc = c > G_N_ELEMENTS (stack_acc) ? g_new (gint32, c) : NULL;
  gint32 *acc = heap_acc ? heap_acc : stack_acc;

  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        guint8 *dst = out + (oy * ow + ox) * c;
        gssize y0 = (gssize) (oy * p->stride_height) - (gssize) p->pad_top;
        gssize x0 = (gssize) (ox * p->stride_width) - (gssize) p->pad_left;
        gssize y1 = MIN (y0 + (gssize) p->filter_height, (gssize) h);
        gssize x1 = MIN (x0 + (gssize) p->filter_width, (gssize) w);
        gint32 count;
        y0 = MAX (y0, 0);
        x0 = MAX (x0, 0);
        count = (gint32) ((y1 - y0) * (x1 - x0));
        g_assert (count > 0);
        if (is_max)
          {
            memset (dst, 0, c);
            for (gssize y = y0; y < y1; y++)
              for (gssize x = x0; x < x1; x++)
                {
                  const guint8 *src = in + ((gsize) y * w + (gsize) x) * c;
                  gsize ch = 0;
#ifdef __SSE2__
                  for (; ch + 16 <= c; ch += 16)
                    _mm_storeu_si128 ((__m128i *) (dst + ch),
                                      _mm_max_epu8 (_mm_loadu_si128 ((const __m128i *) (dst + ch)),
                                                    _mm_loadu_si128 ((const __m128i *) (src + ch))));
#endif
                  for (; ch < c; ch++)
                    dst[ch] = MAX (dst[ch], src[ch]);
                }
            continue;
          }
        for (gsize ch = 0; ch < c; ch++)
          acc[ch] = 0;
        for (gssize y = y0; y < y1; y++)
          for (gssize x = x0; x < x1; x++)
            {
              const guint8 *src = in + ((gsize) y * w + (gsize) x) * c;
              for (gsize ch = 0; ch < c; ch++)
                acc[ch] += (gint32) src[ch] - 128;
            }
        for (gsize ch = 0; ch < c; ch++)
          {
            gint32 a = acc[ch];
            a = (a > 0 ? (a + count / 2) / count : (a - count / 2) / count) + 128;
            dst[ch] = (guint8) CLAMP (a, 0, 255);
          }
      }
}

void
qs_rescale_u8 (QsRequantMode mode,
               const guint8 *in, gsize n, gint32 in_zp, gint32 multiplier,
               gint32 shift, gint32 out_zp, gint32 out_min, gint32 out_max,
               guint8 *out, gsize out_stride, gsize in_stride, gsize rows)
{
  for (gsize r = 0; r < rows; r++)
    for (gsize i = 0; i < n; i++)
      {
        /* in int64: the mbqm result may be near INT32_MAX with a positive shift */
        gint64 v = (gint64) out_zp + qs_requant_mbqm (mode, (gint32) in[r * in_stride + i] - in_zp,
                                                      multiplier, shift);
        out[r * out_stride + i] = (guint8) CLAMP (v, out_min, out_max);
      }
}

void
qs_add_params_init (QsAddParams *p,
                    double scale1, gint32 zp1,
                    double scale2, gint32 zp2,
                    double out_scale, gint32 out_zp,
                    gint32 out_min, gint32 out_max)
{
  double twice_max = 2.0 * MAX (scale1, scale2);
  gint s;

  p->zp1 = zp1;
  p->zp2 = zp2;
  qs_quantize_multiplier (scale1 / twice_max, &p->m1, &s);
  p->s1 = s;
  qs_quantize_multiplier (scale2 / twice_max, &p->m2, &s);
  p->s2 = s;
  qs_quantize_multiplier (twice_max / ((double) (1 << QS_ADD_LEFT_SHIFT) * out_scale), &p->m_out, &s);
  p->s_out = s;
  p->out_zp = out_zp;
  p->out_min = out_min;
  p->out_max = out_max;
  p->mode = QS_REQUANT_GEMMLOWP;
}

void
qs_add_u8 (const guint8 *a, const guint8 *b, gsize n,
           const QsAddParams *p, guint8 *out)
{
  for (gsize i = 0; i < n; i++)
    {
      gint32 x1 = ((gint32) a[i] - p->zp1) * (1 << QS_ADD_LEFT_SHIFT);
      gint32 x2 = ((gint32) b[i] - p->zp2) * (1 << QS_ADD_LEFT_SHIFT);
      gint32 sum = qs_requant_mbqm (p->mode, x1, p->m1, p->s1)
                   + qs_requant_mbqm (p->mode, x2, p->m2, p->s2);
      gint64 v = (gint64) p->out_zp + qs_requant_mbqm (p->mode, sum, p->m_out, p->s_out);

      out[i] = (guint8) CLAMP (v, p->out_min, p->out_max);
    }
}

/* qs_quant_value () inlined: x / scale rounded by the spec's mode (ties away from zero,
 * to even, or floor, exactly as roundf / rintf / floorf), clamped, plus the zero-point.
 * The value is clamped to the code range before rounding, which keeps |v| < 2^23 so the
 * truncation below is exact and gives the same code as rounding first. */
static inline guint8
quantize_one (float      x,
              float      scale,
              gint32     zp,
              gint32     qmin,
              gint32     qmax,
              QsRounding rounding)
{
  float lo = (float) (qmin - zp), hi = (float) (qmax - zp), v, t, d;

  if (!isfinite (x))
    return (guint8) zp;
  v = x / scale;
  v = v < lo - 1.0f ? lo - 1.0f : (v > hi + 1.0f ? hi + 1.0f : v);
  t = (float) (gint32) v;          /* toward zero */
  d = v - t;                       /* exact */
  switch (rounding)
    {
    case QS_ROUNDING_FLOOR:
      if (d < 0.0f)
        t -= 1.0f;
      break;
    case QS_ROUNDING_NEAREST_AWAY:
      if (d >= 0.5f)
        t += 1.0f;
      else if (d <= -0.5f)
        t -= 1.0f;
      break;
    case QS_ROUNDING_NEAREST_EVEN:
    case QS_ROUNDING_STOCHASTIC:
    default:
      if (d > 0.5f || (d == 0.5f && ((gint32) t & 1)))
        t += 1.0f;
      else if (d < -0.5f || (d == -0.5f && ((gint32) t & 1)))
        t -= 1.0f;
      break;
    }
  t = t < lo ? lo : (t > hi ? hi : t);
  return (guint8) ((gint32) t + zp);
}

void
qs_quantize_u8_ref (const float *x,
                    gsize        n,
                    float        scale,
                    gint32       zp,
                    gint32       qmin,
                    gint32       qmax,
                    int          rounding,
                    guint8      *out)
{
  for (gsize i = 0; i < n; i++)
    out[i] = quantize_one (x[i], scale, zp, qmin, qmax, (QsRounding) rounding);
}
