/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

/* The kernels are plain loops written for the auto-vectoriser. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("O3")
#endif

#include <math.h>
#include <string.h>

#include "qs-kernels-float.h"
#include "qs-kernels-float-private.h"
#include "qs-kernels-float-sparse.h"
#include "qs-kernels.h"
#include "qs-kernels-private.h"

/* --- the "ref" variant (portable build of the shared bodies) --- */

void
qs_gemm_f32_ref (const float *a,
                 gsize        lda,
                 gsize        rows,
                 gsize        k,
                 const float *w,
                 gsize        n,
                 const float *bias,
                 float       *c,
                 gsize        ldc)
{
  qs_gemm_f32_body (a, lda, rows, k, w, n, bias, c, ldc);
}

void
qs_depthwise_f32_ref (const QsDepthwiseParams *p,
                      const float             *input,
                      const float             *filter,
                      const float             *bias,
                      float                   *output)
{
  qs_depthwise_f32_body (p, input, filter, bias, output);
}

const QsFloatKernels _qs_float_kernels_ref = { "ref", qs_gemm_f32_ref, qs_depthwise_f32_ref };

const QsFloatKernels *
qs_float_kernels_get (void)
{
  return qs_kernels_get ()->float_kernels;
}

const QsFloatKernels *
qs_float_kernels_get_by_name (const char *name)
{
  return _qs_kernels_family_get (QS_KERNEL_FAMILY_FLOAT, name);
}

/* --- convolutions --- */

void
qs_conv_f32 (const QsFloatKernels *k,
             const QsConvParams   *p,
             const float          *input,
             const float          *filter,
             const float          *bias,
             float                *output,
             float                *patches)
{
  /* locals: the patch stores could otherwise alias the parameters */
  gsize ih = p->input_height, iw = p->input_width, c = p->input_depth;
  gsize ow = p->output_width, f = p->output_depth;
  gsize kh = p->filter_height, kw = p->filter_width;
  gsize sh = p->stride_height, sw = p->stride_width;
  gsize dh = p->dilation_height, dw = p->dilation_width;
  gsize pt = p->pad_top, pl = p->pad_left;
  gsize k_dim = kh * kw * c;
  gsize pixels = p->output_height * ow;
  QsGemmF32Func gemm = k->gemm;

  for (gsize p0 = 0; p0 < pixels; p0 += 4)
    {
      guint rows = (guint) MIN (4, pixels - p0);

      for (guint r = 0; r < rows; r++)
        {
          gsize oy = (p0 + r) / ow, ox = (p0 + r) % ow;
          float *patch = patches + r * k_dim;

          for (gsize ky = 0; ky < kh; ky++)
            {
              gssize iy = (gssize) (oy * sh + ky * dh) - (gssize) pt;

              for (gsize kx = 0; kx < kw; kx++)
                {
                  gssize ix = (gssize) (ox * sw + kx * dw) - (gssize) pl;
                  float *dst = patch + (ky * kw + kx) * c;

                  if (iy < 0 || iy >= (gssize) ih || ix < 0 || ix >= (gssize) iw)
                    memset (dst, 0, c * sizeof (float));
                  else
                    memcpy (dst, input + ((gsize) iy * iw + (gsize) ix) * c, c * sizeof (float));
                }
            }
        }
      gemm (patches, k_dim, rows, k_dim, filter, f, bias, output + p0 * f, f);
    }
}

/* dst += x * w, four lanes at a time (GCC vector extension, SSE on any x86-64). Each dst[i]
 * accumulates in the same order as the scalar loop: identical results. */
static inline void
axpy (float *restrict       dst,
      const float *restrict w,
      float                 x,
      gsize                 n)
{
  typedef float v4 __attribute__ ((vector_size (16)));
  v4 xv = { x, x, x, x };
  gsize i = 0;

  for (; i + 4 <= n; i += 4)
    {
      v4 d, wv;

      memcpy (&d, dst + i, sizeof d);
      memcpy (&wv, w + i, sizeof wv);
      d += xv * wv;
      memcpy (dst + i, &d, sizeof d);
    }
  for (; i < n; i++)
    dst[i] += x * w[i];
}

/* The portable loop: the definition of the results (see qs-kernels-float.h). */
static void
conv_f32_sparse_loop (const QsConvParams *p,
                      const float        *input,
                      const float        *filter,
                      const float        *bias,
                      float              *output)
{
  gsize ih = p->input_height, iw = p->input_width, cin = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width, oc = p->output_depth;
  gsize kh = p->filter_height, kw = p->filter_width;
  gsize sh = p->stride_height, sw = p->stride_width;
  gsize dh = p->dilation_height, dw = p->dilation_width;
  gsize pt = p->pad_top, pl = p->pad_left;

  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        float *dst = output + (oy * ow + ox) * oc;

        if (bias != NULL)
          memcpy (dst, bias, oc * sizeof (float));
        else
          memset (dst, 0, oc * sizeof (float));
        for (gsize ky = 0; ky < kh; ky++)
          {
            gssize iy = (gssize) (oy * sh + ky * dh) - (gssize) pt;

            if (iy < 0 || iy >= (gssize) ih)
              continue;
            for (gsize kx = 0; kx < kw; kx++)
              {
                gssize ix = (gssize) (ox * sw + kx * dw) - (gssize) pl;
                const float *px, *wt;

                if (ix < 0 || ix >= (gssize) iw)
                  continue;
                px = input + ((gsize) iy * iw + (gsize) ix) * cin;
                wt = filter + (ky * kw + kx) * cin * oc;
                for (gsize ic = 0; ic < cin; ic++)
                  if (px[ic] != 0.0f)
                    axpy (dst, wt + ic * oc, px[ic], oc);
              }
          }
      }
}

typedef void (*SparseFunc) (const QsConvParams *, const float *, const float *, const float *,
                            float *);

static SparseFunc
sparse_variant (void)
{
  static gsize which;   /* 1: the portable loop, 2: AVX-512 */

  if (g_once_init_enter (&which))
    {
      gsize w = 1;

#ifdef QS_HAVE_SIMD_X86
      __builtin_cpu_init ();
      /* same results either way; QS_KERNELS=ref or QS_SPARSE_CONV=loop keeps the portable
       * loop (for timings and comparisons) */
      if (__builtin_cpu_supports ("avx512f") && g_strcmp0 (g_getenv (QS_KERNELS_ENV), "ref") != 0
          && g_strcmp0 (g_getenv ("QS_SPARSE_CONV"), "loop") != 0)
        w = 2;
#endif
      g_once_init_leave (&which, w);
    }
#ifdef QS_HAVE_SIMD_X86
  if (which == 2)
    return qs_conv_f32_sparse_avx512;
#endif
  return conv_f32_sparse_loop;
}

void
qs_conv_f32_sparse (const QsConvParams *p,
                    const float        *input,
                    const float        *filter,
                    const float        *bias,
                    float              *output)
{
  sparse_variant () (p, input, filter, bias, output);
}

/* --- pooling --- */

static void
pool (gboolean            is_max,
      QsPoolMean          mean,
      const QsConvParams *p,
      const float        *input,
      float              *output)
{
  gsize ih = p->input_height, iw = p->input_width, c = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width;

  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        float *y = output + (oy * ow + ox) * c;
        guint count = 0;

        for (gsize ch = 0; ch < c; ch++)
          y[ch] = is_max ? -INFINITY : 0.0f;
        for (gsize ky = 0; ky < p->filter_height; ky++)
          {
            gssize iy = (gssize) (oy * p->stride_height + ky) - (gssize) p->pad_top;

            if (iy < 0 || iy >= (gssize) ih)
              continue;
            for (gsize kx = 0; kx < p->filter_width; kx++)
              {
                gssize ix = (gssize) (ox * p->stride_width + kx) - (gssize) p->pad_left;
                const float *x;

                if (ix < 0 || ix >= (gssize) iw)
                  continue;
                x = input + ((gsize) iy * iw + (gsize) ix) * c;
                count++;
                if (is_max)
                  for (gsize ch = 0; ch < c; ch++)
                    y[ch] = MAX (y[ch], x[ch]);
                else
                  for (gsize ch = 0; ch < c; ch++)
                    y[ch] += x[ch];
              }
          }
        if (is_max || count == 0)
          continue;
        if (mean == QS_POOL_MEAN_DIVIDE)
          for (gsize ch = 0; ch < c; ch++)
            y[ch] /= (float) count;
        else if (mean == QS_POOL_MEAN_RECIPROCAL)
          {
            float inv = 1.0f / (float) count;

            for (gsize ch = 0; ch < c; ch++)
              y[ch] *= inv;
          }
        else
          for (gsize ch = 0; ch < c; ch++)
            {
              double acc = 0.0;

              for (gsize ky = 0; ky < p->filter_height; ky++)
                {
                  gssize iy = (gssize) (oy * p->stride_height + ky) - (gssize) p->pad_top;

                  if (iy < 0 || iy >= (gssize) ih)
                    continue;
                  for (gsize kx = 0; kx < p->filter_width; kx++)
                    {
                      gssize ix = (gssize) (ox * p->stride_width + kx) - (gssize) p->pad_left;

                      if (ix >= 0 && ix < (gssize) iw)
                        acc += input[((gsize) iy * iw + (gsize) ix) * c + ch];
                    }
                }
              y[ch] = (float) (acc / (double) count);
            }
      }
}

void
qs_max_pool_f32 (const QsConvParams *p,
                 const float        *input,
                 float              *output)
{
  pool (TRUE, QS_POOL_MEAN_DIVIDE, p, input, output);
}

void
qs_avg_pool_f32 (const QsConvParams *p,
                 QsPoolMean          mean,
                 const float        *input,
                 float              *output)
{
  pool (FALSE, mean, p, input, output);
}

/* --- activations --- */

void
qs_activation_f32 (const QsActivationParams *p,
                   float                    *x,
                   gsize                     n,
                   gsize                     depth)
{
  switch (p->activation)
    {
    case QS_ACTIVATION_LINEAR:
      break;
    case QS_ACTIVATION_RELU:
      {
        float maxv = p->relu_max_value, slope = p->relu_negative_slope, th = p->relu_threshold;

        if (slope == 0 && th == 0 && maxv < 0)
          {
            for (gsize i = 0; i < n; i++)
              x[i] = x[i] > 0 ? x[i] : 0.0f;
          }
        else if (slope == 0 && th == 0)
          {
            for (gsize i = 0; i < n; i++)
              x[i] = x[i] > 0 ? (x[i] < maxv ? x[i] : maxv) : 0.0f;
          }
        else
          for (gsize i = 0; i < n; i++)
            {
              float v = x[i];
              if (maxv >= 0 && v >= maxv)
                v = maxv;
              else if (v < th)
                v = slope * (v - th);
              x[i] = v;
            }
      }
      break;
    case QS_ACTIVATION_RELU6:
      for (gsize i = 0; i < n; i++)
        x[i] = x[i] < 0 ? 0.0f : x[i] > 6 ? 6.0f : x[i];
      break;
    case QS_ACTIVATION_SIGMOID:
      for (gsize i = 0; i < n; i++)
        x[i] = 1.0f / (1.0f + expf (-x[i]));
      break;
    case QS_ACTIVATION_TANH:
      for (gsize i = 0; i < n; i++)
        x[i] = tanhf (x[i]);
      break;
    case QS_ACTIVATION_SWISH:
      for (gsize i = 0; i < n; i++)
        x[i] = x[i] / (1.0f + expf (-x[i]));
      break;
    case QS_ACTIVATION_GELU:
      for (gsize i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff (x[i] * (float) M_SQRT1_2));
      break;
    case QS_ACTIVATION_ELU:
      for (gsize i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : p->alpha * expm1f (x[i]);
      break;
    case QS_ACTIVATION_LEAKY_RELU:
      for (gsize i = 0; i < n; i++)
        x[i] = x[i] >= 0 ? x[i] : p->alpha * x[i];
      break;
    case QS_ACTIVATION_SOFTMAX:
      g_assert (depth > 0);
      for (gsize r = 0; r < n / depth; r++)
        {
          float *row = x + r * depth;
          float maxv = -INFINITY;
          double sum = 0;

          for (gsize j = 0; j < depth; j++)
            maxv = MAX (maxv, row[j]);
          for (gsize j = 0; j < depth; j++)
            {
              row[j] = expf (row[j] - maxv);
              sum += row[j];
            }
          for (gsize j = 0; j < depth; j++)
            row[j] = (float) (row[j] / sum);
        }
      break;
    default:
      g_assert_not_reached ();
    }
}
