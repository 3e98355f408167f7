/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-train-private.h"

/* The four sample architectures for 28 x 28 x 1 Fashion-MNIST images. Layer names follow
 * Keras' applications (MobileNet: conv_dw_1, conv_pw_1_bn ...). */

static guint
add (QsTrainNet  *net,
     QsTNodeKind  kind,
     const char  *class_name,
     const char  *name,
     guint        input)
{
  QsTNode *node = _qs_train_net_add_node (net, kind, name, 1, &input);

  node->class_name = g_strdup (class_name);
  return node->index;
}

static QsTNode *
node_at (QsTrainNet *net,
         guint       index)
{
  return g_ptr_array_index (net->nodes, index);
}

static guint
input_layer (QsTrainNet *net)
{
  QsTNode *node = _qs_train_net_add_node (net, QS_TNODE_INPUT, "input", 0, NULL);

  node->class_name = g_strdup ("InputLayer");
  node->h = 28;
  node->w = 28;
  node->c = 1;
  return node->index;
}

static guint
dense (QsTrainNet   *net,
       const char   *name,
       guint         input,
       guint         units,
       QsActivation  act)
{
  QsTNode *node = node_at (net, add (net, QS_TNODE_DENSE, "Dense", name, input));

  node->c = units;
  node->use_bias = TRUE;
  node->act = act;
  return node->index;
}

static guint
conv (QsTrainNet   *net,
      const char   *name,
      guint         input,
      guint         filters,
      guint         k,
      guint         stride,
      gboolean      use_bias,
      QsActivation  act)
{
  QsTNode *node = node_at (net, add (net, QS_TNODE_CONV2D, "Conv2D", name, input));

  node->c = filters;
  node->kh = node->kw = k;
  node->sh = node->sw = stride;
  node->padding = QS_PADDING_SAME;
  node->use_bias = use_bias;
  node->act = act;
  return node->index;
}

static guint
depthwise (QsTrainNet *net,
           const char *name,
           guint       input,
           guint       stride)
{
  QsTNode *node = node_at (net, add (net, QS_TNODE_DEPTHWISE, "DepthwiseConv2D", name, input));

  node->kh = node->kw = 3;
  node->sh = node->sw = stride;
  node->padding = QS_PADDING_SAME;
  node->mult = 1;
  node->use_bias = FALSE;
  return node->index;
}

static guint
batch_norm (QsTrainNet *net,
            const char *name,
            guint       input)
{
  return add (net, QS_TNODE_BATCH_NORM, "BatchNormalization", name, input);
}

static guint
relu (QsTrainNet *net,
      const char *name,
      guint       input,
      float       max_value)
{
  QsTNode *node = node_at (net, add (net, QS_TNODE_ACTIVATION, "ReLU", name, input));

  node->act = QS_ACTIVATION_RELU;
  node->relu_max = max_value;
  return node->index;
}

static guint
max_pool (QsTrainNet *net,
          const char *name,
          guint       input)
{
  QsTNode *node = node_at (net, add (net, QS_TNODE_MAX_POOL, "MaxPooling2D", name, input));

  node->kh = node->kw = node->sh = node->sw = 2;
  node->padding = QS_PADDING_VALID;
  return node->index;
}

static guint
add_layer (QsTrainNet *net,
           const char *name,
           guint       a,
           guint       b)
{
  guint inputs[2] = { a, b };
  QsTNode *node = _qs_train_net_add_node (net, QS_TNODE_ADD, name, 2, inputs);

  node->class_name = g_strdup ("Add");
  return node->index;
}

static guint
dropout (QsTrainNet *net,
         const char *name,
         guint       input,
         float       rate)
{
  QsTNode *node = node_at (net, add (net, QS_TNODE_DROPOUT, "Dropout", name, input));

  node->dropout_rate = rate;
  return node->index;
}

static void
build_mlp (QsTrainNet *net)
{
  guint x = input_layer (net);

  x = add (net, QS_TNODE_FLATTEN, "Flatten", "flatten", x);
  x = dense (net, "fc1", x, 256, QS_ACTIVATION_RELU);
  x = dropout (net, "dropout", x, 0.2f);
  x = dense (net, "fc2", x, 128, QS_ACTIVATION_RELU);
  dense (net, "predictions", x, 10, QS_ACTIVATION_SOFTMAX);
}

static void
build_cnn (QsTrainNet *net)
{
  guint x = input_layer (net);

  x = conv (net, "conv1", x, 16, 3, 1, TRUE, QS_ACTIVATION_RELU);
  x = max_pool (net, "pool1", x);
  x = conv (net, "conv2", x, 32, 3, 1, TRUE, QS_ACTIVATION_RELU);
  x = max_pool (net, "pool2", x);
  x = add (net, QS_TNODE_FLATTEN, "Flatten", "flatten", x);
  x = dense (net, "fc1", x, 64, QS_ACTIVATION_RELU);
  dense (net, "predictions", x, 10, QS_ACTIVATION_SOFTMAX);
}

static guint
conv_bn (QsTrainNet *net,
         const char *name,
         guint       x,
         guint       filters,
         guint       k,
         guint       stride,
         gboolean    with_relu)
{
  g_autofree char *bn_name = g_strdup_printf ("%s_bn", name);
  g_autofree char *relu_name = g_strdup_printf ("%s_relu", name);

  x = conv (net, name, x, filters, k, stride, FALSE, QS_ACTIVATION_LINEAR);
  x = batch_norm (net, bn_name, x);
  if (with_relu)
    x = relu (net, relu_name, x, -1.0f);
  return x;
}

static void
build_resnet (QsTrainNet *net)
{
  guint x = input_layer (net), skip, y;

  x = conv_bn (net, "conv1", x, 16, 3, 1, TRUE);
  x = max_pool (net, "pool1", x);

  /* 14 x 14 x 16, identity shortcut */
  y = conv_bn (net, "block1_conv1", x, 16, 3, 1, TRUE);
  y = conv_bn (net, "block1_conv2", y, 16, 3, 1, FALSE);
  x = add_layer (net, "block1_add", y, x);
  x = relu (net, "block1_relu", x, -1.0f);

  /* 7 x 7 x 32, projection shortcut */
  skip = conv_bn (net, "block2_shortcut", x, 32, 1, 2, FALSE);
  y = conv_bn (net, "block2_conv1", x, 32, 3, 2, TRUE);
  y = conv_bn (net, "block2_conv2", y, 32, 3, 1, FALSE);
  x = add_layer (net, "block2_add", y, skip);
  x = relu (net, "block2_relu", x, -1.0f);

  x = add (net, QS_TNODE_GLOBAL_AVG_POOL, "GlobalAveragePooling2D", "pool", x);
  dense (net, "predictions", x, 10, QS_ACTIVATION_SOFTMAX);
}

static guint
separable_block (QsTrainNet *net,
                 guint       id,
                 guint       x,
                 guint       filters,
                 guint       stride)
{
  g_autofree char *dw = g_strdup_printf ("conv_dw_%u", id);
  g_autofree char *dw_bn = g_strdup_printf ("conv_dw_%u_bn", id);
  g_autofree char *dw_relu = g_strdup_printf ("conv_dw_%u_relu", id);
  g_autofree char *pw = g_strdup_printf ("conv_pw_%u", id);

  x = depthwise (net, dw, x, stride);
  x = batch_norm (net, dw_bn, x);
  x = relu (net, dw_relu, x, 6.0f);
  x = conv_bn (net, pw, x, filters, 1, 1, FALSE);
  {
    g_autofree char *pw_relu = g_strdup_printf ("conv_pw_%u_relu", id);

    x = relu (net, pw_relu, x, 6.0f);
  }
  return x;
}

static void
build_mobilenet (QsTrainNet *net)
{
  guint x = input_layer (net);

  x = conv (net, "conv1", x, 16, 3, 2, FALSE, QS_ACTIVATION_LINEAR);
  x = batch_norm (net, "conv1_bn", x);
  x = relu (net, "conv1_relu", x, 6.0f);
  x = separable_block (net, 1, x, 32, 1);
  x = separable_block (net, 2, x, 64, 2);
  x = separable_block (net, 3, x, 128, 1);
  x = add (net, QS_TNODE_GLOBAL_AVG_POOL, "GlobalAveragePooling2D", "pool", x);
  x = dropout (net, "dropout", x, 0.1f);
  dense (net, "predictions", x, 10, QS_ACTIVATION_SOFTMAX);
}

static const struct
{
  const char *name;
  void      (*build) (QsTrainNet *net);
} archs[] = {
  { "mlp", build_mlp },
  { "cnn", build_cnn },
  { "resnet", build_resnet },
  { "mobilenet", build_mobilenet },
};

const char * const *
qs_train_list_archs (void)
{
  static const char * const names[] = { "mlp", "cnn", "resnet", "mobilenet", NULL };

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == G_N_ELEMENTS (archs) + 1);
  return names;
}

QsTrainNet *
qs_train_net_new_arch (const char  *arch,
                       guint64      seed,
                       GError     **error)
{
  g_return_val_if_fail (arch != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (archs); i++)
    if (strcmp (arch, archs[i].name) == 0)
      {
        QsTrainNet *net = _qs_train_net_new ();

        net->arch = g_strdup (arch);
        archs[i].build (net);
        if (!_qs_train_net_finish (net, error))
          {
            qs_train_net_free (net);
            return NULL;
          }
        _qs_train_net_init_weights (net, seed);
        return net;
      }

  g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_INVALID,
               _("Unknown architecture “%s”; choose mlp, cnn, resnet or mobilenet"), arch);
  return NULL;
}
