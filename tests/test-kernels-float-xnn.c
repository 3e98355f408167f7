/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"
#include "qs-kernels.h"
#include "qs-kernels-float-xnn.h"

/* The float engine's library kernels (XNNPACK) against our reference kernels ("ref":
 * multiply then add, in the order qs-kernels-float.h states) on seeded random shapes:
 * convolutions with every stride, dilation and padding case, depthwise with depth
 * multipliers, Dense, and the fused output clamps.
 *
 * Tolerance: both sides are float32 sums of the same K products in different orders (the
 * library blocks the sum and fuses multiply-add). Each is within K * 2^-24 * S of the exact
 * value in the worst case (S = sum of |terms|, bias included) and near sqrt (K) * 2^-24 * S
 * in practice; K is at most 600 here, so |library - reference| <= 1e-5 * S (about 170
 * units of 2^-24 S) holds with a wide margin for rounding, and any real error (a wrong tap,
 * a lost padding row, a transposed weight) is of the order of S itself.
 *
 * Also: results do not depend on the batch (each image of a batch of three equals that
 * image run alone, bit for bit: the engine's micro-batch and thread split rely on it),
 * and shapes the library refuses give NULL (the engine falls back to its own kernels). */

static float *
random_floats (GRand *rand,
               gsize  n)
{
  float *x = g_new (float, n + 1);

  for (gsize i = 0; i < n + 1; i++)
    x[i] = g_rand_double (rand) < 0.1 ? 0.0f : (float) g_rand_double_range (rand, -2, 2);
  return x;
}

static gboolean
have_library (void)
{
  if (_qs_xnn_classes () != 0)
    return TRUE;
  g_test_skip ("the float engine uses no library here (built without XNNPACK, "
               "QS_FLOAT_LIBRARY=own or QS_KERNELS forced)");
  return FALSE;
}

/* TensorFlow SAME or VALID geometry for a random window. */
static void
random_params (GRand        *rand,
               gboolean      depthwise,
               QsConvParams *p)
{
  gboolean same = g_rand_boolean (rand);

  *p = (QsConvParams) { 0 };
  p->input_height = g_rand_int_range (rand, 3, 14);
  p->input_width = g_rand_int_range (rand, 3, 14);
  p->input_depth = g_rand_int_range (rand, 1, depthwise ? 40 : 24);
  p->filter_height = g_rand_int_range (rand, 1, 4);
  p->filter_width = g_rand_int_range (rand, 1, 4);
  p->stride_height = g_rand_int_range (rand, 1, 3);
  p->stride_width = g_rand_int_range (rand, 1, 3);
  /* dilation with stride 1 only, as Keras allows */
  p->dilation_height = p->stride_height == 1 ? g_rand_int_range (rand, 1, 3) : 1;
  p->dilation_width = p->stride_width == 1 ? g_rand_int_range (rand, 1, 3) : 1;
  p->depth_multiplier = depthwise ? g_rand_int_range (rand, 1, 4) : 1;
  p->output_depth = depthwise ? p->input_depth * p->depth_multiplier : g_rand_int_range (rand, 1, 40);
  for (guint axis = 0; axis < 2; axis++)
    {
      gsize in = axis == 0 ? p->input_height : p->input_width;
      gsize k = axis == 0 ? p->filter_height : p->filter_width;
      gsize s = axis == 0 ? p->stride_height : p->stride_width;
      gsize d = axis == 0 ? p->dilation_height : p->dilation_width;
      gsize eff = (k - 1) * d + 1, out, pad = 0;

      if (same)
        {
          gssize total;

          out = (in + s - 1) / s;
          total = (gssize) ((out - 1) * s + eff) - (gssize) in;
          pad = total > 0 ? (gsize) total / 2 : 0;
        }
      else
        {
          if (in < eff)
            in = eff;
          out = (in - eff) / s + 1;
        }
      if (axis == 0)
        p->input_height = in, p->output_height = out, p->pad_top = pad;
      else
        p->input_width = in, p->output_width = out, p->pad_left = pad;
    }
}

/* sum |terms| of one output of a convolution (bias included) */
static double
conv_magnitude (const QsConvParams *p,
                gboolean            depthwise,
                const float        *in,
                const float        *w,
                const float        *bias,
                gsize               oy,
                gsize               ox,
                gsize               o)
{
  double m = fabs (bias[o]);
  gsize c_lo = depthwise ? o / p->depth_multiplier : 0;
  gsize c_hi = depthwise ? c_lo + 1 : p->input_depth;

  for (gsize ky = 0; ky < p->filter_height; ky++)
    for (gsize kx = 0; kx < p->filter_width; kx++)
      {
        gssize iy = (gssize) (oy * p->stride_height + ky * p->dilation_height) - (gssize) p->pad_top;
        gssize ix = (gssize) (ox * p->stride_width + kx * p->dilation_width) - (gssize) p->pad_left;

        if (iy < 0 || ix < 0 || iy >= (gssize) p->input_height || ix >= (gssize) p->input_width)
          continue;
        for (gsize c = c_lo; c < c_hi; c++)
          {
            float x = in[((gsize) iy * p->input_width + (gsize) ix) * p->input_depth + c];
            float wt = depthwise ? w[(ky * p->filter_width + kx) * p->output_depth + o]
                                 : w[((ky * p->filter_width + kx) * p->input_depth + c) * p->output_depth + o];
            m += fabs ((double) x * wt);
          }
      }
  return m;
}

static void
assert_close (float       got,
              float       ref,
              double      magnitude,
              const char *what,
              guint       round,
              gsize       index)
{
  if (!(fabs ((double) got - ref) <= 1e-5 * magnitude + 1e-30))
    g_error ("%s, round %u, output %zu: library %.9g vs reference %.9g (sum of |terms| %.3g)",
             what, round, index, got, ref, magnitude);
}

static void
check_conv (gboolean depthwise,
            gboolean clamp)
{
  const QsFloatKernels *ref = qs_float_kernels_get_by_name ("ref");
  g_autoptr(GRand) rand = g_rand_new_with_seed (depthwise ? 16 : 61);
  guint rounds = 60;

  if (!have_library ())
    return;
  for (guint round = 0; round < rounds; round++)
    {
      const gsize batch = 3;
      QsConvParams p;
      g_autofree float *in = NULL, *w = NULL, *bias = NULL, *got = NULL, *alone = NULL;
      g_autofree float *want = NULL, *patches = NULL;
      gsize in_n, out_n, taps;
      QsXnnOp *op;
      float lo = clamp ? 0.0f : -INFINITY, hi = clamp ? 6.0f : INFINITY;

      random_params (rand, depthwise, &p);
      in_n = p.input_height * p.input_width * p.input_depth;
      out_n = p.output_height * p.output_width * p.output_depth;
      taps = p.filter_height * p.filter_width;
      in = random_floats (rand, batch * in_n);
      w = random_floats (rand, taps * (depthwise ? p.output_depth : p.input_depth * p.output_depth));
      bias = random_floats (rand, p.output_depth);
      got = g_new (float, batch * out_n);
      alone = g_new (float, out_n);
      want = g_new (float, out_n);
      patches = g_new (float, 4 * taps * p.input_depth);

      op = depthwise ? _qs_xnn_depthwise_new (&p, w, bias, lo, hi) : _qs_xnn_conv_new (&p, w, bias, lo, hi);
      g_assert_nonnull (op);
      g_assert_true (_qs_xnn_op_run (op, batch, in, got));
      for (gsize b = 0; b < batch; b++)
        {
          const float *x = in + b * in_n;

          if (depthwise)
            ref->depthwise (&p, x, w, bias, want);
          else
            qs_conv_f32 (ref, &p, x, w, bias, want, patches);
          for (gsize i = 0; i < out_n; i++)
            {
              gsize o = i % p.output_depth, pix = i / p.output_depth;
              double m = conv_magnitude (&p, depthwise, x, w, bias, pix / p.output_width,
                                         pix % p.output_width, o);

              want[i] = MIN (MAX (want[i], lo), hi);
              assert_close (got[b * out_n + i], want[i], m, depthwise ? "depthwise" : "conv", round, i);
            }
          /* the same image alone: bit for bit */
          g_assert_true (_qs_xnn_op_run (op, 1, x, alone));
          g_assert_cmpmem (alone, out_n * sizeof (float), got + b * out_n, out_n * sizeof (float));
        }
      _qs_xnn_op_free (op);
    }
}

static void
test_conv (void)
{
  check_conv (FALSE, FALSE);
}

static void
test_depthwise (void)
{
  check_conv (TRUE, FALSE);
}

static void
test_clamp (void)
{
  check_conv (FALSE, TRUE);
  check_conv (TRUE, TRUE);
}

static void
test_dense (void)
{
  const QsFloatKernels *ref = qs_float_kernels_get_by_name ("ref");
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  if (!have_library ())
    return;
  for (guint round = 0; round < 40; round++)
    {
      gsize k = g_rand_int_range (rand, 1, 600), n = g_rand_int_range (rand, 1, 70);
      gsize rows = g_rand_int_range (rand, 1, 9);
      g_autofree float *a = random_floats (rand, rows * k), *w = random_floats (rand, k * n);
      g_autofree float *bias = random_floats (rand, n);
      g_autofree float *got = g_new (float, rows * n), *want = g_new (float, rows * n);
      g_autofree float *alone = g_new (float, n);
      QsXnnOp *op = _qs_xnn_dense_new (k, n, w, bias, -INFINITY, INFINITY);

      g_assert_nonnull (op);
      g_assert_true (_qs_xnn_op_run (op, rows, a, got));
      ref->gemm (a, k, rows, k, w, n, bias, want, n);
      for (gsize r = 0; r < rows; r++)
        {
          for (gsize j = 0; j < n; j++)
            {
              double m = fabs (bias[j]);

              for (gsize i = 0; i < k; i++)
                m += fabs ((double) a[r * k + i] * w[i * n + j]);
              assert_close (got[r * n + j], want[r * n + j], m, "dense", round, r * n + j);
            }
          g_assert_true (_qs_xnn_op_run (op, 1, a + r * k, alone));
          g_assert_cmpmem (alone, n * sizeof (float), got + r * n, n * sizeof (float));
        }
      _qs_xnn_op_free (op);
    }
}

/* A geometry whose output size is not what its padding gives: the library is not asked,
 * the caller gets NULL and keeps its own kernel. */
static void
test_refused (void)
{
  QsConvParams p = {
    .input_height = 8, .input_width = 8, .input_depth = 4,
    .output_height = 5, .output_width = 8, .output_depth = 4,   /* 8 rows with SAME, not 5 */
    .filter_height = 3, .filter_width = 3, .stride_height = 1, .stride_width = 1,
    .dilation_height = 1, .dilation_width = 1, .pad_top = 1, .pad_left = 1, .depth_multiplier = 1,
  };
  float w[3 * 3 * 4 * 4] = { 0 };

  if (!have_library ())
    return;
  g_assert_null (_qs_xnn_conv_new (&p, w, NULL, -INFINITY, INFINITY));
  g_assert_null (_qs_xnn_depthwise_new (&p, w, NULL, -INFINITY, INFINITY));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/kernels-float-xnn/conv-random-shapes", test_conv);
  g_test_add_func ("/qs/kernels-float-xnn/depthwise-random-shapes", test_depthwise);
  g_test_add_func ("/qs/kernels-float-xnn/fused-clamp", test_clamp);
  g_test_add_func ("/qs/kernels-float-xnn/dense", test_dense);
  g_test_add_func ("/qs/kernels-float-xnn/refused-shape-falls-back", test_refused);
  return g_test_run ();
}
