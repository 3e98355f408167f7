/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* qs_conv_f32_sparse () on AVX-512F, bit for bit the portable loop (qs-kernels-float.c).
 * Built into its own static library with -mavx512f -ffp-contract=off and only called after
 * __builtin_cpu_supports ("avx512f") said yes.
 *
 * The reference computes every output as: bias (or +0), then for each tap (ky, kx) inside
 * the input and each input channel in increasing order, when the input is not 0 (NaN is
 * "not 0"): out += x * w, a float multiply rounded, then a float add rounded. This kernel
 * runs the same sequence for every output; it only changes which outputs are computed
 * together: a tile of six output pixels by up to 64 output channels stays in registers
 * (the reference loads and stores its outputs for every input channel). A skipped input (0,
 * or a tap outside the input) leaves the accumulator untouched through a masked add, never
 * adds 0 * w (which would turn -0 into +0, or inf * 0 into NaN). Multiply and add stay two
 * instructions: -ffp-contract=off forbids FMA, which would round once instead of twice. */

#include <immintrin.h>

#include "qs-kernels-float.h"
#include "qs-kernels-float-sparse.h"

#define TILE_PIXELS 6
#define MAX_VECS    4    /* 64 output channels: 24 accumulators + 4 weight vectors */

typedef struct
{
  gsize ih, iw, cin, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl;
} Geometry;

static inline __attribute__ ((always_inline)) void
tile (const Geometry *g,
      const float    *input,
      const float    *filter,
      const float    *bias,
      float          *output,
      gsize           p0,
      gsize           o0,
      const guint     nv,
      __mmask16       tail)
{
  __m512 acc[TILE_PIXELS][MAX_VECS];
  const __m512 zero = _mm512_setzero_ps ();
  gsize pixels = g->oh * g->ow;
  guint np = (guint) MIN ((gsize) TILE_PIXELS, pixels - p0);
  gsize oy[TILE_PIXELS], ox[TILE_PIXELS];

#pragma GCC unroll 8
  for (guint p = 0; p < TILE_PIXELS; p++)
    {
      gsize px = p0 + MIN (p, np - 1);

      oy[p] = px / g->ow;
      ox[p] = px % g->ow;
#pragma GCC unroll 4
      for (guint v = 0; v < nv; v++)
        acc[p][v] = bias != NULL ? _mm512_maskz_loadu_ps (v + 1 == nv ? tail : 0xffff,
                                                          bias + o0 + 16 * v)
                                 : zero;
    }
  for (gsize ky = 0; ky < g->kh; ky++)
    for (gsize kx = 0; kx < g->kw; kx++)
      {
        const float *src[TILE_PIXELS];
        __mmask16 valid[TILE_PIXELS];
        const float *wt = filter + (ky * g->kw + kx) * g->cin * g->oc + o0;
        guint any = 0;

#pragma GCC unroll 8
        for (guint p = 0; p < TILE_PIXELS; p++)
          {
            gssize iy = (gssize) (oy[p] * g->sh + ky * g->dh) - (gssize) g->pt;
            gssize ix = (gssize) (ox[p] * g->sw + kx * g->dw) - (gssize) g->pl;
            gboolean in = p < np && iy >= 0 && iy < (gssize) g->ih && ix >= 0
                          && ix < (gssize) g->iw;

            /* outside: read (and ignore) the first pixel, so every load stays in bounds */
            src[p] = in ? input + ((gsize) iy * g->iw + (gsize) ix) * g->cin : input;
            valid[p] = in ? 0xffff : 0;
            any |= in;
          }
        if (!any)
          continue;
        for (gsize ic = 0; ic < g->cin; ic++)
          {
            __m512 w[MAX_VECS];
            const float *wr = wt + ic * g->oc;

#pragma GCC unroll 4
            for (guint v = 0; v < nv; v++)
              w[v] = v + 1 == nv ? _mm512_maskz_loadu_ps (tail, wr + 16 * v)
                                 : _mm512_loadu_ps (wr + 16 * v);
#pragma GCC unroll 8
            for (guint p = 0; p < TILE_PIXELS; p++)
              {
                __m512 x = _mm512_set1_ps (src[p][ic]);
                /* x != 0 as C has it: true for NaN (unordered) */
                __mmask16 k = _mm512_mask_cmp_ps_mask (valid[p], x, zero, _CMP_NEQ_UQ);

#pragma GCC unroll 4
                for (guint v = 0; v < nv; v++)
                  acc[p][v] = _mm512_mask_add_ps (acc[p][v], k, acc[p][v], _mm512_mul_ps (x, w[v]));
              }
          }
      }
#pragma GCC unroll 8
  for (guint p = 0; p < TILE_PIXELS; p++)
    if (p < np)
#pragma GCC unroll 4
      for (guint v = 0; v < nv; v++)
        _mm512_mask_storeu_ps (output + (p0 + p) * g->oc + o0 + 16 * v,
                               v + 1 == nv ? tail : 0xffff, acc[p][v]);
}

void
qs_conv_f32_sparse_avx512 (const QsConvParams *p,
                           const float        *input,
                           const float        *filter,
                           const float        *bias,
                           float              *output)
{
  Geometry g = {
    p->input_height, p->input_width, p->input_depth,
    p->output_height, p->output_width, p->output_depth,
    p->filter_height, p->filter_width, p->stride_height, p->stride_width,
    p->dilation_height, p->dilation_width, p->pad_top, p->pad_left,
  };
  gsize pixels = g.oh * g.ow;

  /* output channels outer: the filter's 64-column slice stays in cache over the pixels */
  for (gsize o0 = 0; o0 < g.oc; o0 += 16 * MAX_VECS)
    {
      gsize left = g.oc - o0;
      guint nv = (guint) MIN ((gsize) MAX_VECS, (left + 15) / 16);
      guint rem = (guint) (left - 16 * (nv - 1));   /* 1 .. 16 in the last vector */
      __mmask16 tail = rem >= 16 ? 0xffff : (__mmask16) ((1u << rem) - 1);

      for (gsize p0 = 0; p0 < pixels; p0 += TILE_PIXELS)
        switch (nv)
          {
          case 4:
            tile (&g, input, filter, bias, output, p0, o0, 4, tail);
            break;
          case 3:
            tile (&g, input, filter, bias, output, p0, o0, 3, tail);
            break;
          case 2:
            tile (&g, input, filter, bias, output, p0, o0, 2, tail);
            break;
          default:
            tile (&g, input, filter, bias, output, p0, o0, 1, tail);
            break;
          }
    }
}
