/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quantscope-core.h"

/* The float engine against hand-computed values and an independent double-precision
 * recomputation (padding materialised explicitly, no shared code with the engine) for every
 * layer kind, padding and stride case. */

typedef struct
{
  guint  h, w, c;
  double v[4096];
} Img;

static double
img_at (const Img *im,
        gssize     y,
        gssize     x,
        guint      c)
{
  if (y < 0 || x < 0 || y >= (gssize) im->h || x >= (gssize) im->w)
    return 0;
  return im->v[((gsize) y * im->w + (gsize) x) * im->c + c];
}

static void
set_inputs1 (QsLayer *l,
             guint    from)
{
  l->n_inputs = 1;
  l->inputs = g_new (guint, 1);
  l->inputs[0] = from;
}

static QsTensor *
rand_tensor (const char  *name,
             guint        n_dims,
             const gsize *shape,
             GRand       *rand)
{
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double_range (rand, -1, 1);
  return t;
}

/* Input [h, w, c] -> layer -> Flatten. */
static QsModel *
one_layer_model (QsLayer *layer,
                 guint    h,
                 guint    w,
                 guint    c)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  QsModel *model;

  in->output_rank = 3;
  in->output_shape[0] = h;
  in->output_shape[1] = w;
  in->output_shape[2] = c;
  g_ptr_array_add (layers, in);
  set_inputs1 (layer, 0);
  g_ptr_array_add (layers, layer);
  set_inputs1 (flat, 1);
  g_ptr_array_add (layers, flat);
  model = qs_model_new_from_layers ("t", layers, &error);
  g_assert_no_error (error);
  g_assert_true (qs_model_can_infer (model, NULL));
  return model;
}

static float *
run (QsModel     *model,
     const float *input,
     gsize        batch,
     guint        threads)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QsEngineFloat) engine = qs_engine_float_new (model, &error);
  float *out = g_new (float, batch * qs_model_get_n_classes (model));

  g_assert_no_error (error);
  g_assert_true (qs_engine_float_run (engine, input, batch, out, threads, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return out;
}

static void
fill_img (Img   *im,
          guint  h,
          guint  w,
          guint  c,
          GRand *rand,
          float *as_float)
{
  im->h = h;
  im->w = w;
  im->c = c;
  g_assert_cmpuint (h * w * c, <=, G_N_ELEMENTS (im->v));
  for (guint i = 0; i < h * w * c; i++)
    {
      as_float[i] = (float) g_rand_double_range (rand, -1, 1);
      im->v[i] = as_float[i];
    }
}

static guint
same_pad (guint in,
          guint out,
          guint k,
          guint s,
          guint d)
{
  gint needed = (gint) ((out - 1) * s + (k - 1) * d + 1) - (gint) in;
  return needed > 0 ? (guint) needed / 2 : 0;
}

/* --- hand-checked --- */

static void
test_hand_conv (void)
{
  /* Input 3x3x1 = 1..9, kernel [[1, 0], [0, -1]], bias 0.5. */
  const float input[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  const float kernel[4] = { 1, 0, 0, -1 };
  const float valid[4] = { -3.5f, -3.5f, -3.5f, -3.5f };
  /* SAME: TensorFlow pads the extra row and column at the bottom and right. */
  const float same[9] = { -3.5f, -3.5f, 3.5f, -3.5f, -3.5f, 6.5f, 7.5f, 8.5f, 9.5f };

  for (int pass = 0; pass < 2; pass++)
    {
      QsLayer *l = qs_layer_new ("conv", "Conv2D", QS_LAYER_CONV2D);
      g_autoptr(QsModel) model = NULL;
      g_autofree float *out = NULL;
      QsTensor *k, *b;

      l->filters = 1;
      l->kernel_size[0] = l->kernel_size[1] = 2;
      l->padding = pass == 0 ? QS_PADDING_VALID : QS_PADDING_SAME;
      k = qs_tensor_new_from_data ("conv/kernel", 4, (gsize[]) { 2, 2, 1, 1 }, kernel, NULL);
      b = qs_tensor_new ("conv/bias", 1, (gsize[]) { 1 }, NULL);
      b->data[0] = 0.5f;
      g_ptr_array_add (l->weights, k);
      g_ptr_array_add (l->weights, b);
      model = one_layer_model (l, 3, 3, 1);
      out = run (model, input, 1, 1);
      if (pass == 0)
        g_assert_cmpmem (out, sizeof valid, valid, sizeof valid);
      else
        g_assert_cmpmem (out, sizeof same, same, sizeof same);
    }
}

static void
test_hand_pool (void)
{
  const float input[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  /* 2x2 stride 2 SAME on 3x3: padding cells do not count in the average. */
  const float avg[4] = { 3, 4.5f, 7.5f, 9 };
  const float max[4] = { 5, 6, 8, 9 };

  for (int pass = 0; pass < 2; pass++)
    {
      QsLayer *l = qs_layer_new ("pool", pass ? "MaxPooling2D" : "AveragePooling2D",
                                 pass ? QS_LAYER_MAX_POOL2D : QS_LAYER_AVG_POOL2D);
      g_autoptr(QsModel) model = NULL;
      g_autofree float *out = NULL;

      l->padding = QS_PADDING_SAME;
      model = one_layer_model (l, 3, 3, 1);
      out = run (model, input, 1, 1);
      g_assert_cmpmem (out, sizeof avg, pass ? max : avg, sizeof avg);
    }
}

static void
test_hand_activations (void)
{
  const float x[6] = { -2.0f, -0.5f, 0.0f, 0.5f, 2.0f, 7.0f };
  struct
  {
    QsActivation act;
    const char  *cls;
    float        alpha, max_value, slope, threshold;
  } cases[] = {
    { QS_ACTIVATION_RELU, "Activation", 0, -1, 0, 0 },
    { QS_ACTIVATION_RELU, "ReLU", 0, 1.0f, 0.1f, 0.5f },
    { QS_ACTIVATION_RELU6, "Activation", 0, -1, 0, 0 },
    { QS_ACTIVATION_SIGMOID, "Activation", 0, -1, 0, 0 },
    { QS_ACTIVATION_TANH, "Activation", 0, -1, 0, 0 },
    { QS_ACTIVATION_SWISH, "Activation", 0, -1, 0, 0 },
    { QS_ACTIVATION_GELU, "Activation", 0, -1, 0, 0 },
    { QS_ACTIVATION_ELU, "ELU", 0.7f, -1, 0, 0 },
    { QS_ACTIVATION_LEAKY_RELU, "LeakyReLU", 0.3f, -1, 0, 0 },
    { QS_ACTIVATION_SOFTMAX, "Softmax", 0, -1, 0, 0 },
    { QS_ACTIVATION_LINEAR, "Activation", 0, -1, 0, 0 },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      QsLayer *l = qs_layer_new ("act", cases[k].cls, QS_LAYER_ACTIVATION);
      g_autoptr(QsModel) model = NULL;
      g_autofree float *out = NULL;
      double sum = 0;

      l->activation = cases[k].act;
      l->alpha = cases[k].alpha;
      l->relu_max_value = cases[k].max_value;
      l->relu_negative_slope = cases[k].slope;
      l->relu_threshold = cases[k].threshold;
      model = one_layer_model (l, 1, 1, 6);
      out = run (model, x, 1, 1);
      for (int i = 0; i < 6; i++)
        sum += exp (x[i]);
      for (int i = 0; i < 6; i++)
        {
          double v = x[i], want;
          switch (cases[k].act)
            {
            case QS_ACTIVATION_RELU:
              if (cases[k].max_value < 0)
                want = v > 0 ? v : 0;
              else /* max 1, slope 0.1 below threshold 0.5 */
                want = v >= 1.0 ? 1.0 : v >= 0.5 ? v : 0.1 * (v - 0.5);
              break;
            case QS_ACTIVATION_RELU6: want = v < 0 ? 0 : v > 6 ? 6 : v; break;
            case QS_ACTIVATION_SIGMOID: want = 1 / (1 + exp (-v)); break;
            case QS_ACTIVATION_TANH: want = tanh (v); break;
            case QS_ACTIVATION_SWISH: want = v / (1 + exp (-v)); break;
            case QS_ACTIVATION_GELU: want = 0.5 * v * (1 + erf (v / sqrt (2))); break;
            case QS_ACTIVATION_ELU: want = v > 0 ? v : 0.7 * (exp (v) - 1); break;
            case QS_ACTIVATION_LEAKY_RELU: want = v >= 0 ? v : 0.3 * v; break;
            case QS_ACTIVATION_SOFTMAX: want = exp (v) / sum; break;
            case QS_ACTIVATION_LINEAR: default: want = v; break;
            }
          g_assert_cmpfloat_with_epsilon (out[i], want, 1e-6 * MAX (1, fabs (want)));
        }
    }
  /* Spot values computed by hand. */
  {
    QsLayer *l = qs_layer_new ("act", "Activation", QS_LAYER_ACTIVATION);
    g_autoptr(QsModel) model = NULL;
    g_autofree float *out = NULL;
    l->activation = QS_ACTIVATION_GELU;
    model = one_layer_model (l, 1, 1, 6);
    out = run (model, x, 1, 1);
    g_assert_cmpfloat_with_epsilon (out[4], 1.9544997f, 1e-6); /* gelu (2) */
    g_assert_cmpfloat_with_epsilon (out[0], -0.0455003f, 1e-6); /* gelu (-2) */
  }
}

/* --- random cases against double references --- */

typedef struct
{
  QsLayerKind kind;
  guint       h, w, c;
  guint       kh, kw, sh, sw, dh, dw;
  QsPadding   padding;
  guint       filters, mult;
} ConvCase;

static void
test_conv_reference (void)
{
  const ConvCase cases[] = {
    { QS_LAYER_CONV2D, 7, 6, 3, 3, 3, 1, 1, 1, 1, QS_PADDING_VALID, 5, 1 },
    { QS_LAYER_CONV2D, 7, 6, 3, 3, 3, 2, 2, 1, 1, QS_PADDING_SAME, 5, 1 },
    { QS_LAYER_CONV2D, 8, 8, 2, 3, 3, 2, 2, 1, 1, QS_PADDING_SAME, 4, 1 },
    { QS_LAYER_CONV2D, 9, 7, 2, 3, 2, 1, 1, 2, 2, QS_PADDING_SAME, 3, 1 },
    { QS_LAYER_CONV2D, 9, 9, 2, 3, 3, 1, 1, 2, 3, QS_PADDING_VALID, 3, 1 },
    { QS_LAYER_CONV2D, 5, 5, 4, 1, 1, 2, 2, 1, 1, QS_PADDING_VALID, 6, 1 },
    { QS_LAYER_CONV2D, 6, 5, 1, 4, 4, 3, 2, 1, 1, QS_PADDING_SAME, 2, 1 },
    { QS_LAYER_DEPTHWISE_CONV2D, 7, 6, 3, 3, 3, 1, 1, 1, 1, QS_PADDING_SAME, 0, 2 },
    { QS_LAYER_DEPTHWISE_CONV2D, 8, 8, 4, 3, 3, 2, 2, 1, 1, QS_PADDING_SAME, 0, 1 },
    { QS_LAYER_DEPTHWISE_CONV2D, 8, 8, 2, 3, 3, 1, 1, 2, 2, QS_PADDING_VALID, 0, 3 },
    { QS_LAYER_SEPARABLE_CONV2D, 7, 7, 3, 3, 3, 2, 2, 1, 1, QS_PADDING_SAME, 4, 2 },
    { QS_LAYER_SEPARABLE_CONV2D, 6, 6, 2, 2, 2, 1, 1, 1, 1, QS_PADDING_VALID, 3, 1 },
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      const ConvCase *cc = &cases[k];
      QsLayer *l = qs_layer_new ("conv", "Conv", cc->kind);
      g_autoptr(QsModel) model = NULL;
      g_autofree float *out = NULL;
      g_autofree float *input = g_new (float, cc->h * cc->w * cc->c);
      Img im;
      QsTensor *kernel, *pw = NULL, *bias;
      guint oh, ow, pt, pl, oc;
      double max_err = 0;

      fill_img (&im, cc->h, cc->w, cc->c, rand, input);
      l->kernel_size[0] = cc->kh;
      l->kernel_size[1] = cc->kw;
      l->strides[0] = cc->sh;
      l->strides[1] = cc->sw;
      l->dilation[0] = cc->dh;
      l->dilation[1] = cc->dw;
      l->padding = cc->padding;
      l->filters = cc->filters;
      l->depth_multiplier = cc->mult;
      if (cc->kind == QS_LAYER_CONV2D)
        {
          kernel = rand_tensor ("conv/kernel", 4, (gsize[]) { cc->kh, cc->kw, cc->c, cc->filters }, rand);
          oc = cc->filters;
        }
      else
        {
          kernel = rand_tensor ("conv/depthwise_kernel", 4, (gsize[]) { cc->kh, cc->kw, cc->c, cc->mult }, rand);
          oc = cc->c * cc->mult;
          if (cc->kind == QS_LAYER_SEPARABLE_CONV2D)
            {
              pw = rand_tensor ("conv/pointwise_kernel", 4, (gsize[]) { 1, 1, oc, cc->filters }, rand);
              oc = cc->filters;
            }
        }
      bias = rand_tensor ("conv/bias", 1, (gsize[]) { oc }, rand);
      g_ptr_array_add (l->weights, kernel);
      if (pw != NULL)
        g_ptr_array_add (l->weights, pw);
      g_ptr_array_add (l->weights, bias);
      model = one_layer_model (l, cc->h, cc->w, cc->c);
      out = run (model, input, 1, 1);

      if (cc->padding == QS_PADDING_SAME)
        {
          oh = (cc->h + cc->sh - 1) / cc->sh;
          ow = (cc->w + cc->sw - 1) / cc->sw;
          pt = same_pad (cc->h, oh, cc->kh, cc->sh, cc->dh);
          pl = same_pad (cc->w, ow, cc->kw, cc->sw, cc->dw);
        }
      else
        {
          oh = (cc->h - (cc->kh - 1) * cc->dh - 1) / cc->sh + 1;
          ow = (cc->w - (cc->kw - 1) * cc->dw - 1) / cc->sw + 1;
          pt = pl = 0;
        }
      g_assert_cmpuint (qs_model_get_n_classes (model), ==, oh * ow * oc);
      for (guint oy = 0; oy < oh; oy++)
        for (guint ox = 0; ox < ow; ox++)
          {
            /* depthwise result per (c, m), in double */
            double mid[256] = { 0 };
            for (guint c = 0; c < cc->c; c++)
              for (guint m = 0; m < (cc->kind == QS_LAYER_CONV2D ? cc->filters : cc->mult); m++)
                {
                  double acc = 0;
                  for (guint ky = 0; ky < cc->kh; ky++)
                    for (guint kx = 0; kx < cc->kw; kx++)
                      acc += img_at (&im, (gssize) (oy * cc->sh + ky * cc->dh) - pt,
                                     (gssize) (ox * cc->sw + kx * cc->dw) - pl, c) *
                             kernel->data[((ky * cc->kw + kx) * cc->c + c) * (cc->kind == QS_LAYER_CONV2D ? cc->filters : cc->mult) + m];
                  if (cc->kind == QS_LAYER_CONV2D)
                    mid[m] += acc;
                  else
                    mid[c * cc->mult + m] = acc;
                }
            for (guint o = 0; o < oc; o++)
              {
                double want;
                if (cc->kind == QS_LAYER_SEPARABLE_CONV2D)
                  {
                    want = 0;
                    for (guint j = 0; j < cc->c * cc->mult; j++)
                      want += mid[j] * pw->data[j * oc + o];
                  }
                else
                  want = mid[o];
                want += bias->data[o];
                max_err = MAX (max_err, fabs (want - out[(oy * ow + ox) * oc + o]));
              }
          }
      g_test_message ("conv case %" G_GSIZE_FORMAT ": max error %.3g", k, max_err);
      g_assert_cmpfloat (max_err, <, 1e-5);
    }
}

static void
test_pool_reference (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  const guint cases[][6] = {
    /* h, w, pool, stride, same, max */
    { 7, 7, 2, 2, 0, 1 }, { 7, 7, 2, 2, 1, 1 }, { 7, 6, 3, 2, 1, 0 }, { 8, 8, 3, 1, 1, 0 },
    { 9, 5, 3, 3, 0, 0 }, { 5, 5, 2, 1, 0, 1 },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      guint h = cases[k][0], w = cases[k][1], p = cases[k][2], s = cases[k][3], c = 3;
      gboolean same = cases[k][4], is_max = cases[k][5];
      QsLayer *l = qs_layer_new ("pool", "Pool", is_max ? QS_LAYER_MAX_POOL2D : QS_LAYER_AVG_POOL2D);
      g_autoptr(QsModel) model = NULL;
      g_autofree float *out = NULL;
      g_autofree float *input = g_new (float, h * w * c);
      guint oh, ow, pt, pl;
      Img im;

      fill_img (&im, h, w, c, rand, input);
      l->pool_size[0] = l->pool_size[1] = p;
      l->pool_strides[0] = l->pool_strides[1] = s;
      l->padding = same ? QS_PADDING_SAME : QS_PADDING_VALID;
      model = one_layer_model (l, h, w, c);
      out = run (model, input, 1, 1);
      oh = same ? (h + s - 1) / s : (h - p) / s + 1;
      ow = same ? (w + s - 1) / s : (w - p) / s + 1;
      pt = same ? same_pad (h, oh, p, s, 1) : 0;
      pl = same ? same_pad (w, ow, p, s, 1) : 0;
      g_assert_cmpuint (qs_model_get_n_classes (model), ==, oh * ow * c);
      for (guint oy = 0; oy < oh; oy++)
        for (guint ox = 0; ox < ow; ox++)
          for (guint ch = 0; ch < c; ch++)
            {
              double acc = is_max ? -INFINITY : 0;
              guint n = 0;
              for (guint ky = 0; ky < p; ky++)
                for (guint kx = 0; kx < p; kx++)
                  {
                    gssize y = (gssize) (oy * s + ky) - pt, x = (gssize) (ox * s + kx) - pl;
                    if (y < 0 || x < 0 || y >= (gssize) h || x >= (gssize) w)
                      continue;
                    n++;
                    acc = is_max ? MAX (acc, img_at (&im, y, x, ch)) : acc + img_at (&im, y, x, ch);
                  }
              if (!is_max)
                acc /= n;
              g_assert_cmpfloat_with_epsilon (out[(oy * ow + ox) * c + ch], acc, 1e-6);
            }
    }
}

static void
test_misc_layers (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  float input[4 * 3 * 2];
  Img im;

  fill_img (&im, 4, 3, 2, rand, input);

  /* BatchNormalization: (x - mean) / sqrt (var + eps) * gamma + beta */
  {
    QsLayer *l = qs_layer_new ("bn", "BatchNormalization", QS_LAYER_BATCH_NORM);
    g_autoptr(QsModel) model = NULL;
    g_autofree float *out = NULL;
    QsTensor *g = rand_tensor ("bn/gamma", 1, (gsize[]) { 2 }, rand);
    QsTensor *b = rand_tensor ("bn/beta", 1, (gsize[]) { 2 }, rand);
    QsTensor *m = rand_tensor ("bn/moving_mean", 1, (gsize[]) { 2 }, rand);
    QsTensor *v = rand_tensor ("bn/moving_variance", 1, (gsize[]) { 2 }, rand);
    for (int i = 0; i < 2; i++)
      v->data[i] = fabsf (v->data[i]) + 0.1f;
    l->bn_epsilon = 1e-3f;
    g_ptr_array_add (l->weights, g);
    g_ptr_array_add (l->weights, b);
    g_ptr_array_add (l->weights, m);
    g_ptr_array_add (l->weights, v);
    model = one_layer_model (l, 4, 3, 2);
    out = run (model, input, 1, 1);
    for (guint i = 0; i < 24; i++)
      {
        guint c = i % 2;
        double want = (im.v[i] - m->data[c]) / sqrt ((double) v->data[c] + 1e-3) * g->data[c] + b->data[c];
        g_assert_cmpfloat_with_epsilon (out[i], want, 1e-5);
      }
  }
  /* ZeroPadding2D top 1, bottom 2, left 0, right 1 */
  {
    QsLayer *l = qs_layer_new ("pad", "ZeroPadding2D", QS_LAYER_ZERO_PADDING2D);
    g_autoptr(QsModel) model = NULL;
    g_autofree float *out = NULL;
    l->zero_padding[0] = 1;
    l->zero_padding[1] = 2;
    l->zero_padding[3] = 1;
    model = one_layer_model (l, 4, 3, 2);
    out = run (model, input, 1, 1);
    g_assert_cmpuint (qs_model_get_n_classes (model), ==, 7 * 4 * 2);
    for (guint y = 0; y < 7; y++)
      for (guint x = 0; x < 4; x++)
        for (guint c = 0; c < 2; c++)
          g_assert_cmpfloat (out[(y * 4 + x) * 2 + c], ==, (float) img_at (&im, (gssize) y - 1, x, c));
  }
  /* Rescaling, GlobalMaxPooling, GlobalAveragePooling, Reshape, Dropout */
  {
    QsLayer *l = qs_layer_new ("r", "Rescaling", QS_LAYER_RESCALING);
    g_autoptr(QsModel) model = NULL;
    g_autofree float *out = NULL;
    l->rescale_scale = 0.5f;
    l->rescale_offset = 2.0f;
    model = one_layer_model (l, 4, 3, 2);
    out = run (model, input, 1, 1);
    for (guint i = 0; i < 24; i++)
      g_assert_cmpfloat (out[i], ==, input[i] * 0.5f + 2.0f);
  }
  for (int is_max = 0; is_max < 2; is_max++)
    {
      QsLayer *l = qs_layer_new ("g", "Global", is_max ? QS_LAYER_GLOBAL_MAX_POOL2D : QS_LAYER_GLOBAL_AVG_POOL2D);
      g_autoptr(QsModel) model = NULL;
      g_autofree float *out = NULL;
      model = one_layer_model (l, 4, 3, 2);
      out = run (model, input, 1, 1);
      for (guint c = 0; c < 2; c++)
        {
          double acc = is_max ? -INFINITY : 0;
          for (guint p = 0; p < 12; p++)
            acc = is_max ? MAX (acc, im.v[p * 2 + c]) : acc + im.v[p * 2 + c] / 12;
          g_assert_cmpfloat_with_epsilon (out[c], acc, 1e-6);
        }
    }
  {
    QsLayer *l = qs_layer_new ("re", "Reshape", QS_LAYER_RESHAPE);
    g_autoptr(QsModel) model = NULL;
    g_autofree float *out = NULL;
    l->target_rank = 2;
    l->target_shape[0] = -1;
    l->target_shape[1] = 6;
    model = one_layer_model (l, 4, 3, 2);
    g_assert_cmpuint (qs_model_get_layer (model, 1)->output_shape[0], ==, 4);
    out = run (model, input, 1, 1);
    g_assert_cmpmem (out, sizeof input, input, sizeof input);
  }
}

static void
count_layers (const QsLayer *layer,
              const float   *output,
              gsize          batch,
              gsize          per_image,
              gpointer       data)
{
  guint *count = data;

  g_assert_cmpuint (layer->index, ==, *count);
  g_assert_cmpuint (batch, ==, 5);
  g_assert_nonnull (output);
  if (layer->index == 4)
    g_assert_cmpuint (per_image, ==, 18);
  (*count)++;
}

/* Dense on a batch, Concatenate on two axes, Add: a small functional graph. */
static void
test_graph_reference (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  g_autoptr(GError) error = NULL;
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *in = qs_layer_new ("in", "InputLayer", QS_LAYER_INPUT);
  QsLayer *d1 = qs_layer_new ("d1", "Dense", QS_LAYER_DENSE);
  QsLayer *d2 = qs_layer_new ("d2", "Dense", QS_LAYER_DENSE);
  QsLayer *add = qs_layer_new ("add", "Add", QS_LAYER_ADD);
  QsLayer *cat = qs_layer_new ("cat", "Concatenate", QS_LAYER_CONCATENATE);
  QsLayer *cat0 = qs_layer_new ("cat0", "Concatenate", QS_LAYER_CONCATENATE);
  QsLayer *flat = qs_layer_new ("flat", "Flatten", QS_LAYER_FLATTEN);
  g_autoptr(QsModel) model = NULL;
  g_autofree float *out1 = NULL;
  g_autofree float *out2 = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  float input[5 * 3 * 4];
  guint seen = 0;
  QsTensor *k1, *b1, *k2;

  in->output_rank = 2;
  in->output_shape[0] = 3;
  in->output_shape[1] = 4;
  g_ptr_array_add (layers, in);
  d1->units = 4;
  d1->activation = QS_ACTIVATION_TANH;
  k1 = rand_tensor ("d1/kernel", 2, (gsize[]) { 4, 4 }, rand);
  b1 = rand_tensor ("d1/bias", 1, (gsize[]) { 4 }, rand);
  g_ptr_array_add (d1->weights, k1);
  g_ptr_array_add (d1->weights, b1);
  set_inputs1 (d1, 0);
  g_ptr_array_add (layers, d1);
  d2->units = 2;
  d2->use_bias = FALSE;
  k2 = rand_tensor ("d2/kernel", 2, (gsize[]) { 4, 2 }, rand);
  g_ptr_array_add (d2->weights, k2);
  set_inputs1 (d2, 0);
  g_ptr_array_add (layers, d2);
  add->n_inputs = 2;
  add->inputs = g_new (guint, 2);
  add->inputs[0] = 0;
  add->inputs[1] = 1;
  g_ptr_array_add (layers, add);
  cat->n_inputs = 2;
  cat->inputs = g_new (guint, 2);
  cat->inputs[0] = 3;
  cat->inputs[1] = 2;
  g_ptr_array_add (layers, cat);   /* [3, 6] */
  cat0->axis = 0;
  cat0->n_inputs = 2;
  cat0->inputs = g_new (guint, 2);
  cat0->inputs[0] = 4;
  cat0->inputs[1] = 4;
  g_ptr_array_add (layers, cat0);  /* [6, 6] */
  set_inputs1 (flat, 5);
  g_ptr_array_add (layers, flat);
  model = qs_model_new_from_layers ("graph", layers, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qs_model_get_n_classes (model), ==, 36);

  for (guint i = 0; i < G_N_ELEMENTS (input); i++)
    input[i] = (float) g_rand_double_range (rand, -1, 1);
  out1 = run (model, input, 5, 1);
  out2 = run (model, input, 5, 2);
  g_assert_cmpmem (out1, 5 * 36 * 4, out2, 5 * 36 * 4);
  for (guint b = 0; b < 5; b++)
    for (guint r = 0; r < 3; r++)
      {
        const float *x = input + (b * 3 + r) * 4;
        double row[6];
        for (guint j = 0; j < 4; j++)
          {
            double acc = b1->data[j];
            for (guint i = 0; i < 4; i++)
              acc += x[i] * (double) k1->data[i * 4 + j];
            row[j] = x[j] + tanh (acc);
          }
        for (guint j = 0; j < 2; j++)
          {
            double acc = 0;
            for (guint i = 0; i < 4; i++)
              acc += x[i] * (double) k2->data[i * 2 + j];
            row[4 + j] = acc;
          }
        for (guint j = 0; j < 6; j++)
          {
            g_assert_cmpfloat_with_epsilon (out1[b * 36 + r * 6 + j], row[j], 1e-5);
            g_assert_cmpfloat_with_epsilon (out1[b * 36 + 18 + r * 6 + j], row[j], 1e-5);
          }
      }

  /* layer_func sees every layer in order with the batch. */
  engine = qs_engine_float_new (model, &error);
  g_assert_no_error (error);
  {
    float out[5 * 36];
    g_assert_true (qs_engine_float_run (engine, input, 5, out, 0, count_layers, &seen, NULL, &error));
    g_assert_cmpuint (seen, ==, 7);
    g_assert_cmpmem (out, sizeof out, out1, sizeof out);
  }
  /* Cancellation. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    float out[5 * 36];
    g_cancellable_cancel (cancellable);
    g_assert_false (qs_engine_float_run (engine, input, 5, out, 2, NULL, NULL, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
}

/* Many images over several threads give the same bits as one image at a time. */
static void
test_threads (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (21);
  QsLayer *l = qs_layer_new ("conv", "Conv2D", QS_LAYER_CONV2D);
  g_autoptr(QsModel) model = NULL;
  g_autofree float *input = g_new (float, 200 * 6 * 6 * 2);
  g_autofree float *all = NULL;
  g_autoptr(QsEngineFloat) engine = NULL;
  guint n;

  l->filters = 3;
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->padding = QS_PADDING_SAME;
  l->activation = QS_ACTIVATION_ELU;
  g_ptr_array_add (l->weights, rand_tensor ("conv/kernel", 4, (gsize[]) { 3, 3, 2, 3 }, rand));
  g_ptr_array_add (l->weights, rand_tensor ("conv/bias", 1, (gsize[]) { 3 }, rand));
  model = one_layer_model (l, 6, 6, 2);
  n = qs_model_get_n_classes (model);
  for (guint i = 0; i < 200 * 72; i++)
    input[i] = (float) g_rand_double_range (rand, -2, 2);
  all = run (model, input, 200, 3);
  engine = qs_engine_float_new (model, NULL);
  for (guint b = 0; b < 200; b += 37)
    {
      g_autofree float *one = g_new (float, n);
      g_assert_true (qs_engine_float_run (engine, input + b * 72, 1, one, 1, NULL, NULL, NULL, NULL));
      g_assert_cmpmem (one, n * 4, all + b * n, n * 4);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qs/engine-float/hand-conv-same-valid", test_hand_conv);
  g_test_add_func ("/qs/engine-float/hand-pool-same", test_hand_pool);
  g_test_add_func ("/qs/engine-float/activations", test_hand_activations);
  g_test_add_func ("/qs/engine-float/conv-reference", test_conv_reference);
  g_test_add_func ("/qs/engine-float/pool-reference", test_pool_reference);
  g_test_add_func ("/qs/engine-float/misc-layers", test_misc_layers);
  g_test_add_func ("/qs/engine-float/graph-reference", test_graph_reference);
  g_test_add_func ("/qs/engine-float/threads-bit-exact", test_threads);
  return g_test_run ();
}
