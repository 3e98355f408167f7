/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The bodies of the float kernels that have SIMD variants, included by qs-kernels-float.c
 * (portable build: "ref") and qs-kernels-float-avx2.c (built with -mavx2 -mfma: "avx2").
 * Plain loops and GCC vector extensions for the auto-vectoriser; the compiler's default
 * -ffp-contract=fast turns multiply-add into FMA where the target has it. */

#include <string.h>

#include "qs-kernels-float.h"

/* c[r][n] = bias[n] + sum_k a[r][k] * w[k][n] for up to four rows. Four rows by sixteen
 * columns of accumulators stay in registers; every output is summed in k order whatever
 * the blocking, so results do not depend on the batch split. */
typedef float QsV8 __attribute__ ((vector_size (32)));

/* Unaligned vector access without passing vectors by value (no ABI dependence). */
#define QS_LOAD8(v, p)  memcpy (&(v), (p), sizeof (QsV8))
#define QS_STORE8(p, v) memcpy ((p), &(v), sizeof (QsV8))

static inline void
qs_gemm_f32_rows_body (const float *a,
                       gsize        lda,
                       guint        rows,
                       gsize        k_dim,
                       const float *w,
                       gsize        n_dim,
                       const float *bias,
                       float       *c,
                       gsize        ldc)
{
  gsize n0 = 0;

  if (rows == 4)
    for (; n0 + 16 <= n_dim; n0 += 16)
      {
        QsV8 b0 = { 0 }, b1 = { 0 };
        QsV8 c00, c01, c10, c11, c20, c21, c30, c31;
        const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;

        if (bias != NULL)
          {
            QS_LOAD8 (b0, bias + n0);
            QS_LOAD8 (b1, bias + n0 + 8);
          }
        c00 = c10 = c20 = c30 = b0;
        c01 = c11 = c21 = c31 = b1;
        for (gsize k = 0; k < k_dim; k++)
          {
            QsV8 w0, w1;
            QS_LOAD8 (w0, w + k * n_dim + n0);
            QS_LOAD8 (w1, w + k * n_dim + n0 + 8);
            c00 += a0[k] * w0;
            c01 += a0[k] * w1;
            c10 += a1[k] * w0;
            c11 += a1[k] * w1;
            c20 += a2[k] * w0;
            c21 += a2[k] * w1;
            c30 += a3[k] * w0;
            c31 += a3[k] * w1;
          }
        QS_STORE8 (c + n0, c00);
        QS_STORE8 (c + n0 + 8, c01);
        QS_STORE8 (c + ldc + n0, c10);
        QS_STORE8 (c + ldc + n0 + 8, c11);
        QS_STORE8 (c + 2 * ldc + n0, c20);
        QS_STORE8 (c + 2 * ldc + n0 + 8, c21);
        QS_STORE8 (c + 3 * ldc + n0, c30);
        QS_STORE8 (c + 3 * ldc + n0 + 8, c31);
      }
  /* Remaining columns (and blocks of fewer rows), same summation order. */
  for (guint r = 0; r < rows; r++)
    {
      const float *x = a + r * lda;
      float *y = c + r * ldc;

      for (gsize n = n0; n < n_dim; n++)
        y[n] = bias != NULL ? bias[n] : 0.0f;
      for (gsize k = 0; k < k_dim; k++)
        {
          const float xv = x[k];
          const float *wk = w + k * n_dim;
          for (gsize n = n0; n < n_dim; n++)
            y[n] += xv * wk[n];
        }
    }
}

static inline void
qs_gemm_f32_body (const float *a,
                  gsize        lda,
                  gsize        rows,
                  gsize        k_dim,
                  const float *w,
                  gsize        n_dim,
                  const float *bias,
                  float       *c,
                  gsize        ldc)
{
  for (gsize r = 0; r < rows; r += 4)
    qs_gemm_f32_rows_body (a + r * lda, lda, (guint) MIN (4, rows - r), k_dim, w, n_dim, bias,
                           c + r * ldc, ldc);
}

static inline void
qs_depthwise_f32_body (const QsDepthwiseParams *p,
                       const float             *in,
                       const float             *filter,
                       const float             *bias,
                       float                   *out)
{
  gsize ih = p->input_height, iw = p->input_width, c = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width, oc = p->output_depth;
  gsize kh = p->filter_height, kw = p->filter_width, m = p->depth_multiplier;
  gsize sh = p->stride_height, sw = p->stride_width;
  gsize dh = p->dilation_height, dw = p->dilation_width;
  gsize pt = p->pad_top, pl = p->pad_left;

  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        float *y = out + (oy * ow + ox) * oc;

        if (bias != NULL)
          memcpy (y, bias, oc * sizeof (float));
        else
          memset (y, 0, oc * sizeof (float));
        for (gsize ky = 0; ky < kh; ky++)
          {
            gssize iy = (gssize) (oy * sh + ky * dh) - (gssize) pt;

            if (iy < 0 || iy >= (gssize) ih)
              continue;
            for (gsize kx = 0; kx < kw; kx++)
              {
                gssize ix = (gssize) (ox * sw + kx * dw) - (gssize) pl;
                const float *x, *wt;

                if (ix < 0 || ix >= (gssize) iw)
                  continue;
                x = in + ((gsize) iy * iw + (gsize) ix) * c;
                wt = filter + (ky * kw + kx) * oc;
                if (m == 1)
                  for (gsize ch = 0; ch < c; ch++)
                    y[ch] += x[ch] * wt[ch];
                else
                  for (gsize ch = 0; ch < c; ch++)
                    for (gsize j = 0; j < m; j++)
                      y[ch * m + j] += x[ch] * wt[ch * m + j];
              }
          }
      }
}
