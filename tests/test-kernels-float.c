/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"
#include "qs-kernels.h"
#include "qs-kernels-float-sparse.h"

/* Each float kernel against a naive loop written here, on seeded random data with a
 * fraction of exact zeros (the sparse convolution skips them) and every padding case.
 * Where qs-kernels-float.h fixes the summation order the check is bit-exact: the "ref"
 * variants against a multiply-then-add loop in that order, the FMA variants against the
 * same loop with fmaf (). The naive double-precision value bounds both: |got - exact| <=
 * 1e-5 * sum |terms| (float rounding of at most a few thousand terms). */

static float *
random_floats (GRand *rand,
               gsize  n,
               double zero_fraction)
{
  float *x = g_new (float, n + 16);

  for (gsize i = 0; i < n + 16; i++)
    x[i] = g_rand_double (rand) < zero_fraction ? 0.0f : (float) g_rand_double_range (rand, -2, 2);
  return x;
}

typedef enum { ORDER_MUL_ADD, ORDER_FMA } Order;

static float
madd (Order order, float acc, float a, float b)
{
  return order == ORDER_FMA ? fmaf (a, b, acc) : acc + a * b;
}

static Order
variant_order (const QsFloatKernels *k)
{
  return g_str_equal (k->name, "ref") ? ORDER_MUL_ADD : ORDER_FMA;
}

static void
assert_close (float got, double exact, double magnitude)
{
  if (!(fabs (got - exact) <= 1e-5 * magnitude + 1e-30))
    g_error ("%.9g vs exact %.9g (magnitude %.3g)", got, exact, magnitude);
}

/* Windows covered by each shape: strides, dilations, SAME-like padding on both sides. */
static const struct { gsize h, w, c, oc_or_mult, kh, kw, sh, sw, dh, dw, pt, pl; } shapes[] = {
  { 7, 9, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1 }, { 8, 8, 16, 17, 3, 3, 2, 2, 1, 1, 0, 0 },
  { 9, 6, 3, 2, 3, 2, 1, 2, 2, 1, 2, 1 }, { 5, 5, 33, 1, 5, 5, 1, 1, 1, 1, 2, 2 },
  { 1, 1, 37, 20, 1, 1, 1, 1, 1, 1, 0, 0 }, { 10, 10, 4, 3, 3, 3, 2, 1, 1, 2, 1, 2 },
};

static void
shape_params (guint         i,
              gboolean      depthwise,
              QsConvParams *p)
{
  memset (p, 0, sizeof *p);
  p->input_height = shapes[i].h; p->input_width = shapes[i].w; p->input_depth = shapes[i].c;
  p->filter_height = shapes[i].kh; p->filter_width = shapes[i].kw;
  p->stride_height = shapes[i].sh; p->stride_width = shapes[i].sw;
  p->dilation_height = shapes[i].dh; p->dilation_width = shapes[i].dw;
  p->pad_top = shapes[i].pt; p->pad_left = shapes[i].pl;
  p->output_height = (p->input_height + 2 * p->pad_top - (p->filter_height - 1) * p->dilation_height - 1)
                     / p->stride_height + 1;
  p->output_width = (p->input_width + 2 * p->pad_left - (p->filter_width - 1) * p->dilation_width - 1)
                    / p->stride_width + 1;
  p->depth_multiplier = depthwise ? shapes[i].oc_or_mult : 1;
  p->output_depth = depthwise ? p->input_depth * p->depth_multiplier : shapes[i].oc_or_mult;
}

static gboolean
tap (const QsConvParams *p, gsize oy, gsize ox, gsize ky, gsize kx, gsize *iy, gsize *ix)
{
  gint64 y = (gint64) (oy * p->stride_height + ky * p->dilation_height) - (gint64) p->pad_top;
  gint64 x = (gint64) (ox * p->stride_width + kx * p->dilation_width) - (gint64) p->pad_left;

  *iy = (gsize) y;
  *ix = (gsize) x;
  return y >= 0 && y < (gint64) p->input_height && x >= 0 && x < (gint64) p->input_width;
}

/* Naive convolution / depthwise: the documented order in float, and the exact value. */
static void
naive_conv (const QsConvParams *p, gboolean depthwise, Order order, const float *in,
            const float *w, const float *bias, gsize oy, gsize ox, gsize o,
            float *got_order, double *exact, double *magnitude)
{
  float acc = bias[o];
  double e = bias[o], mag = fabs (bias[o]);

  for (gsize ky = 0; ky < p->filter_height; ky++)
    for (gsize kx = 0; kx < p->filter_width; kx++)
      {
        gsize iy, ix;

        if (!tap (p, oy, ox, ky, kx, &iy, &ix))
          continue;
        if (depthwise)
          {
            float x = in[(iy * p->input_width + ix) * p->input_depth + o / p->depth_multiplier];
            float wv = w[(ky * p->filter_width + kx) * p->output_depth + o];

            acc = madd (order, acc, x, wv);
            e += (double) x * wv;
            mag += fabs ((double) x * wv);
          }
        else
          for (gsize c = 0; c < p->input_depth; c++)
            {
              float x = in[(iy * p->input_width + ix) * p->input_depth + c];
              float wv = w[((ky * p->filter_width + kx) * p->input_depth + c) * p->output_depth + o];

              acc = madd (order, acc, x, wv);
              e += (double) x * wv;
              mag += fabs ((double) x * wv);
            }
      }
  *got_order = acc;
  *exact = e;
  *magnitude = mag;
}

static void
check_conv (gboolean depthwise, const QsFloatKernels *k, gboolean sparse, Order order)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (depthwise ? 31 : 32);

  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      QsConvParams p;
      gsize n_in, n_w, n_out;
      g_autofree float *in = NULL, *w = NULL, *bias = NULL, *out = NULL, *patches = NULL;

      shape_params (si, depthwise, &p);
      n_in = p.input_height * p.input_width * p.input_depth;
      n_w = p.filter_height * p.filter_width * (depthwise ? 1 : p.input_depth) * p.output_depth;
      n_out = p.output_height * p.output_width * p.output_depth;
      in = random_floats (rand, n_in, 0.3);
      w = random_floats (rand, n_w, 0.0);
      bias = random_floats (rand, p.output_depth, 0.0);
      out = g_new (float, n_out);
      patches = g_new (float, 4 * p.filter_height * p.filter_width * p.input_depth);
      if (depthwise)
        k->depthwise (&p, in, w, bias, out);
      else if (sparse)
        qs_conv_f32_sparse (&p, in, w, bias, out);
      else
        qs_conv_f32 (k, &p, in, w, bias, out, patches);
      for (gsize oy = 0; oy < p.output_height; oy++)
        for (gsize ox = 0; ox < p.output_width; ox++)
          for (gsize o = 0; o < p.output_depth; o++)
            {
              float want, got = out[(oy * p.output_width + ox) * p.output_depth + o];
              double exact, mag;

              naive_conv (&p, depthwise, order, in, w, bias, oy, ox, o, &want, &exact, &mag);
              assert_close (got, exact, mag);
              /* zero-skipping and zero taps only change the sign of an exact zero */
              g_assert_true (got == want);
            }
    }
}

static void
test_conv (void)
{
  const char *const *names = qs_kernels_level_names ();

  /* the sparse convolution multiplies then adds on every CPU */
  check_conv (FALSE, NULL, TRUE, ORDER_MUL_ADD);
  for (guint i = 0; names[i] != NULL; i++)
    {
      const QsFloatKernels *k = qs_float_kernels_get_by_name (names[i]);

      if (k == NULL)
        continue;
      check_conv (FALSE, k, FALSE, variant_order (k));
      check_conv (TRUE, k, FALSE, variant_order (k));
    }
}

static void
test_gemm (void)
{
  const char *const *names = qs_kernels_level_names ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (33);
  gsize rows_[] = { 1, 3, 4, 5, 9 }, ks[] = { 1, 7, 64, 300 }, ns[] = { 1, 15, 16, 33 };

  for (guint i = 0; names[i] != NULL; i++)
    {
      const QsFloatKernels *k = qs_float_kernels_get_by_name (names[i]);

      if (k == NULL)
        continue;
      for (guint ri = 0; ri < G_N_ELEMENTS (rows_); ri++)
        for (guint ki = 0; ki < G_N_ELEMENTS (ks); ki++)
          for (guint ni = 0; ni < G_N_ELEMENTS (ns); ni++)
            {
              gsize rows = rows_[ri], kd = ks[ki], n = ns[ni], lda = kd + 3, ldc = n + 2;
              g_autofree float *a = random_floats (rand, rows * lda, 0.2);
              g_autofree float *w = random_floats (rand, kd * n, 0.0);
              g_autofree float *bias = random_floats (rand, n, 0.0);
              g_autofree float *c = g_new0 (float, rows * ldc);

              k->gemm (a, lda, rows, kd, w, n, (ri & 1) ? NULL : bias, c, ldc);
              for (gsize r = 0; r < rows; r++)
                for (gsize o = 0; o < n; o++)
                  {
                    float b = (ri & 1) ? 0.0f : bias[o], acc = b;
                    double e = b, mag = fabs (b);

                    for (gsize j = 0; j < kd; j++)
                      {
                        acc = madd (variant_order (k), acc, a[r * lda + j], w[j * n + o]);
                        e += (double) a[r * lda + j] * w[j * n + o];
                        mag += fabs ((double) a[r * lda + j] * w[j * n + o]);
                      }
                    assert_close (c[r * ldc + o], e, mag);
                    g_assert_true (c[r * ldc + o] == acc);
                  }
            }
    }
}

/* Max pooling is exact; average pooling is the sum in row-major order over the valid taps
 * (padding does not count) turned into the mean exactly as each QsPoolMean says. */
static void
test_pool (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (34);

  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    for (guint global = 0; global < 2; global++)
      {
        QsConvParams p;
        gsize n_in, n_out;
        g_autofree float *in = NULL, *mx = NULL, *avg = NULL, *rcp = NULL, *dbl = NULL;

        shape_params (si, FALSE, &p);
        p.dilation_height = p.dilation_width = 1;
        if (global)
          {
            p.filter_height = p.input_height; p.filter_width = p.input_width;
            p.pad_top = p.pad_left = 0;
          }
        p.pad_top = MIN (p.pad_top, p.filter_height - 1);
        p.pad_left = MIN (p.pad_left, p.filter_width - 1);
        p.output_height = (p.input_height + 2 * p.pad_top - p.filter_height) / p.stride_height + 1;
        p.output_width = (p.input_width + 2 * p.pad_left - p.filter_width) / p.stride_width + 1;
        p.output_depth = p.input_depth;
        n_in = p.input_height * p.input_width * p.input_depth;
        n_out = p.output_height * p.output_width * p.output_depth;
        in = random_floats (rand, n_in, 0.1);
        mx = g_new (float, n_out);
        avg = g_new (float, n_out);
        rcp = g_new (float, n_out);
        dbl = g_new (float, n_out);
        qs_max_pool_f32 (&p, in, mx);
        qs_avg_pool_f32 (&p, QS_POOL_MEAN_DIVIDE, in, avg);
        qs_avg_pool_f32 (&p, QS_POOL_MEAN_RECIPROCAL, in, rcp);
        qs_avg_pool_f32 (&p, QS_POOL_MEAN_DOUBLE, in, dbl);
        for (gsize oy = 0; oy < p.output_height; oy++)
          for (gsize ox = 0; ox < p.output_width; ox++)
            for (gsize c = 0; c < p.output_depth; c++)
              {
                float m = -INFINITY, s = 0.0f;
                double e = 0;
                guint count = 0;

                for (gsize ky = 0; ky < p.filter_height; ky++)
                  for (gsize kx = 0; kx < p.filter_width; kx++)
                    {
                      gsize iy, ix;
                      float x;

                      if (!tap (&p, oy, ox, ky, kx, &iy, &ix))
                        continue;
                      x = in[(iy * p.input_width + ix) * p.input_depth + c];
                      m = x > m ? x : m;
                      s += x;
                      e += x;
                      count++;
                    }
                g_assert_cmpuint (count, >, 0);
                g_assert_cmpfloat (mx[(oy * p.output_width + ox) * p.output_depth + c], ==, m);
                gsize o = (oy * p.output_width + ox) * p.output_depth + c;

                g_assert_cmpfloat (avg[o], ==, s / (float) count);
                g_assert_cmpfloat (rcp[o], ==, s * (1.0f / (float) count));
                g_assert_cmpfloat (dbl[o], ==, (float) (e / count));
                assert_close (avg[o], e / count, 4.0);
                assert_close (rcp[o], e / count, 4.0);
              }
      }
}

/* Activations against their double-precision definitions: within 4 float ulps of the
 * value (2.4e-7 relative) plus 1e-7 absolute. Softmax rows sum to 1 within 1e-6. */
static void
test_activations (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (35);
  const struct { QsActivation act; float max, slope, thr, alpha; } cases[] = {
    { QS_ACTIVATION_LINEAR, -1, 0, 0, 0 }, { QS_ACTIVATION_RELU, -1, 0, 0, 0 },
    { QS_ACTIVATION_RELU, 6, 0, 0, 0 }, { QS_ACTIVATION_RELU, 3, 0.1f, 0.5f, 0 },
    { QS_ACTIVATION_RELU6, -1, 0, 0, 0 }, { QS_ACTIVATION_SIGMOID, -1, 0, 0, 0 },
    { QS_ACTIVATION_TANH, -1, 0, 0, 0 }, { QS_ACTIVATION_SWISH, -1, 0, 0, 0 },
    { QS_ACTIVATION_GELU, -1, 0, 0, 0 }, { QS_ACTIVATION_ELU, -1, 0, 0, 1.5f },
    { QS_ACTIVATION_LEAKY_RELU, -1, 0, 0, 0.3f }, { QS_ACTIVATION_SOFTMAX, -1, 0, 0, 0 },
  };
  gsize n = 1000, depth = 10;

  for (guint ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    {
      QsActivationParams p = { cases[ci].act, cases[ci].max, cases[ci].slope, cases[ci].thr,
                               cases[ci].alpha };
      g_autofree float *x = g_new (float, n), *y = g_new (float, n);

      for (gsize i = 0; i < n; i++)
        x[i] = (float) g_rand_double_range (rand, -8, 8);
      memcpy (y, x, n * sizeof (float));
      qs_activation_f32 (&p, y, n, depth);
      for (gsize i = 0; i < n; i++)
        {
          double v = x[i], want;

          switch (p.activation)
            {
            case QS_ACTIVATION_LINEAR: want = v; break;
            case QS_ACTIVATION_RELU:
              want = (p.relu_max_value >= 0 && v >= p.relu_max_value) ? p.relu_max_value
                     : v >= p.relu_threshold ? v : p.relu_negative_slope * (v - p.relu_threshold);
              break;
            case QS_ACTIVATION_RELU6: want = CLAMP (v, 0, 6); break;
            case QS_ACTIVATION_SIGMOID: want = 1 / (1 + exp (-v)); break;
            case QS_ACTIVATION_TANH: want = tanh (v); break;
            case QS_ACTIVATION_SWISH: want = v / (1 + exp (-v)); break;
            case QS_ACTIVATION_GELU: want = 0.5 * v * (1 + erf (v / sqrt (2))); break;
            case QS_ACTIVATION_ELU: want = v > 0 ? v : p.alpha * expm1 (v); break;
            case QS_ACTIVATION_LEAKY_RELU: want = v >= 0 ? v : p.alpha * v; break;
            case QS_ACTIVATION_SOFTMAX:
              {
                gsize r0 = i / depth * depth;
                double mx = -INFINITY, sum = 0;

                for (gsize j = r0; j < r0 + depth; j++)
                  mx = MAX (mx, x[j]);
                for (gsize j = r0; j < r0 + depth; j++)
                  sum += exp (x[j] - mx);
                want = exp (v - mx) / sum;
                break;
              }
            default: g_assert_not_reached ();
            }
          if (!(fabs (y[i] - want) <= 2.4e-7 * fabs (want) + 1e-7))
            g_error ("activation %d at %g: %.9g, want %.9g", p.activation, v, y[i], want);
        }
      if (p.activation == QS_ACTIVATION_SOFTMAX)
        for (gsize r = 0; r < n / depth; r++)
          {
            double s = 0;
            for (gsize j = 0; j < depth; j++)
              s += y[r * depth + j];
            g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-6);
          }
    }
}

/* --- qs_conv_f32_sparse: the SIMD variant is bit for bit the original loop --- */

/* The portable loop as it was before the SIMD variant (kept here as the definition). */
static void
old_axpy (float *dst, const float *w, float x, gsize n)
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

static void
old_conv_f32_sparse (const QsConvParams *p, const float *input, const float *filter,
                     const float *bias, float *output)
{
  gsize ih = p->input_height, iw = p->input_width, cin = p->input_depth;
  gsize oh = p->output_height, ow = p->output_width, oc = p->output_depth;

  for (gsize oy = 0; oy < oh; oy++)
    for (gsize ox = 0; ox < ow; ox++)
      {
        float *dst = output + (oy * ow + ox) * oc;

        if (bias != NULL)
          memcpy (dst, bias, oc * sizeof (float));
        else
          memset (dst, 0, oc * sizeof (float));
        for (gsize ky = 0; ky < p->filter_height; ky++)
          {
            gssize iy = (gssize) (oy * p->stride_height + ky * p->dilation_height) - (gssize) p->pad_top;

            if (iy < 0 || iy >= (gssize) ih)
              continue;
            for (gsize kx = 0; kx < p->filter_width; kx++)
              {
                gssize ix = (gssize) (ox * p->stride_width + kx * p->dilation_width) - (gssize) p->pad_left;
                const float *px, *wt;

                if (ix < 0 || ix >= (gssize) iw)
                  continue;
                px = input + ((gsize) iy * iw + (gsize) ix) * cin;
                wt = filter + (ky * p->filter_width + kx) * cin * oc;
                for (gsize ic = 0; ic < cin; ic++)
                  if (px[ic] != 0.0f)
                    old_axpy (dst, wt + ic * oc, px[ic], oc);
              }
          }
      }
}

typedef void (*SparseConv) (const QsConvParams *, const float *, const float *, const float *,
                            float *);

/* special: 0 plain, 1 NaN inputs, 2 infinite weights (one NaN pattern per case: the
 * payload of a NaN from two NaN operands depends on the operand order, which the reference
 * does not fix). Bitwise: -0 / +0 included. */
static void
check_sparse_identical (SparseConv conv,
                        guint      special)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (40 + special);
  guint done = 0;

  while (done < 150)
    {
      QsConvParams p = { 0 };
      gsize n_in, n_w, n_out;
      g_autofree float *in = NULL, *w = NULL, *bias = NULL, *want = NULL, *got = NULL;
      gboolean no_bias = g_rand_int_range (rand, 0, 4) == 0;

      p.input_height = g_rand_int_range (rand, 1, 13);
      p.input_width = g_rand_int_range (rand, 1, 13);
      p.input_depth = g_rand_int_range (rand, 1, done % 5 == 0 ? 70 : 20);
      p.output_depth = g_rand_int_range (rand, 1, done % 3 == 0 ? 150 : 40);
      p.filter_height = g_rand_int_range (rand, 1, 6);
      p.filter_width = g_rand_int_range (rand, 1, 6);
      p.stride_height = g_rand_int_range (rand, 1, 4);
      p.stride_width = g_rand_int_range (rand, 1, 4);
      p.dilation_height = g_rand_int_range (rand, 1, 3);
      p.dilation_width = g_rand_int_range (rand, 1, 3);
      p.pad_top = g_rand_int_range (rand, 0, p.filter_height);
      p.pad_left = g_rand_int_range (rand, 0, p.filter_width);
      p.depth_multiplier = 1;
      if (p.input_height + 2 * p.pad_top < (p.filter_height - 1) * p.dilation_height + 1
          || p.input_width + 2 * p.pad_left < (p.filter_width - 1) * p.dilation_width + 1)
        continue;
      p.output_height = (p.input_height + 2 * p.pad_top - (p.filter_height - 1) * p.dilation_height - 1)
                        / p.stride_height + 1;
      p.output_width = (p.input_width + 2 * p.pad_left - (p.filter_width - 1) * p.dilation_width - 1)
                       / p.stride_width + 1;
      n_in = p.input_height * p.input_width * p.input_depth;
      n_w = p.filter_height * p.filter_width * p.input_depth * p.output_depth;
      n_out = p.output_height * p.output_width * p.output_depth;
      in = random_floats (rand, n_in, 0.4);
      w = random_floats (rand, n_w, 0.1);
      bias = random_floats (rand, p.output_depth, 0.3);
      for (gsize i = 0; i < n_in; i++)
        if (in[i] == 0.0f && g_rand_boolean (rand))
          in[i] = -0.0f;
        else if (special == 1 && g_rand_int_range (rand, 0, 50) == 0)
          in[i] = NAN;
      for (gsize i = 0; i < n_w; i++)
        if (w[i] == 0.0f && g_rand_boolean (rand))
          w[i] = -0.0f;
        else if (special == 2 && g_rand_int_range (rand, 0, 50) == 0)
          w[i] = g_rand_boolean (rand) ? INFINITY : -INFINITY;
      for (gsize i = 0; i < p.output_depth; i++)
        if (bias[i] == 0.0f && g_rand_boolean (rand))
          bias[i] = -0.0f;
      want = g_new (float, n_out);
      got = g_new (float, n_out);
      memset (want, 0x55, n_out * sizeof (float));
      memset (got, 0xaa, n_out * sizeof (float));
      old_conv_f32_sparse (&p, in, w, no_bias ? NULL : bias, want);
      conv (&p, in, w, no_bias ? NULL : bias, got);
      if (memcmp (want, got, n_out * sizeof (float)) != 0)
        for (gsize i = 0; i < n_out; i++)
          if (memcmp (&want[i], &got[i], sizeof (float)) != 0)
            g_error ("case %u (%zux%zux%zu -> %zu, %zux%zu): output %zu: %a vs %a", done,
                     p.input_height, p.input_width, p.input_depth, p.output_depth,
                     p.filter_height, p.filter_width, i, want[i], got[i]);
      done++;
    }
}

static void
test_sparse_identical (void)
{
  for (guint special = 0; special < 3; special++)
    {
      check_sparse_identical (qs_conv_f32_sparse, special);
#ifdef QS_HAVE_SIMD_X86
      /* the AVX-512 variant itself, whatever QS_KERNELS chose */
      __builtin_cpu_init ();
      if (__builtin_cpu_supports ("avx512f"))
        check_sparse_identical (qs_conv_f32_sparse_avx512, special);
      else if (special == 0)
        g_test_message ("no AVX-512F: only the portable qs_conv_f32_sparse checked");
#endif
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/kernels-float/gemm-order-every-variant", test_gemm);
  g_test_add_func ("/qs/kernels-float/conv-depthwise-order-every-variant", test_conv);
  g_test_add_func ("/qs/kernels-float/pool-exact", test_pool);
  g_test_add_func ("/qs/kernels-float/sparse-conv-simd-bitwise", test_sparse_identical);
  g_test_add_func ("/qs/kernels-float/activations-vs-double", test_activations);
  return g_test_run ();
}
