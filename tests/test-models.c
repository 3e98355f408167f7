/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "test-models.h"

static GRand *rng;

static QsTensor *
rand_tensor (const char    *layer,
             const char    *short_name,
             guint          n_dims,
             const gsize   *shape,
             QsTensorLayout layout,
             double         lo,
             double         hi)
{
  g_autofree char *name = g_strdup_printf ("%s/%s", layer, short_name);
  QsTensor *t = qs_tensor_new (name, n_dims, shape, NULL);

  qs_tensor_set_layout (t, layout);
  for (gsize i = 0; i < t->n_elements; i++)
    t->data[i] = (float) g_rand_double_range (rng, lo, hi);
  return t;
}

static QsLayer *
add_layer (GPtrArray  *layers,
           const char *name,
           const char *class_name,
           QsLayerKind kind,
           gint        in0,
           gint        in1)
{
  QsLayer *l = qs_layer_new (name, class_name, kind);

  if (in0 >= 0)
    {
      l->n_inputs = in1 >= 0 ? 2 : 1;
      l->inputs = g_new (guint, l->n_inputs);
      l->inputs[0] = in0;
      if (in1 >= 0)
        l->inputs[1] = in1;
    }
  g_ptr_array_add (layers, l);
  return l;
}

static void
conv_weights (QsLayer *l,
              gsize    kh,
              gsize    kw,
              gsize    cin,
              gsize    cout)
{
  gsize k[] = { kh, kw, cin, cout }, b[] = { cout };
  double a = 1.5 / sqrt ((double) (kh * kw * cin));

  l->filters = cout;
  l->kernel_size[0] = kh;
  l->kernel_size[1] = kw;
  g_ptr_array_add (l->weights, rand_tensor (l->name, "kernel", 4, k, QS_TENSOR_LAYOUT_CONV2D, -a, a));
  g_ptr_array_add (l->weights, rand_tensor (l->name, "bias", 1, b, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));
}

static void
bn_weights (QsLayer *l,
            gsize    c)
{
  gsize s[] = { c };

  g_ptr_array_add (l->weights, rand_tensor (l->name, "gamma", 1, s, QS_TENSOR_LAYOUT_VECTOR, 0.5, 1.5));
  g_ptr_array_add (l->weights, rand_tensor (l->name, "beta", 1, s, QS_TENSOR_LAYOUT_VECTOR, -0.3, 0.3));
  g_ptr_array_add (l->weights, rand_tensor (l->name, "moving_mean", 1, s, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));
  g_ptr_array_add (l->weights, rand_tensor (l->name, "moving_variance", 1, s, QS_TENSOR_LAYOUT_VECTOR, 0.3, 2.0));
}

static QsLayer *
input_layer (GPtrArray *layers,
             gsize      h,
             gsize      w,
             gsize      c)
{
  QsLayer *l = add_layer (layers, "input", "InputLayer", QS_LAYER_INPUT, -1, -1);

  l->output_rank = 3;
  l->output_shape[0] = h;
  l->output_shape[1] = w;
  l->output_shape[2] = c;
  return l;
}

/* Model 1: zero padding, strided conv + BatchNorm + ReLU layer (folded and fused),
 * depthwise (relu6, same), average pool (same), max pool, flatten, dense relu, dense softmax. */
static QsModel *
build_model1 (void)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *l;
  gsize dk[] = { 3, 3, 5, 2 }, dk_b[] = { 10 }, d1[] = { 40, 6 }, d1b[] = { 6 }, d2[] = { 6, 4 }, d2b[] = { 4 };
  g_autoptr(GError) error = NULL;
  QsModel *m;

  input_layer (layers, 9, 9, 2);
  l = add_layer (layers, "pad", "ZeroPadding2D", QS_LAYER_ZERO_PADDING2D, 0, -1);
  l->zero_padding[0] = l->zero_padding[1] = l->zero_padding[2] = 1;
  l->zero_padding[3] = 2;
  l = add_layer (layers, "conv", "Conv2D", QS_LAYER_CONV2D, 1, -1);
  conv_weights (l, 3, 3, 2, 5);
  l->strides[0] = l->strides[1] = 2;
  l = add_layer (layers, "bn", "BatchNormalization", QS_LAYER_BATCH_NORM, 2, -1);
  bn_weights (l, 5);
  l = add_layer (layers, "relu", "ReLU", QS_LAYER_ACTIVATION, 3, -1);
  l->activation = QS_ACTIVATION_RELU;
  l = add_layer (layers, "dw", "DepthwiseConv2D", QS_LAYER_DEPTHWISE_CONV2D, 4, -1);
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->depth_multiplier = 2;
  l->padding = QS_PADDING_SAME;
  l->activation = QS_ACTIVATION_RELU6;
  {
    QsTensor *t = rand_tensor ("dw", "depthwise_kernel", 4, dk, QS_TENSOR_LAYOUT_DEPTHWISE, -0.8, 0.8);
    g_ptr_array_add (l->weights, t);
    g_ptr_array_add (l->weights, rand_tensor ("dw", "bias", 1, dk_b, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));
  }
  l = add_layer (layers, "avg", "AveragePooling2D", QS_LAYER_AVG_POOL2D, 5, -1);
  l->pool_size[0] = l->pool_size[1] = 2;
  l->pool_strides[0] = l->pool_strides[1] = 1;
  l->padding = QS_PADDING_SAME;
  l = add_layer (layers, "max", "MaxPooling2D", QS_LAYER_MAX_POOL2D, 6, -1);
  add_layer (layers, "flatten", "Flatten", QS_LAYER_FLATTEN, 7, -1);
  l = add_layer (layers, "dense", "Dense", QS_LAYER_DENSE, 8, -1);
  l->units = 6;
  l->activation = QS_ACTIVATION_RELU;
  g_ptr_array_add (l->weights, rand_tensor ("dense", "kernel", 2, d1, QS_TENSOR_LAYOUT_DENSE, -0.4, 0.4));
  g_ptr_array_add (l->weights, rand_tensor ("dense", "bias", 1, d1b, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));
  l = add_layer (layers, "logits", "Dense", QS_LAYER_DENSE, 9, -1);
  l->units = 4;
  l->activation = QS_ACTIVATION_SOFTMAX;
  g_ptr_array_add (l->weights, rand_tensor ("logits", "kernel", 2, d2, QS_TENSOR_LAYOUT_DENSE, -0.8, 0.8));
  g_ptr_array_add (l->weights, rand_tensor ("logits", "bias", 1, d2b, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));

  m = qs_model_new_from_layers ("model1", layers, &error);
  g_assert_no_error (error);
  return m;
}

/* Model 2: branches. 1x1 conv and dilated same conv added, a standalone ReLU, a separable
 * conv and a conv concatenated, global average and max pooling concatenated, dense sigmoid. */
static QsModel *
build_model2 (void)
{
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *l;
  gsize dk[] = { 3, 3, 4, 1 }, pk[] = { 1, 1, 4, 6 }, pb[] = { 6 }, d[] = { 16, 3 }, db[] = { 3 };
  g_autoptr(GError) error = NULL;
  QsModel *m;

  input_layer (layers, 8, 8, 3);                                                   /* 0 */
  l = add_layer (layers, "a", "Conv2D", QS_LAYER_CONV2D, 0, -1);                   /* 1 */
  conv_weights (l, 1, 1, 3, 4);
  l->activation = QS_ACTIVATION_RELU;
  l = add_layer (layers, "b", "Conv2D", QS_LAYER_CONV2D, 0, -1);                   /* 2 */
  conv_weights (l, 3, 3, 3, 4);
  l->padding = QS_PADDING_SAME;
  l->dilation[0] = l->dilation[1] = 2;
  add_layer (layers, "add", "Add", QS_LAYER_ADD, 1, 2);                             /* 3 */
  l = add_layer (layers, "act", "Activation", QS_LAYER_ACTIVATION, 3, -1);         /* 4 */
  l->activation = QS_ACTIVATION_RELU;
  l = add_layer (layers, "sep", "SeparableConv2D", QS_LAYER_SEPARABLE_CONV2D, 4, -1); /* 5 */
  l->filters = 6;
  l->kernel_size[0] = l->kernel_size[1] = 3;
  l->activation = QS_ACTIVATION_RELU;
  g_ptr_array_add (l->weights, rand_tensor ("sep", "depthwise_kernel", 4, dk, QS_TENSOR_LAYOUT_DEPTHWISE, -0.6, 0.6));
  g_ptr_array_add (l->weights, rand_tensor ("sep", "pointwise_kernel", 4, pk, QS_TENSOR_LAYOUT_CONV2D, -0.6, 0.6));
  g_ptr_array_add (l->weights, rand_tensor ("sep", "bias", 1, pb, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));
  l = add_layer (layers, "c", "Conv2D", QS_LAYER_CONV2D, 4, -1);                   /* 6 */
  conv_weights (l, 3, 3, 4, 2);
  add_layer (layers, "cat", "Concatenate", QS_LAYER_CONCATENATE, 5, 6);            /* 7 */
  add_layer (layers, "gap", "GlobalAveragePooling2D", QS_LAYER_GLOBAL_AVG_POOL2D, 7, -1); /* 8 */
  add_layer (layers, "gmp", "GlobalMaxPooling2D", QS_LAYER_GLOBAL_MAX_POOL2D, 7, -1);     /* 9 */
  add_layer (layers, "cat2", "Concatenate", QS_LAYER_CONCATENATE, 8, 9);           /* 10 */
  l = add_layer (layers, "out", "Dense", QS_LAYER_DENSE, 10, -1);                  /* 11 */
  l->units = 3;
  l->activation = QS_ACTIVATION_SIGMOID;
  g_ptr_array_add (l->weights, rand_tensor ("out", "kernel", 2, d, QS_TENSOR_LAYOUT_DENSE, -0.8, 0.8));
  g_ptr_array_add (l->weights, rand_tensor ("out", "bias", 1, db, QS_TENSOR_LAYOUT_VECTOR, -0.2, 0.2));

  m = qs_model_new_from_layers ("model2", layers, &error);
  g_assert_no_error (error);
  return m;
}

QsModel *
qs_test_model1 (GRand *r)
{
  rng = r;
  return build_model1 ();
}

QsModel *
qs_test_model2 (GRand *r)
{
  rng = r;
  return build_model2 ();
}

/* Input [28, 28, 1] -> Conv2D (4, 3x3, relu) -> MaxPool -> Flatten -> Dense (10, softmax),
 * saved and loaded so it has a checksum (calibration cache). */
QsModel *
qs_test_small_cnn (const char *dir)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  GPtrArray *layers = g_ptr_array_new ();
  QsLayer *l[5];
  gsize ck[] = { 3, 3, 1, 4 }, cb[] = { 4 }, dk[] = { 676, 10 }, db[] = { 10 };
  const gsize *shapes[] = { ck, cb, dk, db };
  guint dims[] = { 4, 1, 2, 1 };
  const char *names[] = { "conv/kernel", "conv/bias", "dense/kernel", "dense/bias" };
  g_autoptr(GError) error = NULL;
  g_autoptr(QsModel) built = NULL;
  g_autofree char *path = g_build_filename (dir, "eval.h5", NULL);

  l[0] = qs_layer_new ("input", "InputLayer", QS_LAYER_INPUT);
  l[0]->output_rank = 3;
  l[0]->output_shape[0] = l[0]->output_shape[1] = 28;
  l[0]->output_shape[2] = 1;
  l[1] = qs_layer_new ("conv", "Conv2D", QS_LAYER_CONV2D);
  l[1]->filters = 4;
  l[1]->kernel_size[0] = l[1]->kernel_size[1] = 3;
  l[1]->activation = QS_ACTIVATION_RELU;
  l[2] = qs_layer_new ("pool", "MaxPooling2D", QS_LAYER_MAX_POOL2D);
  l[3] = qs_layer_new ("flatten", "Flatten", QS_LAYER_FLATTEN);
  l[4] = qs_layer_new ("dense", "Dense", QS_LAYER_DENSE);
  l[4]->units = 10;
  l[4]->activation = QS_ACTIVATION_SOFTMAX;
  for (int i = 1; i < 5; i++)
    {
      l[i]->n_inputs = 1;
      l[i]->inputs = g_new (guint, 1);
      l[i]->inputs[0] = i - 1;
    }
  for (int i = 0; i < 4; i++)
    {
      QsTensor *t = qs_tensor_new (names[i], dims[i], shapes[i], NULL);

      qs_tensor_set_layout (t, dims[i] == 4 ? QS_TENSOR_LAYOUT_CONV2D
                               : dims[i] == 2 ? QS_TENSOR_LAYOUT_DENSE : QS_TENSOR_LAYOUT_VECTOR);
      for (gsize j = 0; j < t->n_elements; j++)
        t->data[j] = (float) g_rand_double_range (rand, -0.3, 0.3);
      g_ptr_array_add (l[i < 2 ? 1 : 4]->weights, t);
    }
  for (int i = 0; i < 5; i++)
    g_ptr_array_add (layers, l[i]);
  built = qs_model_new_from_layers ("eval-test", layers, &error);
  g_assert_no_error (error);
  g_assert_true (qs_model_save (built, path, NULL, &error));
  g_assert_no_error (error);
  return qs_model_load (path, NULL, NULL, &error);
}

guint
qs_test_argmax (const float *p,
                guint        n)
{
  guint best = 0;

  for (guint i = 1; i < n; i++)
    if (p[i] > p[best])
      best = i;
  return best;
}
