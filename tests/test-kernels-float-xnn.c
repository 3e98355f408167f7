/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"
#include "qs-kernels.h"
#include "qs-kernels-float-xnn.h"

/* The float engine's library kernels (XNNPACK, and oneDNN for the convolutions) against
 * our reference kernels ("ref":
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
 * The same bound holds for oneDNN (its kernels also block the sum and use FMA).
 *
 * Also: results do not depend on the batch (each image of a batch of three equals that
 * image run alone, bit for bit: the engine's micro-batch and thread split rely on it) nor
 * on the thread (oneDNN: an operator run again, and run on another thread, gives the same
 * bits), and shapes the library refuses give NULL (the engine falls back to its own
 * kernels). */

static float *
random_floats (GRand *rand,
               gsize  n)
{
  /* 16 spare floats: the library may read XNN_EXTRA_BYTES (16 bytes) past a tensor */
  float *x = g_new (float, n + 16);

  for (gsize i = 0; i < n + 16; i++)
    x[i] = g_rand_double (rand) < 0.1 ? 0.0f : (float) g_rand_double_range (rand, -2, 2);
  return x;
}

static gboolean
have_library (void)
{
  if (_qs_xnn_classes () != 0)
    return TRUE;
  g_test_skip ("the float engine uses no library here (built without XNNPACK and oneDNN, "
               "QS_FLOAT_LIBRARY=own or QS_KERNELS forced)");
  return FALSE;
}

static gboolean
have (QsXnnLibrary library)
{
  if (!have_library ())
    return FALSE;
  if (_qs_xnn_library_available (library))
    return TRUE;
  g_test_skip (library == QS_XNN_LIBRARY_ONEDNN ? "built without oneDNN (meson -Donednn)"
                                                : "built without XNNPACK (meson -Dxnnpack)");
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
check_conv (QsXnnLibrary library,
            gboolean     depthwise,
            gboolean     clamp)
{
  const QsFloatKernels *ref = qs_float_kernels_get_by_name ("ref");
  g_autoptr(GRand) rand = g_rand_new_with_seed (depthwise ? 16 : 61);
  guint rounds = 60;

  if (!have (library))
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

      op = depthwise ? _qs_xnn_depthwise_new (&p, w, bias, lo, hi)
                     : _qs_xnn_conv_new_with (library, &p, w, bias, lo, hi);
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
  check_conv (QS_XNN_LIBRARY_XNNPACK, FALSE, FALSE);
}

static void
test_conv_onednn (void)
{
  check_conv (QS_XNN_LIBRARY_ONEDNN, FALSE, FALSE);
}

static void
test_depthwise (void)
{
  check_conv (QS_XNN_LIBRARY_XNNPACK, TRUE, FALSE);
}

static void
test_clamp (void)
{
  check_conv (QS_XNN_LIBRARY_XNNPACK, FALSE, TRUE);
  check_conv (QS_XNN_LIBRARY_XNNPACK, TRUE, TRUE);
}

static void
test_clamp_onednn (void)
{
  check_conv (QS_XNN_LIBRARY_ONEDNN, FALSE, TRUE);
}

typedef struct
{
  QsXnnOp     *op;
  const float *in;
  float       *out;
  gboolean     ok;
} RunJob;

static gpointer
run_thread (gpointer data)
{
  RunJob *j = data;

  j->ok = _qs_xnn_op_run (j->op, 2, j->in, j->out);
  return NULL;
}

/* oneDNN on a ResNet-like shape (3x3, 64 channels, where it picks its blocked kernels):
 * a second run, and a run on another thread than the one that created the operator, give
 * the same bits; with and without a bias. */
static void
test_onednn_deterministic (void)
{
  QsConvParams p = {
    .input_height = 14, .input_width = 14, .input_depth = 64,
    .output_height = 14, .output_width = 14, .output_depth = 64,
    .filter_height = 3, .filter_width = 3, .stride_height = 1, .stride_width = 1,
    .dilation_height = 1, .dilation_width = 1, .pad_top = 1, .pad_left = 1, .depth_multiplier = 1,
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (2026);
  const gsize in_n = 14 * 14 * 64, out_n = 14 * 14 * 64;

  if (!have (QS_XNN_LIBRARY_ONEDNN))
    return;
  for (guint with_bias = 0; with_bias < 2; with_bias++)
    {
      g_autofree float *in = random_floats (rand, 2 * in_n), *w = random_floats (rand, 9 * 64 * 64);
      g_autofree float *bias = random_floats (rand, 64);
      g_autofree float *first = g_new (float, 2 * out_n), *again = g_new (float, 2 * out_n);
      g_autofree float *other = g_new (float, 2 * out_n);
      QsXnnOp *op = _qs_xnn_conv_new_with (QS_XNN_LIBRARY_ONEDNN, &p, w, with_bias ? bias : NULL,
                                           0.0f, INFINITY);
      RunJob job;

      g_assert_nonnull (op);
      g_assert_true (_qs_xnn_op_run (op, 2, in, first));
      g_assert_true (_qs_xnn_op_run (op, 2, in, again));
      g_assert_cmpmem (first, 2 * out_n * sizeof (float), again, 2 * out_n * sizeof (float));
      job = (RunJob) { op, in, other, FALSE };
      g_thread_join (g_thread_new ("onednn", run_thread, &job));
      g_assert_true (job.ok);
      g_assert_cmpmem (first, 2 * out_n * sizeof (float), other, 2 * out_n * sizeof (float));
      /* ReLU fused: no negative output, and some positive */
      {
        float top = 0.0f;

        for (gsize i = 0; i < 2 * out_n; i++)
          {
            g_assert_cmpfloat (first[i], >=, 0.0f);
            top = MAX (top, first[i]);
          }
        g_assert_cmpfloat (top, >, 0.0f);
      }
      _qs_xnn_op_free (op);
    }
}

/* Issue 16, memory: the float engine's second workspace makes its oneDNN operators "like"
 * the first one's and reads their reordered weights instead of a copy of its own. The
 * sharing operator computes the same bits, on every shape class oneDNN runs, and keeps
 * the weights alive when the operator it borrowed them from is freed first. */
static void
test_onednn_shared_weights (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1616);
  const gsize shapes[][4] = { { 3, 1, 64, 64 }, { 1, 1, 64, 128 }, { 3, 2, 32, 64 } }; /* k, stride, c, f */

  if (!have (QS_XNN_LIBRARY_ONEDNN))
    return;
  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      gsize k = shapes[si][0], st = shapes[si][1], c = shapes[si][2], f = shapes[si][3];
      gsize ih = 14, oh;
      QsConvParams p = {
        .input_height = ih, .input_width = ih, .input_depth = c,
        .filter_height = k, .filter_width = k, .stride_height = st, .stride_width = st,
        .dilation_height = 1, .dilation_width = 1, .pad_top = k / 2, .pad_left = k / 2,
        .depth_multiplier = 1,
      };
      gsize in_n, out_n;
      g_autofree float *in = NULL, *w = NULL, *bias = NULL, *first = NULL, *shared = NULL;
      QsXnnOp *op, *like;

      oh = (ih + 2 * (k / 2) - k) / st + 1;
      p.output_height = p.output_width = oh;
      p.output_depth = f;
      in_n = ih * ih * c;
      out_n = oh * oh * f;
      in = random_floats (rand, 2 * in_n);
      w = random_floats (rand, k * k * c * f);
      bias = random_floats (rand, f);
      first = g_new (float, 2 * out_n);
      shared = g_new (float, 2 * out_n);
      op = _qs_xnn_conv_new_with (QS_XNN_LIBRARY_ONEDNN, &p, w, bias, 0.0f, 6.0f);
      g_assert_nonnull (op);
      like = _qs_xnn_conv_new_like (op, &p, w, bias, 0.0f, 6.0f);
      g_assert_nonnull (like);
      g_assert_true (_qs_xnn_op_shares_weights (op, like));
      g_assert_true (_qs_xnn_op_run (op, 2, in, first));
      _qs_xnn_op_free (op);
      g_assert_true (_qs_xnn_op_run (like, 2, in, shared));
      g_assert_cmpmem (first, 2 * out_n * sizeof (float), shared, 2 * out_n * sizeof (float));
      _qs_xnn_op_free (like);
    }
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
  g_assert_null (_qs_xnn_conv_new_with (QS_XNN_LIBRARY_ONEDNN, &p, w, NULL, -INFINITY, INFINITY));
  g_assert_null (_qs_xnn_depthwise_new (&p, w, NULL, -INFINITY, INFINITY));
}

static void
tap_nothing (const QsLayer *layer,
             const float   *output,
             gsize          batch,
             gsize          per_image,
             gpointer       user_data)
{
}

/* --- the engine: BatchNorm and ReLU folded into library layers --- */

static QsTensor *
tensor (const char  *name,
        guint        n_dims,
        const gsize *shape,
        GRand       *rand,
        double       lo,
        double       hi)
{
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double_range (rand, lo, hi);
  return t;
}

static QsLayer *
layer_after (GPtrArray    *layers,
             const char   *name,
             const char   *class_name,
             QsLayerKind   kind)
{
  QsLayer *l = qs_layer_new (name, class_name, kind);

  l->n_inputs = 1;
  l->inputs = g_new (guint, 1);
  l->inputs[0] = layers->len - 1;
  g_ptr_array_add (layers, l);
  return l;
}

static void
add_batch_norm (GPtrArray  *layers,
                const char *name,
                gsize       c,
                GRand      *rand)
{
  QsLayer *bn = layer_after (layers, name, "BatchNormalization", QS_LAYER_BATCH_NORM);
  const char *parts[] = { "gamma", "beta", "moving_mean", "moving_variance" };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *n = g_strdup_printf ("%s/%s", name, parts[i]);

      g_ptr_array_add (bn->weights, tensor (n, 1, (gsize[]) { c }, rand, i == 3 ? 0.2 : -1, i == 3 ? 2 : 1));
    }
}

static void
add_activation (GPtrArray    *layers,
                const char   *name,
                QsActivation  act)
{
  layer_after (layers, name, "Activation", QS_LAYER_ACTIVATION)->activation = act;
}

/* in 9x9x4 -> Conv 3x3 SAME -> BN -> ReLU6 -> Depthwise 3x3/2 x2 -> BN -> ReLU -> Conv 1x1
 * -> Flatten -> Dense -> softmax. The library plan folds the BatchNorms and activations;
 * the taps' run (our own kernels, every layer on its own) is the reference. Tolerance:
 * every value is O(1) (inputs and weights in [-1, 1], at most 72 products per sum), so
 * float32 rounding of either side stays below 1e-5; 1e-4 absolute catches any wrong fold
 * (a BatchNorm scale of 0.2 to 2.2 applied twice or not at all). */
static void
test_engine_folds (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1616);
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *l;
  g_autoptr(QsModel) model = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  const gsize batch = 40, in_n = 9 * 9 * 4;
  g_autofree float *input = NULL, *got = NULL, *want = NULL;
  gsize n;

  if (!have_library ())
    return;
  in->output_rank = 3;
  in->output_shape[0] = in->output_shape[1] = 9;
  in->output_shape[2] = 4;
  g_ptr_array_add (layers, in);
  l = layer_after (layers, "conv", "Conv2D", QS_LAYER_CONV2D);
  l->filters = 6;
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->padding = QS_PADDING_SAME;
  g_ptr_array_add (l->weights, tensor ("conv/kernel", 4, (gsize[]) { 3, 3, 4, 6 }, rand, -1, 1));
  g_ptr_array_add (l->weights, tensor ("conv/bias", 1, (gsize[]) { 6 }, rand, -1, 1));
  add_batch_norm (layers, "bn1", 6, rand);
  add_activation (layers, "relu6", QS_ACTIVATION_RELU6);
  l = layer_after (layers, "dw", "DepthwiseConv2D", QS_LAYER_DEPTHWISE_CONV2D);
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->strides[0] = l->strides[1] = 2;
  l->depth_multiplier = 2;
  l->padding = QS_PADDING_SAME;
  l->use_bias = FALSE;
  g_ptr_array_add (l->weights, tensor ("dw/depthwise_kernel", 4, (gsize[]) { 3, 3, 6, 2 }, rand, -1, 1));
  add_batch_norm (layers, "bn2", 12, rand);
  add_activation (layers, "relu", QS_ACTIVATION_RELU);
  l = layer_after (layers, "pw", "Conv2D", QS_LAYER_CONV2D);
  l->filters = 5;
  l->kernel_size[0] = l->kernel_size[1] = 1;
  g_ptr_array_add (l->weights, tensor ("pw/kernel", 4, (gsize[]) { 1, 1, 12, 5 }, rand, -1, 1));
  g_ptr_array_add (l->weights, tensor ("pw/bias", 1, (gsize[]) { 5 }, rand, -1, 1));
  layer_after (layers, "flat", "Flatten", QS_LAYER_FLATTEN);
  l = layer_after (layers, "dense", "Dense", QS_LAYER_DENSE);
  l->units = 7;
  l->activation = QS_ACTIVATION_SOFTMAX;
  g_ptr_array_add (l->weights, tensor ("dense/kernel", 2, (gsize[]) { 5 * 5 * 5, 7 }, rand, -1, 1));
  g_ptr_array_add (l->weights, tensor ("dense/bias", 1, (gsize[]) { 7 }, rand, -1, 1));
  model = qs_model_new_from_layers ("folds", layers, &error);
  g_assert_no_error (error);
  n = qs_model_get_n_classes (model);
  g_assert_cmpuint (n, ==, 7);

  input = g_new (float, batch * in_n);
  for (gsize i = 0; i < batch * in_n; i++)
    input[i] = (float) g_rand_double_range (rand, -1, 1);
  got = g_new (float, batch * n);
  want = g_new (float, batch * n);
  engine = qs_engine_float_new (model, &error);
  g_assert_no_error (error);
  g_assert_true (qs_engine_float_run (engine, input, batch, got, 3, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  /* a tap: the own-kernel, layer-by-layer run */
  g_assert_true (qs_engine_float_run (engine, input, batch, want, 1, (QsLayerOutputFunc) tap_nothing,
                                      NULL, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < batch * n; i++)
    if (!(fabs ((double) got[i] - want[i]) <= 1e-4))
      g_error ("output %zu: folded %.9g vs layer by layer %.9g", i, got[i], want[i]);
  /* any thread count, any batch split: the same bits (workspaces reused, second run) */
  for (gsize b = 0; b < batch; b += 7)
    {
      float one[7];

      g_assert_true (qs_engine_float_run (engine, input + b * in_n, 1, one, 1, NULL, NULL, NULL, NULL));
      g_assert_cmpmem (one, sizeof one, got + b * n, n * sizeof (float));
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qs/kernels-float-xnn/conv-random-shapes", test_conv);
  g_test_add_func ("/qs/kernels-float-xnn/onednn/conv-random-shapes", test_conv_onednn);
  g_test_add_func ("/qs/kernels-float-xnn/onednn/fused-clamp", test_clamp_onednn);
  g_test_add_func ("/qs/kernels-float-xnn/onednn/deterministic-across-runs-and-threads",
                   test_onednn_deterministic);
  g_test_add_func ("/qs/kernels-float-xnn/onednn/shared-weights", test_onednn_shared_weights);
  g_test_add_func ("/qs/kernels-float-xnn/depthwise-random-shapes", test_depthwise);
  g_test_add_func ("/qs/kernels-float-xnn/fused-clamp", test_clamp);
  g_test_add_func ("/qs/kernels-float-xnn/dense", test_dense);
  g_test_add_func ("/qs/kernels-float-xnn/refused-shape-falls-back", test_refused);
  g_test_add_func ("/qs/kernels-float-xnn/engine-folds-and-threads", test_engine_folds);
  return g_test_run ();
}
