/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "qs-engine-float.h"
#include "qs-model-private.h"
#include "qs-synthetic.h"

static void
fill_weights (QsTensor *t,
              guint32  *seed)
{
  for (gsize i = 0; i < t->n_elements; i++)
    {
      *seed = *seed * 1664525u + 1013904223u;
      t->data[i] = 0.05f * ((float) (*seed >> 8) / (float) (1 << 24) - 0.5f);
    }
}

static QsLayer *
dense_layer (const char *name,
             gsize       in,
             gsize       out,
             guint       input,
             guint32    *seed)
{
  QsLayer *dense = qs_layer_new (name, "Dense", QS_LAYER_DENSE);
  g_autofree char *kname = g_strdup_printf ("%s/kernel", name);
  g_autofree char *bname = g_strdup_printf ("%s/bias", name);
  gsize kshape[] = { in, out }, bshape[] = { out };
  QsTensor *kernel = qs_tensor_new (kname, 2, kshape, NULL);
  QsTensor *bias = qs_tensor_new (bname, 1, bshape, NULL);

  fill_weights (kernel, seed);
  qs_tensor_set_layout (kernel, QS_TENSOR_LAYOUT_DENSE);
  qs_tensor_set_layout (bias, QS_TENSOR_LAYOUT_VECTOR);
  dense->units = out;
  dense->n_inputs = 1;
  dense->inputs = g_new0 (guint, 1);
  dense->inputs[0] = input;
  g_ptr_array_add (dense->weights, kernel);
  g_ptr_array_add (dense->weights, bias);
  return dense;
}

QsModel *
qs_synthetic_mlp (guint64   n_params,
                  GError  **error)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *input = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);
  guint64 first = 4096 * 4097;
  gsize hidden = n_params > first + 32 * 4107 ? (gsize) ((n_params - first) / 4107) / 32 * 32 : 32;
  guint32 seed = 17;

  input->output_rank = 1;
  input->output_shape[0] = 4096;
  input->inputs = g_new0 (guint, 1);
  g_ptr_array_add (layers, input);
  g_ptr_array_add (layers, dense_layer ("dense_16m", 4096, 4096, 0, &seed));
  g_ptr_array_add (layers, dense_layer ("dense_hidden", 4096, hidden, 1, &seed));
  g_ptr_array_add (layers, dense_layer ("dense_out", hidden, 10, 2, &seed));
  return qs_model_new_from_layers ("synthetic", layers, error);
}

/* --- the convolutional builders: layers appended in topological order, Keras names
 * (conv2d_1, batch_normalization_2 ...), weights from one LCG --- */

typedef struct
{
  GPtrArray *layers;
  guint32    seed;
  guint      counter;
} Builder;

static void
fill (Builder  *b,
      QsTensor *t,
      float     lo,
      float     hi)
{
  for (gsize i = 0; i < t->n_elements; i++)
    {
      b->seed = b->seed * 1664525u + 1013904223u;
      t->data[i] = lo + (hi - lo) * (float) (b->seed >> 8) / (float) (1 << 24);
    }
}

static guint
add (Builder *b,
     QsLayer *l,
     guint    n_inputs,
     guint    in0,
     guint    in1)
{
  l->n_inputs = n_inputs;
  l->inputs = g_new (guint, MAX (n_inputs, 1));
  if (n_inputs > 0)
    l->inputs[0] = in0;
  if (n_inputs > 1)
    l->inputs[1] = in1;
  g_ptr_array_add (b->layers, l);
  return b->layers->len - 1;
}

static QsLayer *
named (Builder    *b,
       const char *prefix,
       const char *cls,
       QsLayerKind kind)
{
  g_autofree char *name = g_strdup_printf ("%s_%u", prefix, b->counter++);
  return qs_layer_new (name, cls, kind);
}

static void
weight (Builder     *b,
        QsLayer     *l,
        const char  *short_name,
        guint        n_dims,
        const gsize *shape,
        float        lo,
        float        hi)
{
  g_autofree char *name = g_strdup_printf ("%s/%s", l->name, short_name);
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  fill (b, t, lo, hi);
  g_ptr_array_add (l->weights, t);
}

static guint
input_layer (Builder *b,
             gsize    size,
             gsize    channels)
{
  QsLayer *l = qs_layer_new ("input_1", "InputLayer", QS_LAYER_INPUT);

  l->output_rank = 3;
  l->output_shape[0] = l->output_shape[1] = size;
  l->output_shape[2] = channels;
  return add (b, l, 0, 0, 0);
}

/* Kernel uniform in +-limit; limit 0: +-0.05 (the ResNet-50 and CNN builders' choice). */
static guint
conv_full (Builder  *b,
           guint     in,
           gsize     in_c,
           gsize     out_c,
           guint     k,
           guint     stride,
           QsPadding padding,
           gboolean  use_bias,
           float     limit)
{
  QsLayer *l = named (b, "conv2d", "Conv2D", QS_LAYER_CONV2D);

  if (limit <= 0.0f)
    limit = 0.05f;
  l->filters = out_c;
  l->kernel_size[0] = l->kernel_size[1] = k;
  l->strides[0] = l->strides[1] = stride;
  l->padding = padding;
  l->use_bias = use_bias;
  weight (b, l, "kernel", 4, (gsize[]) { k, k, in_c, out_c }, -limit, limit);
  if (use_bias)
    weight (b, l, "bias", 1, (gsize[]) { out_c }, -0.05f, 0.05f);
  return add (b, l, 1, in, 0);
}

static guint
conv (Builder  *b,
      guint     in,
      gsize     in_c,
      gsize     out_c,
      guint     k,
      guint     stride,
      QsPadding padding)
{
  return conv_full (b, in, in_c, out_c, k, stride, padding, TRUE, 0.0f);
}

/* He-uniform, no bias (a convolution followed by BatchNormalization, as torchvision and
 * Keras applications build them). */
static guint
conv_he (Builder *b,
         guint    in,
         gsize    in_c,
         gsize    out_c,
         guint    k,
         guint    stride)
{
  return conv_full (b, in, in_c, out_c, k, stride, stride == 1 || k == 1 ? QS_PADDING_SAME : QS_PADDING_VALID,
                    FALSE, sqrtf (6.0f / (k * k * in_c)));
}

static guint
pad (Builder *b,
     guint    in,
     guint    amount)
{
  QsLayer *l = named (b, "zero_padding2d", "ZeroPadding2D", QS_LAYER_ZERO_PADDING2D);

  l->zero_padding[0] = l->zero_padding[1] = l->zero_padding[2] = l->zero_padding[3] = amount;
  return add (b, l, 1, in, 0);
}

static guint
activation (Builder     *b,
            guint        in,
            QsActivation act)
{
  QsLayer *a = named (b, "activation", "Activation", QS_LAYER_ACTIVATION);

  a->activation = act;
  return add (b, a, 1, in, 0);
}

static guint
bn_act (Builder     *b,
        guint        in,
        gsize        c,
        QsActivation act)
{
  QsLayer *l = named (b, "batch_normalization", "BatchNormalization", QS_LAYER_BATCH_NORM);
  guint out;

  weight (b, l, "gamma", 1, &c, 0.5f, 1.5f);
  weight (b, l, "beta", 1, &c, -0.1f, 0.1f);
  weight (b, l, "moving_mean", 1, &c, -0.1f, 0.1f);
  weight (b, l, "moving_variance", 1, &c, 0.5f, 1.5f);
  out = add (b, l, 1, in, 0);
  if (act != QS_ACTIVATION_LINEAR)
    out = activation (b, out, act);
  return out;
}

static guint
bn (Builder *b,
    guint    in,
    gsize    c,
    gboolean relu)
{
  return bn_act (b, in, c, relu ? QS_ACTIVATION_RELU : QS_ACTIVATION_LINEAR);
}

static guint
add_relu (Builder *b,
          guint    x,
          guint    y)
{
  guint sum = add (b, named (b, "add", "Add", QS_LAYER_ADD), 2, x, y);

  return activation (b, sum, QS_ACTIVATION_RELU);
}

static QsModel *
head (Builder    *b,
      guint       x,
      gsize       c,
      gsize       classes,
      const char *name,
      GError    **error)
{
  QsLayer *l;

  x = add (b, named (b, "global_average_pooling2d", "GlobalAveragePooling2D", QS_LAYER_GLOBAL_AVG_POOL2D), 1, x, 0);
  l = named (b, "dense", "Dense", QS_LAYER_DENSE);
  l->units = classes;
  l->activation = QS_ACTIVATION_SOFTMAX;
  weight (b, l, "kernel", 2, (gsize[]) { c, classes }, -sqrtf (6.0f / c), sqrtf (6.0f / c));
  weight (b, l, "bias", 1, &classes, -0.05f, 0.05f);
  add (b, l, 1, x, 0);
  return qs_model_new_from_layers (name, b->layers, error);
}

static guint
bottleneck (Builder *b,
            guint    in,
            gsize    in_c,
            gsize    f,
            guint    stride,
            gboolean project)
{
  guint shortcut = in, y;

  if (project)
    shortcut = bn (b, conv (b, in, in_c, 4 * f, 1, stride, QS_PADDING_VALID), 4 * f, FALSE);
  y = bn (b, conv (b, in, in_c, f, 1, stride, QS_PADDING_VALID), f, TRUE);
  y = bn (b, conv (b, y, f, f, 3, 1, QS_PADDING_SAME), f, TRUE);
  y = bn (b, conv (b, y, f, 4 * f, 1, 1, QS_PADDING_VALID), 4 * f, FALSE);
  return add_relu (b, shortcut, y);
}

/* The 7x7/2 stem and the 3x3/2 max pooling both ResNets share. */
static guint
resnet_stem (Builder *b,
             guint    x,
             gsize    w,
             gboolean he)
{
  QsLayer *l;

  x = pad (b, x, 3);
  x = bn (b, he ? conv_he (b, x, 3, w, 7, 2) : conv (b, x, 3, w, 7, 2, QS_PADDING_VALID), w, TRUE);
  x = pad (b, x, 1);
  l = named (b, "max_pooling2d", "MaxPooling2D", QS_LAYER_MAX_POOL2D);
  l->pool_size[0] = l->pool_size[1] = 3;
  l->pool_strides[0] = l->pool_strides[1] = 2;
  return add (b, l, 1, x, 0);
}

QsModel *
qs_synthetic_resnet50 (guint    width_div,
                       gsize    size,
                       gsize    classes,
                       GError **error)
{
  Builder b = { g_ptr_array_new (), 12345u, 1 };
  static const guint blocks[4] = { 3, 4, 6, 3 };
  guint x;
  gsize c, w = 64 / MAX (width_div, 1);

  x = resnet_stem (&b, input_layer (&b, size, 3), w, FALSE);
  c = w;
  for (guint s = 0; s < 4; s++)
    {
      gsize f = (64 << s) / MAX (width_div, 1);
      for (guint k = 0; k < blocks[s]; k++)
        {
          x = bottleneck (&b, x, c, f, k == 0 && s > 0 ? 2 : 1, k == 0);
          c = 4 * f;
        }
    }
  return head (&b, x, c, classes, "resnet50", error);
}

/* torchvision's BasicBlock: 3x3 (stride) -> BN -> ReLU -> 3x3 -> BN, + shortcut (1x1/stride
 * conv + BN when the shape changes), ReLU. Strided 3x3 convolutions pad 1 explicitly
 * (ZeroPadding2D + valid) so the arithmetic is PyTorch's, not Keras "same"'s asymmetric one. */
static guint
basic_block (Builder *b,
             guint    in,
             gsize    in_c,
             gsize    f,
             guint    stride)
{
  guint shortcut = in, y;

  if (stride != 1 || in_c != f)
    shortcut = bn (b, conv_he (b, in, in_c, f, 1, stride), f, FALSE);
  y = stride == 1 ? in : pad (b, in, 1);
  y = bn (b, conv_he (b, y, in_c, f, 3, stride), f, TRUE);
  y = bn (b, conv_he (b, y, f, f, 3, 1), f, FALSE);
  return add_relu (b, shortcut, y);
}

QsModel *
qs_synthetic_resnet18 (gsize    size,
                       gsize    classes,
                       GError **error)
{
  Builder b = { g_ptr_array_new (), 1818u, 1 };
  guint x;
  gsize c = 64;

  x = resnet_stem (&b, input_layer (&b, size, 3), 64, TRUE);
  for (guint s = 0; s < 4; s++)
    for (guint k = 0; k < 2; k++)
      {
        gsize f = 64 << s;
        x = basic_block (&b, x, c, f, k == 0 && s > 0 ? 2 : 1);
        c = f;
      }
  return head (&b, x, c, classes, "resnet18", error);
}

static guint
depthwise (Builder *b,
           guint    in,
           gsize    c,
           guint    stride)
{
  QsLayer *l = named (b, "depthwise_conv2d", "DepthwiseConv2D", QS_LAYER_DEPTHWISE_CONV2D);

  if (stride != 1)
    in = pad (b, in, 1);
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->strides[0] = l->strides[1] = stride;
  l->padding = stride == 1 ? QS_PADDING_SAME : QS_PADDING_VALID;
  l->depth_multiplier = 1;
  l->use_bias = FALSE;
  weight (b, l, "depthwise_kernel", 4, (gsize[]) { 3, 3, c, 1 }, -sqrtf (6.0f / 9), sqrtf (6.0f / 9));
  return add (b, l, 1, in, 0);
}

QsModel *
qs_synthetic_mobilenet_v2 (gsize    size,
                           gsize    classes,
                           GError **error)
{
  /* expansion t, channels c, repeats n, first stride s (the paper's table 2) */
  static const guint table[7][4] = {
    { 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 3, 2 }, { 6, 64, 4, 2 },
    { 6, 96, 3, 1 }, { 6, 160, 3, 2 }, { 6, 320, 1, 1 },
  };
  Builder b = { g_ptr_array_new (), 2222u, 1 };
  guint x;
  gsize c = 32;

  x = pad (&b, input_layer (&b, size, 3), 1);
  x = bn_act (&b, conv_he (&b, x, 3, 32, 3, 2), 32, QS_ACTIVATION_RELU6);
  for (guint r = 0; r < G_N_ELEMENTS (table); r++)
    for (guint k = 0; k < table[r][2]; k++)
      {
        guint stride = k == 0 ? table[r][3] : 1, y = x;
        gsize hidden = c * table[r][0], out = table[r][1];

        if (table[r][0] != 1)
          y = bn_act (&b, conv_he (&b, y, c, hidden, 1, 1), hidden, QS_ACTIVATION_RELU6);
        y = bn_act (&b, depthwise (&b, y, hidden, stride), hidden, QS_ACTIVATION_RELU6);
        y = bn_act (&b, conv_he (&b, y, hidden, out, 1, 1), out, QS_ACTIVATION_LINEAR);
        if (stride == 1 && c == out)
          y = add (&b, named (&b, "add", "Add", QS_LAYER_ADD), 2, x, y);
        x = y;
        c = out;
      }
  x = bn_act (&b, conv_he (&b, x, c, 1280, 1, 1), 1280, QS_ACTIVATION_RELU6);
  return head (&b, x, 1280, classes, "mobilenetv2", error);
}

QsModel *
qs_synthetic_fmnist_cnn (GError **error)
{
  Builder b = { g_ptr_array_new (), 777u, 1 };
  QsLayer *l;
  guint x;
  static const gsize filters[4] = { 16, 16, 32, 64 };
  gsize c = 1;

  x = input_layer (&b, 28, 1);
  for (guint i = 0; i < 4; i++)
    {
      QsLayer *cl;
      x = conv (&b, x, c, filters[i], 3, 1, QS_PADDING_VALID);
      cl = g_ptr_array_index (b.layers, x);
      cl->activation = QS_ACTIVATION_RELU;
      c = filters[i];
      if (i == 1 || i == 3)
        {
          l = named (&b, "max_pooling2d", "MaxPooling2D", QS_LAYER_MAX_POOL2D);
          x = add (&b, l, 1, x, 0);
        }
    }
  x = add (&b, named (&b, "flatten", "Flatten", QS_LAYER_FLATTEN), 1, x, 0);
  l = named (&b, "dense", "Dense", QS_LAYER_DENSE);
  l->units = 128;
  l->activation = QS_ACTIVATION_RELU;
  weight (&b, l, "kernel", 2, (gsize[]) { 1024, 128 }, -0.05f, 0.05f);
  weight (&b, l, "bias", 1, (gsize[]) { 128 }, -0.05f, 0.05f);
  x = add (&b, l, 1, x, 0);
  l = named (&b, "dense", "Dense", QS_LAYER_DENSE);
  l->units = 10;
  l->activation = QS_ACTIVATION_SOFTMAX;
  weight (&b, l, "kernel", 2, (gsize[]) { 128, 10 }, -0.05f, 0.05f);
  weight (&b, l, "bias", 1, (gsize[]) { 10 }, -0.05f, 0.05f);
  add (&b, l, 1, x, 0);
  return qs_model_new_from_layers ("fmnist-cnn", b.layers, error);
}

void
qs_synthetic_images (float   *out,
                     gsize    n_values,
                     guint32  seed)
{
  for (gsize i = 0; i < n_values; i++)
    {
      seed = seed * 1664525u + 1013904223u;
      out[i] = (float) (seed >> 8) / (float) (1 << 24);
    }
}

/* --- BatchNorm settling ---
 * One float-engine pass over the images with a layer tap. The tap sees each layer's output
 * for the whole batch right after the layer ran, while the buffers of the layers it reads
 * are still alive (the engine reuses an output's space only after its last reader ran). At a
 * BatchNormalization it takes the per-channel mean and (biased) variance of the layer's
 * input, stores them as moving_mean / moving_variance, and rewrites the BN's output in
 * place with the new statistics (the same scale/shift arithmetic as the engine), so every
 * later layer, and later BatchNorms' statistics, see the settled network. The output
 * buffer belongs to the engine and is writable (the tap's const is the public promise to
 * other callers). */

typedef struct
{
  QsModel      *model;
  const float **outputs;   /* per layer: its output buffer during the pass */
} Settle;

static void
settle_tap (const QsLayer *layer,
            const float   *output,
            gsize          batch,
            gsize          per_image,
            gpointer       user_data)
{
  Settle *s = user_data;
  const float *in;
  float *out = (float *) output;
  QsTensor *gamma, *beta, *mean, *var;
  gsize c, n;
  g_autofree double *sum = NULL, *sq = NULL;

  s->outputs[layer->index] = output;
  if (layer->kind != QS_LAYER_BATCH_NORM)
    return;
  in = s->outputs[layer->inputs[0]];
  c = layer->output_shape[layer->output_rank - 1];
  n = batch * per_image / c;
  gamma = _qs_layer_find_weight (layer, "gamma");
  beta = _qs_layer_find_weight (layer, "beta");
  mean = _qs_layer_find_weight (layer, "moving_mean");
  var = _qs_layer_find_weight (layer, "moving_variance");
  if (in == NULL || mean == NULL || var == NULL || n == 0)
    return;
  sum = g_new0 (double, c);
  sq = g_new0 (double, c);
  for (gsize i = 0; i < n; i++)
    for (gsize k = 0; k < c; k++)
      {
        double v = in[i * c + k];
        sum[k] += v;
        sq[k] += v * v;
      }
  for (gsize k = 0; k < c; k++)
    {
      double m = sum[k] / n;
      mean->data[k] = (float) m;
      var->data[k] = (float) MAX (sq[k] / n - m * m, 0.0);
    }
  for (gsize k = 0; k < c; k++)
    {
      float inv = 1.0f / sqrtf (var->data[k] + layer->bn_epsilon);
      float g = gamma != NULL ? gamma->data[k] : 1.0f;
      float b = beta != NULL ? beta->data[k] : 0.0f;
      float scale = inv * g, shift = b - mean->data[k] * inv * g;

      for (gsize i = 0; i < n; i++)
        out[i * c + k] = in[i * c + k] * scale + shift;
    }
}

gboolean
qs_synthetic_settle_batch_norm (QsModel  *model,
                                guint     n_images,
                                guint32   seed,
                                GError  **error)
{
  g_autoptr(QsEngineFloat) engine = NULL;
  g_autofree float *inputs = NULL, *outputs = NULL;
  g_autofree const float **bufs = NULL;
  gsize shape[QS_TENSOR_MAX_DIMS], in_size = 1, out_size = 1;
  guint rank = qs_model_get_input_shape (model, shape);
  const QsLayer *last = qs_model_get_layer (model, qs_model_get_n_layers (model) - 1);
  Settle s;

  g_return_val_if_fail (QS_IS_MODEL (model), FALSE);
  for (guint i = 0; i < rank; i++)
    in_size *= shape[i];
  for (guint i = 0; i < last->output_rank; i++)
    out_size *= last->output_shape[i];
  engine = qs_engine_float_new (model, error);
  if (engine == NULL)
    return FALSE;
  inputs = g_new (float, n_images * in_size);
  outputs = g_new (float, n_images * out_size);
  qs_synthetic_images (inputs, n_images * in_size, seed);
  bufs = g_new0 (const float *, qs_model_get_n_layers (model));
  s = (Settle) { model, bufs };
  return qs_engine_float_run (engine, inputs, n_images, outputs, 1, settle_tap, &s, NULL, error);
}

/* A NumPy .npy file: magic, version 1.0, a header dict padded to 64 bytes, the data. */
static gboolean
write_npy (const char   *path,
           const char   *descr,
           const char   *shape,
           const void   *data,
           gsize         size,
           GError      **error)
{
  g_autoptr(GString) s = g_string_new ("\x93NUMPY\x01");
  g_autofree char *dict = g_strdup_printf ("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                                           descr, shape);
  gsize header = strlen (dict) + 1, pad = (64 - (10 + header) % 64) % 64;

  g_string_append_c (s, '\0');
  g_string_append_c (s, (char) ((header + pad) & 0xff));
  g_string_append_c (s, (char) ((header + pad) >> 8));
  g_string_append (s, dict);
  for (gsize i = 0; i < pad; i++)
    g_string_append_c (s, ' ');
  g_string_append_c (s, '\n');
  g_string_append_len (s, data, size);
  return g_file_set_contents (path, s->str, s->len, error);
}

gboolean
qs_synthetic_write_dataset (const char *x_path,
                            const char *y_path,
                            guint       n,
                            gsize       h,
                            gsize       w,
                            gsize       c,
                            guint       classes,
                            guint32     seed,
                            GError    **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  gsize size = (gsize) n * h * w * c;
  g_autofree guint8 *pixels = g_try_malloc (MAX (size, 1));
  g_autofree gint64 *labels = g_new (gint64, MAX (n, 1));
  g_autofree char *shape = g_strdup_printf ("%u, %zu, %zu, %zu", n, h, w, c);
  g_autofree char *nshape = g_strdup_printf ("%u,", n);

  g_return_val_if_fail (x_path != NULL && y_path != NULL && classes > 0, FALSE);

  if (pixels == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOMEM,
                   _("Out of memory writing “%s”"), x_path);
      return FALSE;
    }
  for (gsize i = 0; i < size; i++)
    pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
  for (guint i = 0; i < n; i++)
    labels[i] = g_rand_int_range (rand, 0, (gint32) classes);
  return write_npy (x_path, "|u1", shape, pixels, size, error)
         && write_npy (y_path, "<i8", nshape, labels, (gsize) n * sizeof (gint64), error);
}
