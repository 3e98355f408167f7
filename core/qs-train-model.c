/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "qs-train-private.h"

/* Conversion between the trainer's graph and QsModel (Keras layers and weights). */

static QsTParam *
param_at (QsTrainNet *net,
          gint        index)
{
  return index >= 0 ? g_ptr_array_index (net->param_list, index) : NULL;
}

static QsTensor *
tensor_from (QsTrainNet  *net,
             QsTParam    *p,
             GError     **error)
{
  QsTensor *t = qs_tensor_new_from_data (p->name, p->n_dims, p->shape, net->params + p->offset,
                                         error);

  if (t != NULL)
    qs_tensor_set_layout (t, p->layout);
  return t;
}

static QsTensor *
vector_from (const char   *layer,
             const char   *short_name,
             const float  *values,
             gsize         n,
             GError      **error)
{
  g_autofree char *name = g_strdup_printf ("%s/%s", layer, short_name);
  QsTensor *t = qs_tensor_new_from_data (name, 1, &n, values, error);

  if (t != NULL)
    qs_tensor_set_layout (t, QS_TENSOR_LAYOUT_VECTOR);
  return t;
}

static gboolean
add_weight (QsLayer  *layer,
            QsTensor *tensor)
{
  if (tensor == NULL)
    return FALSE;
  g_ptr_array_add (layer->weights, tensor);
  return TRUE;
}

/* Whether Keras sees the node's output as a vector (rank 1) rather than an image. */
static gboolean
is_flat (QsTrainNet *net,
         QsTNode    *node)
{
  switch (node->kind)
    {
    case QS_TNODE_INPUT:
      return net->input_rank == 1;
    case QS_TNODE_DENSE:
    case QS_TNODE_FLATTEN:
    case QS_TNODE_GLOBAL_AVG_POOL:
      return TRUE;
    case QS_TNODE_BATCH_NORM:
    case QS_TNODE_ACTIVATION:
    case QS_TNODE_ADD:
    case QS_TNODE_DROPOUT:
      return is_flat (net, g_ptr_array_index (net->nodes, node->inputs[0]));
    default:
      return FALSE;
    }
}

static QsLayer *
layer_from_node (QsTrainNet  *net,
                 QsTNode     *node,
                 GError     **error)
{
  static const QsLayerKind kinds[] = {
    [QS_TNODE_INPUT] = QS_LAYER_INPUT,
    [QS_TNODE_DENSE] = QS_LAYER_DENSE,
    [QS_TNODE_CONV2D] = QS_LAYER_CONV2D,
    [QS_TNODE_DEPTHWISE] = QS_LAYER_DEPTHWISE_CONV2D,
    [QS_TNODE_MAX_POOL] = QS_LAYER_MAX_POOL2D,
    [QS_TNODE_AVG_POOL] = QS_LAYER_AVG_POOL2D,
    [QS_TNODE_GLOBAL_AVG_POOL] = QS_LAYER_GLOBAL_AVG_POOL2D,
    [QS_TNODE_BATCH_NORM] = QS_LAYER_BATCH_NORM,
    [QS_TNODE_ACTIVATION] = QS_LAYER_ACTIVATION,
    [QS_TNODE_ADD] = QS_LAYER_ADD,
    [QS_TNODE_FLATTEN] = QS_LAYER_FLATTEN,
    [QS_TNODE_DROPOUT] = QS_LAYER_IDENTITY,
  };
  QsLayer *layer = qs_layer_new (node->name, node->class_name, kinds[node->kind]);

  layer->n_inputs = node->n_inputs;
  layer->inputs = g_new0 (guint, MAX (node->n_inputs, 1));
  for (guint k = 0; k < node->n_inputs; k++)
    layer->inputs[k] = node->inputs[k];
  layer->activation = node->act;
  layer->relu_max_value = node->relu_max;
  layer->use_bias = node->use_bias;
  layer->padding = node->padding;

  switch (node->kind)
    {
    case QS_TNODE_INPUT:
      layer->output_rank = net->input_rank;
      if (net->input_rank == 1)
        layer->output_shape[0] = node->c;
      else
        {
          layer->output_shape[0] = node->h;
          layer->output_shape[1] = node->w;
          layer->output_shape[2] = node->c;
        }
      break;
    case QS_TNODE_DENSE:
      layer->units = (guint) node->c;
      break;
    case QS_TNODE_CONV2D:
      layer->filters = (guint) node->c;
      G_GNUC_FALLTHROUGH;
    case QS_TNODE_DEPTHWISE:
      layer->kernel_size[0] = node->kh;
      layer->kernel_size[1] = node->kw;
      layer->strides[0] = node->sh;
      layer->strides[1] = node->sw;
      layer->depth_multiplier = node->mult;
      break;
    case QS_TNODE_MAX_POOL:
    case QS_TNODE_AVG_POOL:
      layer->pool_size[0] = node->kh;
      layer->pool_size[1] = node->kw;
      layer->pool_strides[0] = node->sh;
      layer->pool_strides[1] = node->sw;
      break;
    case QS_TNODE_BATCH_NORM:
      layer->bn_epsilon = node->bn_eps;
      layer->axis = is_flat (net, node) ? 0 : 2;
      break;
    default:
      break;
    }

  if (node->p_kernel >= 0 && !add_weight (layer, tensor_from (net, param_at (net, node->p_kernel), error)))
    goto fail;
  if (node->p_bias >= 0 && !add_weight (layer, tensor_from (net, param_at (net, node->p_bias), error)))
    goto fail;
  if (node->kind == QS_TNODE_BATCH_NORM)
    {
      if (!add_weight (layer, tensor_from (net, param_at (net, node->p_gamma), error))
          || !add_weight (layer, tensor_from (net, param_at (net, node->p_beta), error))
          || !add_weight (layer, vector_from (node->name, "moving_mean", node->moving_mean, node->c, error))
          || !add_weight (layer, vector_from (node->name, "moving_variance", node->moving_var, node->c, error)))
        goto fail;
    }
  return layer;

fail:
  qs_layer_free (layer);
  return NULL;
}

QsModel *
qs_train_net_to_model (QsTrainNet  *net,
                       const char  *name,
                       GError     **error)
{
  g_autoptr(GPtrArray) layers = NULL;

  g_return_val_if_fail (net != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  layers = g_ptr_array_new_with_free_func ((GDestroyNotify) qs_layer_free);
  for (guint i = 0; i < net->nodes->len; i++)
    {
      QsLayer *layer = layer_from_node (net, g_ptr_array_index (net->nodes, i), error);

      if (layer == NULL)
        return NULL;
      g_ptr_array_add (layers, layer);
    }
  /* The model takes the layers; it frees them itself on failure. */
  g_ptr_array_set_free_func (layers, NULL);
  return qs_model_new_from_layers (name != NULL ? name : net->arch, g_steal_pointer (&layers), error);
}

gboolean
qs_train_net_save (QsTrainNet  *net,
                   const char  *path,
                   GError     **error)
{
  g_autoptr(QsModel) model = NULL;
  g_autofree char *base = NULL;
  char *dot;

  g_return_val_if_fail (net != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  base = g_path_get_basename (path);
  dot = strrchr (base, '.');
  if (dot != NULL && dot != base)
    *dot = '\0';
  model = qs_train_net_to_model (net, base, error);
  if (model == NULL)
    return FALSE;
  return qs_model_save (model, path, NULL, error);
}

/* --- from a model --- */

static QsTensor *
find_weight (const QsLayer *layer,
             const char    *short_name)
{
  for (guint i = 0; i < layer->weights->len; i++)
    {
      QsTensor *t = g_ptr_array_index (layer->weights, i);
      const char *slash = strrchr (t->name, '/');

      if (strcmp (slash != NULL ? slash + 1 : t->name, short_name) == 0)
        return t;
    }
  return NULL;
}

static gboolean
unsupported (const QsLayer  *layer,
             const char     *why,
             GError        **error)
{
  g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED,
               _("Layer “%s” (%s) cannot be trained: %s"), layer->name, layer->class_name, why);
  return FALSE;
}

static gboolean
node_from_layer (QsTrainNet     *net,
                 QsModel        *model,
                 const QsLayer  *layer,
                 gboolean        last,
                 GError        **error)
{
  static const struct
  {
    QsLayerKind kind;
    QsTNodeKind node_kind;
  } kinds[] = {
    { QS_LAYER_INPUT, QS_TNODE_INPUT },
    { QS_LAYER_DENSE, QS_TNODE_DENSE },
    { QS_LAYER_CONV2D, QS_TNODE_CONV2D },
    { QS_LAYER_DEPTHWISE_CONV2D, QS_TNODE_DEPTHWISE },
    { QS_LAYER_MAX_POOL2D, QS_TNODE_MAX_POOL },
    { QS_LAYER_AVG_POOL2D, QS_TNODE_AVG_POOL },
    { QS_LAYER_GLOBAL_AVG_POOL2D, QS_TNODE_GLOBAL_AVG_POOL },
    { QS_LAYER_BATCH_NORM, QS_TNODE_BATCH_NORM },
    { QS_LAYER_ACTIVATION, QS_TNODE_ACTIVATION },
    { QS_LAYER_ADD, QS_TNODE_ADD },
    { QS_LAYER_FLATTEN, QS_TNODE_FLATTEN },
    { QS_LAYER_IDENTITY, QS_TNODE_DROPOUT },
  };
  QsTNode *node;
  gint kind = -1;

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (kinds[i].kind == layer->kind)
      kind = kinds[i].node_kind;
  if (kind < 0)
    return unsupported (layer, _("the trainer has no gradient for this layer type"), error);
  if (layer->n_inputs != (layer->kind == QS_LAYER_ADD ? 2u : layer->kind == QS_LAYER_INPUT ? 0u : 1u))
    return unsupported (layer, _("it has an unexpected number of inputs"), error);
  if (layer->dilation[0] != 1 || layer->dilation[1] != 1)
    return unsupported (layer, _("dilated convolutions are not supported"), error);

  switch (layer->kind)
    {
    case QS_LAYER_DENSE:
    case QS_LAYER_CONV2D:
    case QS_LAYER_DEPTHWISE_CONV2D:
    case QS_LAYER_ACTIVATION:
      if (layer->activation == QS_ACTIVATION_SOFTMAX && !last)
        return unsupported (layer, _("softmax is only supported on the last layer"), error);
      if (layer->activation == QS_ACTIVATION_RELU
          && (layer->relu_negative_slope != 0.0f || layer->relu_threshold != 0.0f))
        return unsupported (layer, _("ReLU with a negative slope or threshold"), error);
      if (layer->activation != QS_ACTIVATION_LINEAR && layer->activation != QS_ACTIVATION_RELU
          && layer->activation != QS_ACTIVATION_RELU6 && layer->activation != QS_ACTIVATION_SOFTMAX)
        return unsupported (layer, _("only linear, ReLU, ReLU6 and a final softmax activation are trainable"),
                            error);
      break;
    case QS_LAYER_BATCH_NORM:
      if (layer->axis != (gint) layer->output_rank - 1 && layer->axis != -1)
        return unsupported (layer, _("BatchNormalization must normalise the last axis"), error);
      if (find_weight (layer, "gamma") == NULL || find_weight (layer, "beta") == NULL
          || find_weight (layer, "moving_mean") == NULL || find_weight (layer, "moving_variance") == NULL)
        return unsupported (layer, _("BatchNormalization without center or scale"), error);
      break;
    default:
      break;
    }

  node = _qs_train_net_add_node (net, kind, layer->name, layer->n_inputs, layer->inputs);
  node->class_name = g_strdup (layer->class_name);
  node->act = layer->activation;
  node->relu_max = layer->relu_max_value;
  if (layer->activation == QS_ACTIVATION_RELU6)
    {
      node->act = QS_ACTIVATION_RELU;
      node->relu_max = 6.0f;
    }
  node->use_bias = layer->use_bias && find_weight (layer, "bias") != NULL;
  node->padding = layer->padding;
  node->bn_eps = layer->bn_epsilon;

  switch (layer->kind)
    {
    case QS_LAYER_INPUT:
      {
        gsize shape[QS_TENSOR_MAX_DIMS];
        guint rank = qs_model_get_input_shape (model, shape);

        net->input_rank = rank;
        node->h = rank == 3 ? shape[0] : rank == 2 ? shape[0] : 1;
        node->w = rank == 3 ? shape[1] : rank == 2 ? shape[1] : 1;
        node->c = rank == 3 ? shape[2] : rank == 1 ? shape[0] : 1;
        if (rank == 0 || rank > 3)
          return unsupported (layer, _("the input must be an image or a vector"), error);
      }
      break;
    case QS_LAYER_DENSE:
      if (qs_model_get_layer (model, layer->inputs[0])->output_rank != 1)
        return unsupported (layer, _("Dense on an image needs a Flatten before it"), error);
      node->c = layer->units;
      break;
    case QS_LAYER_CONV2D:
      node->c = layer->filters;
      G_GNUC_FALLTHROUGH;
    case QS_LAYER_DEPTHWISE_CONV2D:
      node->kh = layer->kernel_size[0];
      node->kw = layer->kernel_size[1];
      node->sh = layer->strides[0];
      node->sw = layer->strides[1];
      node->mult = layer->depth_multiplier;
      break;
    case QS_LAYER_MAX_POOL2D:
    case QS_LAYER_AVG_POOL2D:
      node->kh = layer->pool_size[0];
      node->kw = layer->pool_size[1];
      node->sh = layer->pool_strides[0];
      node->sw = layer->pool_strides[1];
      break;
    default:
      break;
    }
  if (node->kh == 0 || node->kw == 0 || node->sh == 0 || node->sw == 0 || node->mult == 0)
    return unsupported (layer, _("a window, stride or multiplier is zero"), error);
  return TRUE;
}

static gboolean
copy_weight (QsTrainNet     *net,
             const QsLayer  *layer,
             const char     *short_name,
             float          *dst,
             gsize           n,
             GError        **error)
{
  QsTensor *t = find_weight (layer, short_name);

  if (t == NULL || t->n_elements != n)
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED,
                   _("Layer “%s” (%s): the weight “%s” is missing or has %zu values instead of %zu"),
                   layer->name, layer->class_name, short_name, t != NULL ? t->n_elements : 0, n);
      return FALSE;
    }
  memcpy (dst, t->data, n * sizeof (float));
  return TRUE;
}

QsTrainNet *
qs_train_net_new_from_model (QsModel  *model,
                             GError  **error)
{
  QsTrainNet *net;
  const char *why_not = NULL;
  guint n;

  g_return_val_if_fail (QS_IS_MODEL (model), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!qs_model_can_infer (model, &why_not))
    {
      g_set_error (error, QS_TRAIN_ERROR, QS_TRAIN_ERROR_UNSUPPORTED, "%s", why_not);
      return NULL;
    }

  net = _qs_train_net_new ();
  n = qs_model_get_n_layers (model);
  for (guint i = 0; i < n; i++)
    if (!node_from_layer (net, model, qs_model_get_layer (model, i), i + 1 == n, error))
      goto fail;
  if (!_qs_train_net_finish (net, error))
    goto fail;

  for (guint i = 0; i < n; i++)
    {
      const QsLayer *layer = qs_model_get_layer (model, i);
      QsTNode *node = g_ptr_array_index (net->nodes, i);
      QsTParam *p;

      if ((p = param_at (net, node->p_kernel)) != NULL
          && !copy_weight (net, layer, node->kind == QS_TNODE_DEPTHWISE ? "depthwise_kernel" : "kernel",
                           net->params + p->offset, p->size, error))
        goto fail;
      if ((p = param_at (net, node->p_bias)) != NULL
          && !copy_weight (net, layer, "bias", net->params + p->offset, p->size, error))
        goto fail;
      if (node->kind == QS_TNODE_BATCH_NORM
          && (!copy_weight (net, layer, "gamma", net->params + param_at (net, node->p_gamma)->offset,
                            node->c, error)
              || !copy_weight (net, layer, "beta", net->params + param_at (net, node->p_beta)->offset,
                               node->c, error)
              || !copy_weight (net, layer, "moving_mean", node->moving_mean, node->c, error)
              || !copy_weight (net, layer, "moving_variance", node->moving_var, node->c, error)))
        goto fail;
    }
  return net;

fail:
  qs_train_net_free (net);
  return NULL;
}
